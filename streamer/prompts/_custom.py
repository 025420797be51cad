"""Judge prompts chosen by name or read from a user's template file.

A run picks its judge prompt with ``[judge] prompt``: ``full``, ``compact``, or the path of
a text file holding the judge's user message. The file keeps the full judge's system text
and answer schema; its text is a ``str.format`` template with the placeholders
``{samples}`` (required: the JSON list of samples to grade) and ``{count}`` (optional), and
literal braces doubled (``{{``). Keep the ``<samples>`` tags around ``{samples}`` if the
simulated endpoint is to answer it. The template's version is ``file-<hash>``: its content,
not its path, versions the semantic stage.
"""

from __future__ import annotations

from pathlib import Path

from ._judge import JUDGE, judge_schema, render_judge
from ._template import PromptTemplate
from ._variants import COMPACT_JUDGING, FULL_JUDGING, JudgePrompt

__all__ = ["JUDGE_PROMPTS", "PromptFileError", "judge_prompt_from_file", "named_judge_prompt"]

JUDGE_PROMPTS: dict[str, JudgePrompt] = {"full": FULL_JUDGING, "compact": COMPACT_JUDGING}
"""The built-in judge prompts by name."""

MAX_TEMPLATE_BYTES = 256 * 1024
"""Largest judge template file accepted, in bytes."""


class PromptFileError(ValueError):
    """A judge template file that cannot be used; ``reason`` is a stable code:
    ``unreadable`` (missing, unreadable, not UTF-8 or too large) or ``bad_template``
    (an unknown placeholder, unbalanced braces, or no ``{samples}``)."""

    def __init__(self, reason: str, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.reason = reason
        self.path = path


def named_judge_prompt(name: str) -> JudgePrompt | None:
    """The built-in judge prompt called ``name``, or None."""
    return JUDGE_PROMPTS.get(name)


def judge_prompt_from_file(path: Path) -> JudgePrompt:
    """The full judge prompt with its user message read from ``path``."""
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise PromptFileError("unreadable", path, f"larger than {MAX_TEMPLATE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptFileError(
            "unreadable", path, f"cannot read the judge template: {exc}"
        ) from None
    if "{samples}" not in text:
        raise PromptFileError("bad_template", path, "the judge template has no {samples}")
    try:
        text.format(count="1", samples="[]")
    except (KeyError, IndexError, ValueError) as exc:
        raise PromptFileError(
            "bad_template",
            path,
            f"placeholders are {{samples}} and {{count}}, literal braces doubled: {exc!r}",
        ) from None
    template = PromptTemplate(id="judge-file", version="file", system=JUDGE.system, user=text)

    return JudgePrompt(template, lambda items: render_judge(items, template=template), judge_schema)
