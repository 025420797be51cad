"""PythonExecutor against real worker processes running tests/executors/sample_functions.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from executors import ApiSpec, Outcome, PythonBinding, RestBinding
from executors._python import PythonExecutor

pytestmark = pytest.mark.anyio

SAMPLES = "tests.executors.sample_functions"


def spec(function: str, module: str = SAMPLES) -> ApiSpec:
    return ApiSpec(
        name=function,
        description="",
        parameters={"type": "object"},
        binding=PythonBinding(module=module, function=function),
        source="python:test",
    )


@pytest.fixture
async def executor() -> AsyncIterator[PythonExecutor]:
    async with PythonExecutor(workers=1, timeout_s=2.0, allowed_modules={SAMPLES}) as ex:
        yield ex


async def call(ex: PythonExecutor, function: str, **arguments: Any) -> Outcome:
    return await ex.execute(spec(function), arguments)


async def test_success_returns_json_result(executor: PythonExecutor) -> None:
    outcome = await call(executor, "add", a=2, b=3)
    assert outcome == Outcome.success(5, outcome.latency_s)
    assert outcome.latency_s > 0


async def test_results_are_json_normalized(executor: PythonExecutor) -> None:
    outcome = await call(executor, "shapes")
    assert outcome.result == {
        "tuple": [1, 2],
        "set": [1, 2, 3],
        "point": {"x": 1, "y": 2},
        "4": "int key",
    }


async def test_async_functions_and_printing_work(executor: PythonExecutor) -> None:
    assert (await call(executor, "async_add", a=1, b=1)).result == 2
    assert (await call(executor, "printing")).result == "ok"  # stdout can't break the pipe


@pytest.mark.parametrize(
    ("function", "arguments", "fragment"),
    [
        ("add", {"a": 1, "c": 2}, "missing a required argument: 'b'"),
        ("add", {"a": 1, "b": 2, "c": 3}, "unexpected keyword argument 'c'"),
        ("positional_only", {"a": 1}, "positional only"),
    ],
)
async def test_arguments_are_bound_by_keyword_only(
    executor: PythonExecutor, function: str, arguments: dict[str, Any], fragment: str
) -> None:
    outcome = await executor.execute(spec(function), arguments)
    assert (outcome.ok, outcome.reason) == (False, "invalid_arguments")
    assert fragment in outcome.message


async def test_function_exception_is_function_error(executor: PythonExecutor) -> None:
    outcome = await call(executor, "divide", a=1, b=0)
    assert (outcome.reason, outcome.message) == (
        "function_error",
        "ZeroDivisionError: division by zero",
    )
    assert (await call(executor, "exits")).message == "SystemExit: 2"


async def test_timeout_kills_and_replaces_the_worker(executor: PythonExecutor) -> None:
    first_pid = (await call(executor, "pid")).result
    start = time.monotonic()
    outcome = await call(executor, "spin")
    assert outcome.reason == "timeout"
    assert time.monotonic() - start < 2.0 + 1.5
    after = await call(executor, "pid")
    assert after.ok and after.result != first_pid
    assert executor.replaced_total == 1


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        ("exit_hard", "exited with status 3"),
        ("segfault", "SIGSEGV"),
        ("kill_self", "SIGKILL"),
    ],
)
async def test_crashed_worker_is_reported_and_replaced(
    executor: PythonExecutor, function: str, fragment: str
) -> None:
    outcome = await call(executor, function)
    assert outcome.reason == "worker_crashed"
    assert fragment in outcome.message
    assert (await call(executor, "add", a=1, b=1)).result == 2


async def test_memory_exhaustion_is_memory_exceeded(executor: PythonExecutor) -> None:
    outcome = await call(executor, "allocate", gib=4)
    assert outcome.reason == "memory_exceeded"
    assert (await call(executor, "add", a=1, b=1)).result == 2


async def test_huge_result_is_result_too_large(executor: PythonExecutor) -> None:
    outcome = await call(executor, "huge", n_bytes=2 * 1024 * 1024)
    assert outcome.reason == "result_too_large"
    assert (await call(executor, "huge", n_bytes=10)).result == "x" * 10


@pytest.mark.parametrize("function", ["opaque", "not_finite"])
async def test_non_json_result_is_not_serializable(executor: PythonExecutor, function: str) -> None:
    assert (await call(executor, function)).reason == "not_serializable"


@pytest.mark.parametrize(
    ("module", "function"),
    [("os", "getpid"), ("subprocess", "run"), (SAMPLES, "_private"), (SAMPLES, "missing")],
)
async def test_only_allow_listed_public_functions_run(
    executor: PythonExecutor, module: str, function: str
) -> None:
    outcome = await executor.execute(spec(function, module), {})
    assert outcome.reason == "unknown_api"


async def test_other_bindings_are_refused(executor: PythonExecutor) -> None:
    rest = ApiSpec(
        name="r",
        description="",
        parameters={"type": "object"},
        binding=RestBinding(base_url="http://x", method="GET", path="/"),
    )
    assert (await executor.execute(rest, {})).reason == "no_binding"


INJECTIONS = [
    "__import__('os').system('touch /tmp/apigen_pwned')",
    "$(touch /tmp/apigen_pwned)",
    "$(rm -rf /)",
    "; cat /etc/passwd",
    "../../etc/passwd",
    "`id`",
    "{{7*7}}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_argument_values_are_only_ever_data(executor: PythonExecutor, payload: str) -> None:
    marker = anyio.Path("/tmp/apigen_pwned")
    await marker.unlink(missing_ok=True)
    outcome = await call(executor, "echo", text=payload)
    assert outcome.ok
    assert outcome.result["text"] == payload
    assert outcome.result["type"] == "str"
    assert not await marker.exists()


async def test_injection_as_argument_name_is_invalid_arguments(executor: PythonExecutor) -> None:
    outcome = await executor.execute(spec("add"), {"__import__('os').getpid()": 1, "b": 2})
    assert outcome.reason == "invalid_arguments"


async def test_concurrency_is_bounded_by_workers() -> None:
    async with PythonExecutor(workers=2, timeout_s=5.0, allowed_modules={SAMPLES}) as ex:
        await ex.start()
        peak = 0
        pids: list[int] = []

        async def one() -> None:
            nonlocal peak
            outcome = await call(ex, "sleep", seconds=0.4)
            pids.append(outcome.result)

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, ex.busy)
                await anyio.sleep(0.02)

        start = time.monotonic()
        async with anyio.create_task_group() as outer:
            outer.start_soon(watch)
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(one)
            outer.cancel_scope.cancel()
        elapsed = time.monotonic() - start
        assert peak == 2
        assert len(set(pids)) == 2
        assert elapsed >= 0.8
        assert "busy=0 idle=2" in repr(ex)


async def test_cancelled_call_discards_its_worker(executor: PythonExecutor) -> None:
    with anyio.move_on_after(0.3):
        await call(executor, "sleep", seconds=5)
    assert (await call(executor, "add", a=1, b=1)).result == 2
    assert executor.replaced_total == 1


async def test_closed_executor_fails_calls() -> None:
    ex = PythonExecutor(workers=1, allowed_modules={SAMPLES})
    assert (await call(ex, "add", a=1, b=1)).ok
    await ex.aclose()
    assert (await call(ex, "add", a=1, b=1)).reason == "worker_crashed"
    assert "closed" in repr(ex)
