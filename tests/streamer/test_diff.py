"""The flip report: matching pairs across versions, whole-output rejects, version names."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from executors import ApiSpec
from executors import Outcome as ExecOutcome
from streamer.replay._diff import Outcome, compare, diff_versions, resolve_version
from streamer.replay._replay import ReplayError, replay, run_bounded
from streamer.runtime._runner import RunnerSettings
from streamer.stages import ExecutionChecker, FormatChecker, FormatRules
from topics import MemoryTransport, Message, Tool, Topic, encode

from .factories import tool
from .fakes import FakeExecutor
from .test_replay import LIVE_RULES, STRICT_RULES, _format_bucket, generation

pytestmark = pytest.mark.anyio

P = "pass"


def o(reason: str, version: str = "v") -> Outcome:
    return Outcome(reason, version, query=f"q-{reason}")


def test_compare_counts_flips_by_reason_and_caps_examples() -> None:
    a = {("s1", 0): o(P), ("s2", 0): o(P), ("s3", 0): o("x"), ("s4", 0): o("x"), ("s5", 0): o(P)}
    b = {("s1", 0): o("y"), ("s2", 0): o("y"), ("s3", 0): o(P), ("s4", 0): o("z")}
    b[("s6", 0)] = o(P)
    diff = compare("format", a, b, examples_per_kind=1)
    assert diff.pass_to_fail == Counter({"y": 2})
    assert diff.fail_to_pass == Counter({"x": 1})
    assert diff.reason_changed == Counter({"x->z": 1})
    assert (diff.compared, diff.only_a, diff.only_b) == (4, 1, 1)
    assert [(f.sample_id, f.before, f.after) for f in diff.examples] == [
        ("s1", P, "y"),
        ("s3", "x", P),
        ("s4", "x", "z"),
    ]


def test_a_whole_output_reject_stands_for_each_pair_of_the_other_side() -> None:
    a = {("s1", -1): o("invalid_json")}
    b = {("s1", 0): o(P), ("s1", 1): o("missing_field")}
    diff = compare("format", a, b)
    assert diff.fail_to_pass == Counter({"invalid_json": 1})
    assert diff.reason_changed == Counter({"invalid_json->missing_field": 1})
    assert diff.compared == 2 and diff.only_a == diff.only_b == 0


async def test_versions_resolve_by_name_or_in_full_and_ambiguity_is_an_error() -> None:
    transport = MemoryTransport()
    await transport.create_topics(
        ["generations", "format-pass.a-0123abcd", "rejects.a-0123abcd", "format-pass.b-89abcdef"]
    )
    assert await resolve_version(transport, "live") is None
    assert await resolve_version(transport, "a") == "a-0123abcd"
    assert await resolve_version(transport, "b-89abcdef") == "b-89abcdef"
    await transport.create_topics(["rejects.a-ffffffff"])
    with pytest.raises(ReplayError) as info:
        await resolve_version(transport, "a")
    assert info.value.reason == "ambiguous_version"
    assert "a-0123abcd" in info.value.message and "a-ffffffff" in info.value.message


async def test_downstream_replay_diffs_every_stage_it_reached() -> None:
    transport = MemoryTransport()
    n = 120
    await transport.create_topics(list(map(str, Topic)), 2)
    async with transport.producer() as producer:
        events = [generation(i) for i in range(n)]
        await producer.produce(
            [Message(Topic.GENERATIONS, encode(e), key=e.meta.sample_id.encode()) for e in events]
        )
    settings = RunnerSettings(commit_interval_s=0.05)

    def execute(name: str, arguments: dict[str, Any]) -> ExecOutcome:
        x = arguments.get("x")
        if x == 1:  # the second call of every parallel pair
            return ExecOutcome(ok=False, reason="function_error", message="x=1 fails")
        return ExecOutcome(ok=True, result=x)

    def execution() -> ExecutionChecker:
        f = tool("f")
        return ExecutionChecker(FakeExecutor(execute), lambda t: _spec(f) if t == f else None)

    await run_bounded(
        FormatChecker(LIVE_RULES), transport, group="format", input_topic=Topic.GENERATIONS,
        settings=settings,
    )  # fmt: skip
    await run_bounded(
        execution(), transport, group="execution", input_topic=Topic.FORMAT_PASS, settings=settings
    )
    strict = FormatChecker(STRICT_RULES, version_name="strict")
    result = await replay(transport, [strict, execution()], settings=settings)
    assert [s.stage for s in result.stages] == ["format", "execution"]
    assert result.stages[1].input_topic == Topic.versioned(Topic.FORMAT_PASS, result.version)
    report = await diff_versions(transport, "live", "strict")
    fmt, exe = report.stages
    assert fmt.pass_to_fail == Counter({"style_mismatch": n // 6})
    assert fmt.fail_to_pass == Counter({"out_of_range": n // 6})
    # Execution: the parallel 2-call pairs (x=0, x=1) no longer reach it, the long queries
    # now do; the 3-call pairs fail at x=1 either way.
    assert exe.compared == sum(1 for i in range(n) if _format_bucket(i) == (P, P))
    assert exe.only_a == n // 6 and exe.only_b == n // 6
    assert not exe.pass_to_fail and not exe.fail_to_pass
    assert exe.unchanged_fail == n // 6


def _spec(t: Tool) -> ApiSpec:
    return ApiSpec(name=t.name, description="", parameters={"type": "object"})


def test_strict_rules_differ_from_live() -> None:
    assert FormatChecker(STRICT_RULES).version != FormatChecker(FormatRules()).version
