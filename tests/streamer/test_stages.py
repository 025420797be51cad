from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest

from executors import ApiSpec, Outcome
from streamer.llm import LlmError
from streamer.stages import (
    ExecutionChecker,
    Generator,
    SemanticChecker,
    SemanticRules,
    rule_check,
)
from streamer.stages._semantic import JudgeUnavailable
from topics import (
    Call,
    CallResult,
    ExecPass,
    FormatPass,
    Generation,
    QueryStyle,
    Reject,
    SemanticPass,
    Tool,
)

from .factories import sample, tool
from .fakes import FakeExecutor, FakeModel


def _spec(t: Tool) -> ApiSpec | None:
    if t.name == "ghost":
        return None
    return ApiSpec(name=t.name, description=t.description, parameters=t.parameters)


def _format_pass(*calls: Call, query: str = "f of 3 and 4") -> FormatPass:
    s = sample(QueryStyle.PARALLEL, tool("f"), tool("ghost"))
    return FormatPass(
        meta=s.meta.child("format", "v", "0"),
        sample=s,
        model="m",
        pair_index=0,
        query=query,
        calls=calls,
    )


def _exec_pass(query: str, *calls: Call, results: tuple[Any, ...] = (1,)) -> ExecPass:
    fp = _format_pass(*calls, query=query)
    return ExecPass(
        meta=fp.meta.child("execution", "v"),
        sample=fp.sample,
        model="m",
        pair_index=0,
        query=query,
        calls=fp.calls,
        results=tuple(CallResult(ok=True, result=r) for r in results),
    )


@pytest.mark.anyio
async def test_generator_records_output_and_turns_llm_errors_into_rejects() -> None:
    pairs = {"pairs": [{"query": "q", "answers": []}]}
    good = FakeModel("good", lambda m, s: pairs)
    gen = Generator([(good, 1.0)])
    [out] = await gen.process(sample())
    assert isinstance(out.event, Generation)
    assert orjson.loads(out.event.raw) == pairs and out.event.model == "good"
    assert out.event.usage.completion_tokens == 20 and out.event.cost_usd > 0
    assert "<tools>" in good.calls[0][-1]["content"]

    bad = FakeModel("bad", lambda m, s: LlmError("rate_limited", "slow down"))
    [out] = await Generator([(bad, 1.0)], pause_on_outage=False).process(sample())
    assert isinstance(out.event, Reject)
    assert (out.event.reason, out.event.model) == ("llm_rate_limited", "bad")


def test_generator_weights_choose_models_deterministically() -> None:
    a, b = FakeModel("a", lambda m, s: {}), FakeModel("b", lambda m, s: {})
    gen = Generator([(a, 3.0), (b, 1.0)])
    picks = [gen.choose(sample(sid=f"s{i}")).name for i in range(400)]
    assert picks == [gen.choose(sample(sid=f"s{i}")).name for i in range(400)]
    assert 240 < picks.count("a") < 360
    with pytest.raises(ValueError, match="weights must be > 0"):
        Generator([(a, 0.0)])


@pytest.mark.anyio
async def test_execution_runs_every_call_and_keeps_executor_reasons() -> None:
    def run(name: str, args: dict[str, Any]) -> Outcome:
        if args["x"] < 0:
            return Outcome.failure("function_error", "ValueError: x must be >= 0")
        return Outcome.success(args["x"] * 2)

    checker = ExecutionChecker(FakeExecutor(run), _spec)
    [out] = await checker.process(_format_pass(Call("f", {"x": 3}), Call("f", {"x": 4})))
    assert isinstance(out.event, ExecPass)
    assert [r.result for r in out.event.results] == [6, 8]

    [out] = await checker.process(_format_pass(Call("f", {"x": 3}), Call("f", {"x": -1})))
    assert isinstance(out.event, Reject)
    assert out.event.reason == "function_error" and "x must be >= 0" in out.event.message

    [out] = await checker.process(_format_pass(Call("ghost", {"x": 1})))
    assert isinstance(out.event, Reject) and out.event.reason == "unknown_api"


@pytest.mark.parametrize(
    ("query", "calls", "results", "reason"),
    [
        ("double 3", (Call("f", {"x": 3}),), (6,), None),
        ("double 3", (Call("f", {"x": 3}),), ({"error": "boom"},), "error_result"),
        ("double 3", (Call("f", {"x": 3}),), ("Error: no such city",), "error_result"),
        ("double 3", (Call("f", {"x": 3}),), ([],), "empty_result"),
        ("double eight", (Call("f", {"x": 7}),), (14,), "ungrounded_arguments"),
        ("double seven", (Call("f", {"x": 7}),), (14,), None),
        ("double 1,000", (Call("f", {"x": 1000}),), (2000,), None),
        ("double 1000", (Call("f", {"x": 100}),), (200,), "ungrounded_arguments"),
        ("1. double 3 2. double 4", (Call("f", {"x": 3}),), (6,), "missing_calls"),
    ],
)
def test_rules(
    query: str, calls: tuple[Call, ...], results: tuple[Any, ...], reason: str | None
) -> None:
    broken = rule_check(_exec_pass(query, *calls, results=results), SemanticRules())
    assert (broken[0] if broken else None) == reason


@pytest.mark.anyio
async def test_judge_batches_concurrent_events_and_applies_verdicts() -> None:
    def verdicts(messages: Any, schema: dict[str, Any]) -> Any:
        n = schema["properties"]["verdicts"]["minItems"]
        samples = orjson.loads(messages[-1]["content"].split("<samples>")[1].split("</samples>")[0])
        return {
            "verdicts": [
                {"index": i, "passed": "bad" not in s["query"], "reasoning": "checked"}
                for i, s in enumerate(samples[:n])
            ]
        }

    judge = FakeModel("judge", verdicts)
    checker = SemanticChecker([judge], batch_size=4, batch_linger_s=0.5)
    events = [
        _exec_pass(f"{'bad' if i % 3 == 0 else 'good'} 3", Call("f", {"x": 3})) for i in range(10)
    ]
    outputs: list[Any] = [None] * 10

    async def one(i: int) -> None:
        outputs[i] = (await checker.process(events[i]))[0].event

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(one, i)
    assert len(judge.calls) == 3  # 4 + 4 + 2
    for i, event in enumerate(outputs):
        if i % 3 == 0:
            assert isinstance(event, Reject) and event.reason == "judge_rejected"
        else:
            assert isinstance(event, SemanticPass) and event.judgement.judges == ("judge",)


@pytest.mark.anyio
async def test_judge_failure_and_quorum() -> None:
    failing = FakeModel("down", lambda m, s: LlmError("timeout", "no answer"))
    alone = SemanticChecker([failing], batch_linger_s=0, pause_on_outage=False)
    with pytest.raises(JudgeUnavailable) as info:  # an outage is no verdict
        await alone.process(_exec_pass("double 3", Call("f", {"x": 3})))
    assert info.value.reason == "judge_timeout"

    def yes(m: Any, s: dict[str, Any]) -> Any:
        return {"verdicts": [{"index": 0, "passed": True, "reasoning": "fine"}]}

    ok = FakeModel("yes", yes)
    judges = [ok, failing, FakeModel("yes2", yes)]
    checker = SemanticChecker(judges, batch_linger_s=0, pause_on_outage=False)
    [out] = await checker.process(_exec_pass("double 3", Call("f", {"x": 3})))
    assert isinstance(out.event, SemanticPass)  # 2 of 3 is a majority
    with pytest.raises(ValueError, match="quorum"):
        SemanticChecker([ok], quorum=2)
