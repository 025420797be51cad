"""Prompt templates versioned like code.

A :class:`PromptTemplate` is an id, a version string and the system and user texts. Its
:attr:`~PromptTemplate.content_hash` covers all of them, so a stage version built from
:attr:`~PromptTemplate.stage_version` changes whenever a prompt's wording changes, even if
someone forgot to bump ``version`` — and reprocessed events then get new ids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal, TypedDict

__all__ = ["ChatMessage", "PromptTemplate", "extract_block", "json_block"]


class ChatMessage(TypedDict):
    """One chat message as the OpenAI chat completions API takes it."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A prompt: ``system`` and ``user`` texts with ``{placeholders}`` (``str.format``).

    ``shots`` are fixed (user, assistant) turns rendered verbatim between the system and the
    user message: few-shot examples as a conversation. They form a constant prefix, which
    llama.cpp reuses from its cache between calls.

    Usage::

        T = PromptTemplate("greeter", "1", system="Be brief.", user="Greet {name}.")
        T.render(name="Ada")   # [{"role": "system", ...}, {"role": "user", ...}]
        T.stage_version        # "1-<8 hex digits of the content hash>"
    """

    id: str
    version: str
    system: str
    user: str
    shots: tuple[tuple[str, str], ...] = ()

    @property
    def content_hash(self) -> str:
        """blake2b (16 hex digits) of id, version, system and user text and the shots."""
        h = hashlib.blake2b(digest_size=8)
        # Shots join the hash only when present, so templates without shots keep their hash.
        shot_parts = [text for shot in self.shots for text in shot]
        for part in (self.id, self.version, self.system, self.user, *shot_parts):
            data = part.encode()
            h.update(len(data).to_bytes(4, "big"))
            h.update(data)
        return h.hexdigest()

    @property
    def stage_version(self) -> str:
        """``"<version>-<first 8 hex digits of content_hash>"``, for stage versions."""
        return f"{self.version}-{self.content_hash[:8]}"

    def render(self, **values: str) -> list[ChatMessage]:
        messages: list[ChatMessage] = [{"role": "system", "content": self.system.format(**values)}]
        for user, assistant in self.shots:
            messages.append({"role": "user", "content": user})
            messages.append({"role": "assistant", "content": assistant})
        messages.append({"role": "user", "content": self.user.format(**values)})
        return messages


def json_block(value: object) -> str:
    """``value`` as JSON, a list one item per line, with every ``<`` escaped as ``\\u003c``.

    JSON only allows ``<`` inside strings, where the escape means the same, so no text from
    a tool description or a seed query can forge or close a ``<tag>`` block.
    """
    if isinstance(value, list):
        text = "[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in value) + "\n]"
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c")


def extract_block(text: str, tag: str) -> str | None:
    """The text between the first ``<tag>`` and the following ``</tag>``, stripped, or None."""
    start = text.find(f"<{tag}>")
    if start < 0:
        return None
    start += len(tag) + 2
    end = text.find(f"</{tag}>", start)
    if end < 0:
        return None
    return text[start:end].strip()
