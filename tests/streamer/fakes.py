"""Fakes for stage unit tests (beside, never instead of, real endpoints and executors)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import orjson

from executors import ApiSpec, Outcome
from streamer.llm import Completion, LlmError
from streamer.prompts import ChatMessage
from topics import Usage


class FakeModel:
    """Answers with ``reply(messages, schema)``; records every call."""

    def __init__(self, name: str, reply: Callable[[Sequence[ChatMessage], dict[str, Any]], Any]):
        self._name = name
        self.reply = reply
        self.calls: list[Sequence[ChatMessage]] = []

    @property
    def name(self) -> str:
        return self._name

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> Completion:
        self.calls.append(messages)
        await anyio.lowlevel.checkpoint()
        value = self.reply(messages, schema)
        if isinstance(value, LlmError):
            raise value
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        return Completion(
            text=text,
            parsed=None if isinstance(value, str) else value,
            usage=Usage(10, 20),
            latency_s=0.01,
            cost_usd=0.0001,
            model=self._name,
        )

    async def aclose(self) -> None:
        return None


class FakeExecutor:
    """Executes with a plain function of (name, arguments)."""

    def __init__(self, fn: Callable[[str, dict[str, Any]], Outcome]) -> None:
        self.fn = fn
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        self.calls.append((spec.name, arguments))
        return self.fn(spec.name, arguments)

    async def aclose(self) -> None:
        return None
