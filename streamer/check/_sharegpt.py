"""ShareGPT conversations (glaive function calling, LLaMA-Factory's ``sharegpt`` shape).

``conversations: [{"from": human|gpt|function_call|observation|system, "value"}]``
(``user``/``assistant``/``tool`` and ``role``/``content`` keys are accepted too). A
``function_call`` turn's value is one call ``{"name", "arguments"}`` as JSON (or a list
of them); consecutive ``function_call`` turns are one answer of several calls, and the
``observation`` turns after it are its observed outputs. Tools come from a ``tools`` field
(a JSON string or a list of function schemas, as in ``../shared/data/glaive/``), else from
the JSON function objects written in the system prompt (a ``system`` field or turn), as
glaive's original release does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..stages import FormatError
from ._case import ReadSettings
from ._conversation import Role, Turn, chat_reader, json_values_in, text_of
from ._decode import loads_text
from ._errors import BadRecord

__all__ = [
    "ROLES",
    "conversation_of",
    "is_sharegpt",
    "role_of",
    "sharegpt_cases",
    "speaker_of",
    "system_tools",
]

ROLES: dict[str, Role | None] = {
    "system": "system",
    "developer": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "observation": "tool",
    "tool": "tool",
    "function_response": "tool",
    "function": "tool",
    "function_call": None,  # an assistant turn that calls
}


def conversation_of(record: Any) -> list[Any] | None:
    if not isinstance(record, Mapping):
        return None
    turns = record.get("conversations", record.get("conversation"))
    return turns if isinstance(turns, list) else None


def is_sharegpt(record: Any) -> bool:
    return conversation_of(record) is not None


def speaker_of(turn: Any, at: str) -> tuple[str, Any]:
    """(speaker, value) of one ShareGPT turn (``from``/``value`` or ``role``/``content``)."""
    if not isinstance(turn, Mapping):
        raise BadRecord("invalid_record", f"{at}: a turn must be an object")
    speaker = turn.get("from", turn.get("role"))
    if not isinstance(speaker, str):
        raise BadRecord("invalid_record", f"{at}: a turn needs a 'from' (or 'role') string")
    return speaker.strip().lower(), turn.get("value", turn.get("content"))


def role_of(speaker: str, at: str) -> Role | None:
    """The turn's role; None for a ``function_call`` turn."""
    if speaker not in ROLES:
        raise BadRecord("invalid_record", f"{at}: unknown speaker {speaker[:40]!r}")
    return ROLES[speaker]


def _call(value: Any, at: str, settings: ReadSettings) -> list[Any] | FormatError:
    if isinstance(value, str):
        try:
            value = loads_text(value, what=at, reason="invalid_json", limits=settings.limits)
        except BadRecord as exc:
            if exc.reason != "invalid_json":
                raise
            return FormatError("invalid_json", exc.message)
    return value if isinstance(value, list) else [value]


def sharegpt_turns(conversation: list[Any], settings: ReadSettings) -> list[Turn]:
    turns: list[Turn] = []
    for i, raw in enumerate(conversation):
        at = f"conversations[{i}]"
        speaker, value = speaker_of(raw, at)
        role = role_of(speaker, at)
        if role is not None:
            turns.append(Turn(role, text_of(value), at))
            continue
        calls = _call(value, at, settings)
        last = turns[-1] if turns else None
        if last is not None and last.role == "assistant" and last.calls is not None:
            if isinstance(last.calls, list) and isinstance(calls, list):
                turns[-1] = Turn("assistant", "", last.at, [*last.calls, *calls])
            elif isinstance(calls, FormatError):
                turns[-1] = Turn("assistant", "", last.at, calls)
            continue
        turns.append(Turn("assistant", "", at, calls))
    return turns


def system_tools(texts: list[str], settings: ReadSettings) -> list[Any]:
    """Function schemas written as JSON in system prompts."""
    found: list[Any] = []
    for text in texts:
        for value in json_values_in(text):
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, Mapping) and ("name" in entry or "function" in entry):
                    found.append(entry)
            if len(found) > settings.limits.max_tools:
                return found
    return found


sharegpt_cases = chat_reader(
    "ShareGPT record: needs a conversations list", conversation_of, sharegpt_turns, system_tools
)
