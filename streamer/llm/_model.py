"""What every model backend returns and the protocol the stages program against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

import orjson

from topics import Usage

from ..prompts import ChatMessage

__all__ = ["ChatModel", "Completion", "OutputMode", "parse_json_content"]

OutputMode: TypeAlias = Literal["json_schema", "json_object", "prompt"]
"""How structured output was requested: a ``json_schema`` response format (constrained
where the server supports it), ``json_object`` (valid JSON, schema only in the prompt), or
plain prompting (schema in the prompt, nothing enforced)."""


@dataclass(frozen=True, slots=True)
class Completion:
    """One successful LLM call.

    ``text`` is the raw message content; ``parsed`` its JSON value, or None when the content
    is not JSON (the model's fault — the format stage rejects it, keeping ``text``).
    ``finish_reason`` is ``"length"`` when ``max_tokens`` cut the answer. ``latency_s`` is
    the wall time including retries and rate-limit waits; ``cost_usd`` comes from the
    endpoint's price table (0 when unknown).
    """

    text: str
    parsed: Any
    usage: Usage
    latency_s: float
    cost_usd: float
    model: str
    finish_reason: str = "stop"
    mode: OutputMode = "json_schema"
    attempts: int = 1


@runtime_checkable
class ChatModel(Protocol):
    """A backend the generator and judge call: HTTP endpoint or in-process model."""

    @property
    def name(self) -> str: ...

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> Completion:
        """Ask for JSON matching ``schema``; raise :class:`~streamer.llm.LlmError` on failure.

        ``seed`` asks the backend for reproducible sampling (OpenAI's ``seed`` parameter;
        best effort where the backend supports it, ignored elsewhere).
        """
        ...

    async def aclose(self) -> None: ...


def parse_json_content(text: str) -> Any:
    """The JSON value of ``text``, tolerating a Markdown code fence around it; else None."""
    candidate = text.strip()
    if candidate.startswith("```"):
        candidate = candidate.split("\n", 1)[1] if "\n" in candidate else ""
        candidate = candidate.rsplit("```", 1)[0]
    try:
        return orjson.loads(candidate)
    except orjson.JSONDecodeError:
        return None
