"""Executed functions that hang, crash, exhaust memory, or return enormous or non-JSON
results: each call ends with its stable reason code, and the executor keeps serving — the
well-behaved call after every fault succeeds, on a replaced worker where one was lost."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from executors import ApiSpec, PythonBinding, PythonExecutor
from streamer.stages import ExecutionChecker
from topics import Call, ExecPass, FormatPass, QueryStyle, Reject, Tool

from ..streamer.factories import sample

MODULE = "tests.faults.misbehaving"

EXPECTED = {
    "hang_sleeping": "timeout",
    "hang_spinning": "timeout",
    "hang_ignoring_signals": "timeout",
    "crash_exit": "worker_crashed",
    "crash_segfault": "worker_crashed",
    "crash_abort": "worker_crashed",
    "crash_kill_self": "worker_crashed",
    "crash_closing_pipes": "worker_crashed",
    "exhaust_memory_at_once": "memory_exceeded",
    "exhaust_memory_gradually": "memory_exceeded",
    "enormous_string": "result_too_large",
    "enormous_list": "result_too_large",
    "not_serializable_object": "not_serializable",
    "not_serializable_nan": "not_serializable",
    "not_serializable_cycle": "not_serializable",
    "not_serializable_generator": "not_serializable",
    "not_serializable_tuple_keys": "not_serializable",
    "not_serializable_huge_int": "not_serializable",
    "raises_unprintable": "function_error",
    "raises_system_exit": "function_error",
    "raises_keyboard_interrupt": "function_error",
}

pytestmark = pytest.mark.anyio


def _spec(function: str) -> ApiSpec:
    params = {"type": "object", "properties": {"x": {"type": "integer"}}}
    return ApiSpec(
        name=function,
        description=f"Misbehaves: {function}.",
        parameters=params,
        binding=PythonBinding(module=MODULE, function=function),
        source="python:faults",
    )


@pytest.fixture
async def executor() -> AsyncIterator[PythonExecutor]:
    async with PythonExecutor(
        workers=2, timeout_s=1.0, memory_limit_bytes=256 * 1024**2,
        max_result_bytes=1024**2, allowed_modules={MODULE},
    ) as ex:  # fmt: skip
        yield ex


@pytest.mark.slow
async def test_each_fault_has_its_reason_and_the_executor_keeps_serving(
    executor: PythonExecutor,
) -> None:
    got: dict[str, str] = {}
    for function in EXPECTED:
        outcome = await executor.execute(_spec(function), {})
        got[function] = outcome.reason if not outcome.ok else "ok"
        assert outcome.message, function
        control = await executor.execute(_spec("ok"), {"x": 41})
        assert control.ok and control.result == 42, (function, control)
    assert got == EXPECTED
    assert executor.replaced_total >= 8  # every hang and crash cost its worker


@pytest.mark.slow
async def test_faults_running_concurrently_do_not_disturb_good_calls(
    executor: PythonExecutor,
) -> None:
    faults = ["hang_spinning", "crash_segfault", "exhaust_memory_at_once", "enormous_string"]
    results: dict[str, str] = {}
    good: list[object] = []

    async def bad(function: str) -> None:
        outcome = await executor.execute(_spec(function), {})
        results[function] = outcome.reason

    async def fine(i: int) -> None:
        outcome = await executor.execute(_spec("ok"), {"x": i})
        good.append(outcome.result if outcome.ok else outcome.reason)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i, function in enumerate(faults):
                tg.start_soon(bad, function)
                tg.start_soon(fine, i)
                tg.start_soon(fine, 100 + i)
    assert results == {f: EXPECTED[f] for f in faults}
    assert sorted(good, key=str) == sorted([*range(1, 5), *range(101, 105)], key=str)


async def test_the_execution_stage_turns_each_fault_into_a_reject(
    executor: PythonExecutor,
) -> None:
    tools = {f: Tool(f, f"Misbehaves: {f}.", _spec(f).parameters, api_id=f"faults:{f}")
             for f in ("crash_exit", "not_serializable_nan", "ok")}  # fmt: skip
    stage = ExecutionChecker(executor, lambda tool: _spec(tool.name))
    for function, reason in (("crash_exit", "worker_crashed"), ("not_serializable_nan",
                                                                "not_serializable")):  # fmt: skip
        s = sample(QueryStyle.SIMPLE, tools[function], tools["ok"], sid=function)
        event = FormatPass(meta=s.meta.child("format", "v", "0"), sample=s, model="m",
                           pair_index=0, query="q", calls=(Call(function, {}),))  # fmt: skip
        [out] = await stage.process(event)
        assert isinstance(out.event, Reject)
        assert out.event.reason == reason and function in out.event.message
        ok_event = FormatPass(meta=s.meta.child("format", "v", "1"), sample=s, model="m",
                              pair_index=1, query="q", calls=(Call("ok", {"x": 1}),))  # fmt: skip
        [out] = await stage.process(ok_event)
        assert isinstance(out.event, ExecPass) and out.event.results[0].result == 2
