"""Execution checker: ``format-pass`` -> ``exec-pass`` | ``rejects``.

Executes every call of a pair through the executors, concurrently, and attaches the results.
The API to run is resolved from the *task's* tool (its library id), never from anything the
model wrote beyond the function name, which the format stage already matched to a tool. The
first failing call decides the reject: its executor reason code and message are kept. An
executor that raises (a bug: executors return failures) makes that call's failure
``executor_error`` naming the exception, not a ``stage_error`` for an exception group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from executors import ApiSpec, Executor, Outcome
from topics import CallResult, ExecPass, FormatPass, Tool, Topic

from ..runtime._stage import Output, make_reject, stage_version

__all__ = ["ExecutionChecker", "Resolver"]

log = logging.getLogger("apigen.execution")

Resolver = Callable[[Tool], ApiSpec | None]
"""Maps a task's tool to the library spec that executes it (None when unknown)."""


class ExecutionChecker:
    """The execution stage."""

    name = "execution"
    input_topic = Topic.FORMAT_PASS
    input_type = FormatPass

    def __init__(
        self,
        executor: Executor,
        resolve: Resolver,
        *,
        version_name: str = "execution-v1",
        config: object = None,
    ) -> None:
        self.executor = executor
        self.resolve = resolve
        self.version = stage_version(version_name, config)

    async def process(self, event: FormatPass) -> list[Output]:
        tools = {t.name: t for t in event.sample.tools}
        specs: list[ApiSpec] = []
        for call in event.calls:
            tool = tools.get(call.name)
            spec = self.resolve(tool) if tool is not None else None
            if spec is None:
                return [self._reject(event, "unknown_api", f"{call.name}: not in the library")]
            specs.append(spec)
        outcomes: list[Outcome | None] = [None] * len(specs)

        async def run(i: int) -> None:
            try:
                outcomes[i] = await self.executor.execute(specs[i], dict(event.calls[i].arguments))
            except Exception as exc:  # executors never raise: one that does has a bug
                log.exception("execution: %s raised on %s", specs[i].id, event.meta.id)
                outcomes[i] = Outcome.failure("executor_error", f"{type(exc).__name__}: {exc}")

        async with anyio.create_task_group() as tg:
            for i in range(len(specs)):
                tg.start_soon(run, i)
        results: list[CallResult] = []
        for call, outcome in zip(event.calls, outcomes, strict=True):
            assert outcome is not None
            if not outcome.ok:
                return [self._reject(event, outcome.reason, f"{call.name}: {outcome.message}")]
            results.append(
                CallResult(
                    ok=True,
                    result=outcome.result,
                    latency_s=outcome.latency_s,
                    cached=outcome.cached,
                    simulated=outcome.simulated,
                )
            )
        passed = ExecPass(
            meta=event.meta.child(self.name, self.version),
            sample=event.sample,
            model=event.model,
            pair_index=event.pair_index,
            query=event.query,
            calls=event.calls,
            results=tuple(results),
        )
        return [Output(Topic.EXEC_PASS, passed)]

    def _reject(self, event: FormatPass, reason: str, message: str) -> Output:
        return make_reject(
            self.name,
            self.version,
            reason=reason,
            message=message,
            event=event,
            input_topic=self.input_topic,
        )
