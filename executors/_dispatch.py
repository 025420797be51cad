"""Route each call to the executor for its binding kind, through the result cache.

Usage::

    async with Dispatcher(
        python=PythonExecutor(allowed_modules=library.python_modules),
        rest=RestExecutor(...),
        mcp=McpExecutor({"tools": McpServerConfig("python", ("-m", "executors.mcp_server"))}),
        cache=ResultCache(path="results.sqlite"),
    ) as dispatcher:
        outcome = await dispatcher.execute(spec, arguments)

Entering the dispatcher enters every executor that is an async context manager (the MCP
executor needs its task group); leaving it, or :meth:`aclose`, closes them and the cache.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, Self

from ._cache import ResultCache
from ._metrics import executor_metrics
from ._outcome import Executor, Outcome
from ._redact import default_redactor
from ._spec import ApiSpec

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)


class Dispatcher:
    """An :class:`Executor` over the Python, REST and MCP executors (each optional).

    A spec without a binding, or whose kind has no executor here, fails with
    ``no_binding``. The cache is consulted before executing and fed afterwards. An
    executor that breaks the never-raise contract fails the call with ``executor_error``
    (its message redacted of configured secrets) instead of taking the pipeline down.
    """

    def __init__(
        self,
        python: Executor | None = None,
        rest: Executor | None = None,
        mcp: Executor | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        self.executors: dict[str, Executor | None] = {"python": python, "rest": rest, "mcp": mcp}
        self.cache = cache
        self._stack: AsyncExitStack | None = None
        self.calls_total = 0

    def __repr__(self) -> str:
        kinds = ",".join(k for k, v in self.executors.items() if v is not None) or "none"
        return f"<Dispatcher kinds={kinds} calls={self.calls_total} cache={self.cache!r}>"

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            for executor in self.executors.values():
                candidate: object = executor
                if isinstance(candidate, AbstractAsyncContextManager):
                    await stack.enter_async_context(candidate)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        try:
            if stack is not None:
                await stack.__aexit__(exc_type, exc, tb)
        finally:
            await self.aclose()

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        self.calls_total += 1
        if spec.binding is None:
            return Outcome.failure("no_binding", f"{spec.id} has no executable binding")
        executor = self.executors.get(spec.binding.kind)
        if executor is None:
            return Outcome.failure(
                "no_binding", f"no executor for {spec.binding.kind} bindings ({spec.id})"
            )
        if self.cache is not None and (hit := self.cache.get(spec, arguments)) is not None:
            return hit
        metrics = executor_metrics().for_kind(spec.binding.kind)
        started = time.perf_counter()
        try:
            outcome = await executor.execute(spec, arguments)
        except Exception as exc:
            logger.exception("executor for %s raised", spec.binding.kind)
            metrics.observe(False, "executor_error", time.perf_counter() - started)
            message = default_redactor().redact(f"{type(exc).__name__}: {exc}")
            return Outcome.failure("executor_error", message)
        metrics.observe(outcome.ok, outcome.reason, time.perf_counter() - started)
        if self.cache is not None:
            self.cache.put(spec, arguments, outcome)
        return outcome

    async def aclose(self) -> None:
        """Close every executor and the cache (idempotent)."""
        for executor in self.executors.values():
            if executor is not None:
                await executor.aclose()
        if self.cache is not None:
            self.cache.close()
