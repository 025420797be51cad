"""Replays through a changed format rule and a changed judge, on the embedded log and Kafka.

The retained data is built so the expected flips are known up front: each event falls in a
bucket by index, and each bucket's outcome under the old and the new version follows from
the rules (see ``_format_bucket`` and ``_judge_bucket``). The live pipeline is a real
StageRunner in the live consumer group; the tests check that a replay leaves its committed
offsets and its topics exactly as they were, and that a second replay adds nothing.
"""

from __future__ import annotations

import re
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from streamer.prompts import ChatMessage
from streamer.replay._diff import diff_versions, read_outcomes
from streamer.replay._replay import (
    Bound,
    ReplayError,
    Window,
    materialize,
    replay,
    replay_group,
    run_bounded,
)
from streamer.runtime._runner import RunnerSettings
from streamer.stages import FormatChecker, FormatRules, SemanticChecker, SemanticRules
from topics import (
    Call,
    CallResult,
    EmbeddedTransport,
    ExecPass,
    Generation,
    GenerationSettings,
    KafkaTransport,
    MemoryTransport,
    Message,
    QueryStyle,
    Sample,
    Topic,
    TopicPartition,
    Transport,
    encode,
)

from .factories import sample, tool
from .fakes import FakeModel

pytestmark = pytest.mark.anyio

N = 10_000
PARTITIONS = 4
SETTINGS = RunnerSettings(commit_interval_s=0.1)
LIVE_RULES = FormatRules(min_parallel_calls=2, max_query_chars=50)
STRICT_RULES = FormatRules(min_parallel_calls=3, max_query_chars=200)


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=[pytest.mark.kafka])])
async def transport(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Transport]:
    t: Transport
    if request.param == "embedded":
        t = EmbeddedTransport(tmp_path / "log.db")
    else:
        # One broker serves the whole session: a fresh namespace keeps other tests' events
        # (on the same pipeline topic names) out of this one's counts.
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        t = KafkaTransport(bootstrap, namespace=f"t{uuid.uuid4().hex[:8]}")
    try:
        yield t
    finally:
        await t.aclose()


async def produce_all(transport: Transport, messages: Sequence[Message]) -> None:
    async with transport.producer() as producer:
        for i in range(0, len(messages), 1000):
            await producer.produce(messages[i : i + 1000])


async def end_offsets(transport: Transport) -> dict[str, int]:
    """Records per topic (summed over partitions), read by a throwaway group."""
    topics = await transport.list_topics()
    tps = [TopicPartition(t, p) for t, n in topics.items() for p in range(n)]
    async with transport.consumer(sorted(topics), f"probe-{uuid.uuid4().hex}") as consumer:
        ends = await consumer.end_offsets(tps)
    counts = dict.fromkeys(topics, 0)
    for tp, end in ends.items():
        counts[tp.topic] += end
    return counts


# -- format: retained generations ------------------------------------------------------------

_FORMAT_BUCKETS = 6


def _format_bucket(i: int) -> tuple[str, str]:
    """(live outcome, strict outcome) of generation ``i``."""
    return [
        ("pass", "style_mismatch"),  # parallel, 2 calls: strict wants 3
        ("pass", "pass"),  # parallel, 3 calls
        ("out_of_range", "pass"),  # 80-character query: live allows 50, strict 200
        ("pass", "pass"),  # simple, short
        ("invalid_json", "invalid_json"),
        ("unknown_function", "unknown_function"),
    ][i % _FORMAT_BUCKETS]


def generation(i: int) -> Generation:
    bucket = i % _FORMAT_BUCKETS
    style = QueryStyle.PARALLEL if bucket in (0, 1) else QueryStyle.SIMPLE
    s = sample(style, tool("f"), sid=f"s{i:05d}")
    s = Sample(meta=s.meta, style=s.style, tools=s.tools, settings=GenerationSettings(pairs=1))
    calls = [{"name": "f", "arguments": {"x": k}} for k in range({0: 2, 1: 3}.get(bucket, 1))]
    query = f"Compute f of {i}." if bucket != 2 else f"Compute f of {i}. " + "please " * 9
    if bucket == 5:
        calls = [{"name": "g", "arguments": {"x": 1}}]
    raw = orjson.dumps({"query": query, "answers": calls}).decode()
    if bucket == 4:
        raw = raw[:-3]
    return Generation(meta=s.meta.child("generator", "gen-v1", "0"), sample=s, model="m", raw=raw)


async def seed_generations(transport: Transport, n: int) -> None:
    await transport.create_topics(list(map(str, Topic)), PARTITIONS)
    events = [generation(i) for i in range(n)]
    await produce_all(
        transport,
        [Message(Topic.GENERATIONS, encode(e), key=e.meta.sample_id.encode()) for e in events],
    )


def expected_flips(n: int, buckets: Any) -> tuple[Counter[str], Counter[str], int, int]:
    to_fail: Counter[str] = Counter()
    to_pass: Counter[str] = Counter()
    same_pass = same_fail = 0
    for i in range(n):
        old, new = buckets(i)
        if old == new:
            same_pass += old == "pass"
            same_fail += old != "pass"
        elif old == "pass":
            to_fail[new] += 1
        else:
            to_pass[old] += 1
    return to_fail, to_pass, same_pass, same_fail


@pytest.mark.slow
async def test_replay_a_stricter_format_rule(transport: Transport) -> None:
    await seed_generations(transport, N)
    live = await run_bounded(
        FormatChecker(LIVE_RULES),
        transport,
        group="format",
        input_topic=Topic.GENERATIONS,
        settings=SETTINGS,
    )
    assert live.consumed == N
    live_offsets = await transport.group_offsets("format")
    assert sum(live_offsets.values()) == N
    live_ends = {t: n for t, n in (await end_offsets(transport)).items() if "." not in t}

    strict = FormatChecker(STRICT_RULES, version_name="strict-v2")
    first = await replay(transport, [strict], settings=SETTINGS)
    assert first.version == strict.version and first.version.startswith("strict-v2-")
    assert first.stages[0].consumed == N
    assert first.stages[0].group == replay_group("format", first.version)

    report = await diff_versions(transport, "live", "strict-v2", examples_per_kind=2)
    to_fail, to_pass, same_pass, same_fail = expected_flips(N, _format_bucket)
    (fmt,) = report.stages
    assert (report.a, report.b) == ("live", first.version)
    assert fmt.pass_to_fail == to_fail == Counter({"style_mismatch": -(-N // 6)})
    assert fmt.fail_to_pass == to_pass
    assert (fmt.unchanged_pass, fmt.unchanged_fail) == (same_pass, same_fail)
    assert fmt.compared == N and fmt.only_a == fmt.only_b == 0
    assert not fmt.reason_changed
    assert fmt.versions_a == (FormatChecker(LIVE_RULES).version,)
    assert fmt.versions_b == (first.version,)
    assert {(f.before, f.after) for f in fmt.examples} == {
        ("pass", "style_mismatch"),
        ("out_of_range", "pass"),
    }
    assert len(fmt.examples) == 4

    # The live pipeline's group and topics are exactly as they were.
    assert await transport.group_offsets("format") == live_offsets
    after = await end_offsets(transport)
    assert {t: n for t, n in after.items() if "." not in t} == live_ends
    versioned = {t: n for t, n in after.items() if "." in t}
    assert versioned == {
        Topic.versioned(Topic.FORMAT_PASS, first.version): same_pass + sum(to_pass.values()),
        Topic.versioned(Topic.REJECTS, first.version): same_fail + sum(to_fail.values()),
    }

    # A second identical replay finds everything committed: no new events, same diff.
    second = await replay(transport, [strict], settings=SETTINGS)
    assert second.stages[0].consumed == 0 and second.stages[0].produced == 0
    assert await end_offsets(transport) == after
    again = await diff_versions(transport, "live", "strict-v2", examples_per_kind=2)
    assert again == report
    assert await transport.group_offsets("format") == live_offsets


# -- semantic: retained executed pairs, a changed judge ---------------------------------------

_SAMPLES = re.compile(r"<samples>\n(.*)\n</samples>", re.DOTALL)


def judge(name: str, rejects: str) -> FakeModel:
    """A judge that fails every sample whose query holds the word ``rejects``."""

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any]) -> Any:
        found = _SAMPLES.search(messages[-1]["content"])
        assert found is not None
        samples = orjson.loads(found.group(1))
        return {
            "verdicts": [
                {"index": s["index"], "passed": rejects not in s["query"], "reasoning": name}
                for s in samples
            ]
        }

    return FakeModel(name, reply)


def _judge_bucket(i: int) -> tuple[str, str]:
    """(old judge, new judge) outcome of executed pair ``i``."""
    return [
        ("pass", "judge_rejected"),  # "approx": only the new judge objects
        ("judge_rejected", "pass"),  # "maybe": only the old judge objects
        ("judge_rejected", "judge_rejected"),  # both words
        ("pass", "pass"),
    ][i % 4]


def executed(i: int, words: str) -> ExecPass:
    """An executed pair of sample ``i`` whose query ends with ``words``."""
    s = sample(QueryStyle.SIMPLE, tool("f"), sid=f"s{i:05d}")
    meta = s.meta.child("generator", "gen-v1", "0").child("format", "f1", "0")
    return ExecPass(
        meta=meta.child("execution", "e1"),
        sample=s,
        model="m",
        pair_index=0,
        query=f"Compute f of {i}, {words}.",
        calls=(Call("f", {"x": i}),),
        results=(CallResult(ok=True, result=i + 1),),
    )


def semantic(judge_model: FakeModel, version_name: str) -> SemanticChecker:
    return SemanticChecker(
        [judge_model], rules=SemanticRules(), batch_size=16, version_name=version_name
    )


@pytest.mark.slow
async def test_replay_a_changed_judge_with_the_dataset_of_each_version(
    transport: Transport, tmp_path: Path
) -> None:
    await transport.create_topics(list(map(str, Topic)), PARTITIONS)
    events = [executed(i, ["approx", "maybe", "approx maybe", "exactly"][i % 4]) for i in range(N)]
    await produce_all(
        transport,
        [Message(Topic.EXEC_PASS, encode(e), key=e.meta.sample_id.encode()) for e in events],
    )
    old_judge, new_judge = judge("judge-a", "maybe"), judge("judge-b", "approx")
    await run_bounded(
        semantic(old_judge, "semantic-v1"),
        transport,
        group="semantic",
        input_topic=Topic.EXEC_PASS,
        settings=SETTINGS,
    )
    live_offsets = await transport.group_offsets("semantic")
    live_ends = {t: n for t, n in (await end_offsets(transport)).items() if "." not in t}
    calls_before = len(old_judge.calls)

    first = await replay(transport, [semantic(new_judge, "judge-b")], settings=SETTINGS)
    report = await diff_versions(transport, "live", "judge-b")
    (sem,) = report.stages
    to_fail, to_pass, same_pass, same_fail = expected_flips(N, _judge_bucket)
    assert sem.stage == "semantic"
    assert sem.pass_to_fail == to_fail == Counter({"judge_rejected": N // 4})
    assert sem.fail_to_pass == to_pass == Counter({"judge_rejected": N // 4})
    assert (sem.unchanged_pass, sem.unchanged_fail) == (same_pass, same_fail)
    assert sem.compared == N
    assert len(old_judge.calls) == calls_before, "the live judge was asked again"
    assert new_judge.calls, "the new judge was never asked"

    assert await transport.group_offsets("semantic") == live_offsets
    after = await end_offsets(transport)
    assert {t: n for t, n in after.items() if "." not in t} == live_ends

    new_calls = len(new_judge.calls)
    second = await replay(transport, [semantic(new_judge, "judge-b")], settings=SETTINGS)
    assert second.stages[0].produced == 0
    assert len(new_judge.calls) == new_calls
    assert await end_offsets(transport) == after
    assert await diff_versions(transport, "live", "judge-b") == report

    # The sink materializes either version's dataset: exactly the pairs its judge passed.
    files = await materialize(transport, first.version, tmp_path / "b", settings=SETTINGS)
    rows = [orjson.loads(line) for line in files["xlam"].read_bytes().splitlines()]
    assert len(rows) == N // 2
    assert all("approx" not in r["query"] for r in rows)
    live_files = await materialize(transport, None, tmp_path / "a", settings=SETTINGS)
    live_rows = live_files["xlam"].read_bytes().splitlines()
    assert len(live_rows) == N // 2
    assert all(b"maybe" not in line for line in live_rows)


# -- windows, errors -------------------------------------------------------------------------


async def test_window_by_offset_and_timestamp_on_memory() -> None:
    transport = MemoryTransport()
    await transport.create_topics(list(map(str, Topic)), 1)
    events = [generation(i) for i in range(60)]
    await produce_all(
        transport,
        [
            Message(Topic.GENERATIONS, encode(e), key=b"k", timestamp_ms=1_000_000 + 1000 * i)
            for i, e in enumerate(events)
        ],
    )
    by_offset = FormatChecker(STRICT_RULES, version_name="offsets")
    window = Window(Bound.parse("10"), Bound.parse("20", option="--until"))
    result = await replay(transport, [by_offset], window=window, settings=SETTINGS)
    assert result.stages[0].consumed == 10
    outcomes = await read_outcomes(transport, result.version, "format")
    assert sorted(int(sid[1:]) for sid, _ in outcomes) == list(range(10, 20))

    by_time = FormatChecker(STRICT_RULES, version_name="times")
    window = Window(
        Bound(timestamp_ms=1_000_000 + 1000 * 30), Bound(timestamp_ms=1_000_000 + 1000 * 44)
    )
    result = await replay(transport, [by_time], window=window, settings=SETTINGS)
    outcomes = await read_outcomes(transport, result.version, "format")
    assert sorted(int(sid[1:]) for sid, _ in outcomes) == list(range(30, 45))
    # Resumed with a wider window, the group's committed position holds: nothing is redone.
    again = await replay(transport, [by_time], settings=SETTINGS)
    assert again.stages[0].consumed == 15
    outcomes = await read_outcomes(transport, result.version, "format")
    assert sorted(int(sid[1:]) for sid, _ in outcomes) == list(range(30, 60))


def test_bounds_parse_and_reject_with_a_reason() -> None:
    assert Bound.parse("earliest") == Bound() == Bound.parse("end")
    assert Bound.parse("42") == Bound(offset=42)
    assert Bound.parse("1970-01-01T00:00:01Z") == Bound(timestamp_ms=1000)
    assert Bound.parse("1970-01-01T01:00:01+01:00") == Bound(timestamp_ms=1000)
    with pytest.raises(ReplayError) as info:
        Bound.parse("yesterday", option="--until")
    assert info.value.reason == "invalid_position" and "--until" in str(info.value)


async def test_bad_versions_and_missing_input_are_named() -> None:
    transport = MemoryTransport(default_partitions=None)
    with pytest.raises(ReplayError) as info:
        await replay(transport, [FormatChecker(version_name="a.b")])
    assert info.value.reason == "invalid_version"
    with pytest.raises(ReplayError) as info:
        await replay(transport, [FormatChecker(version_name="ok")])
    assert info.value.reason == "no_input" and "generations" in info.value.message
    with pytest.raises(ReplayError) as info:
        await diff_versions(transport, "live", "nope")
    assert info.value.reason == "unknown_version"


# -- the CLI: killed mid-way, resumed, same result as uninterrupted ---------------------------


def _config_file(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f'out = "{tmp / name}"\n[log]\npath = "{tmp / name}.db"\n'
        "[format]\nmin_parallel_calls = 3\nmax_query_chars = 200\n"
    )
    return path


N_CLI = 4_000


async def _seed_live(tmp: Path, name: str) -> None:
    transport = EmbeddedTransport(tmp / f"{name}.db")
    try:
        await seed_generations(transport, N_CLI)
        await run_bounded(
            FormatChecker(LIVE_RULES),
            transport,
            group="format",
            input_topic=Topic.GENERATIONS,
            settings=SETTINGS,
        )
    finally:
        await transport.aclose()


def _cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "streamer", *map(str, args)]


async def _versioned_ids(transport: Transport, version: str) -> tuple[set[str], int]:
    """Distinct event ids in the version's topics, and how many records hold them."""
    ids: set[str] = set()
    records = 0
    for base in (Topic.FORMAT_PASS, Topic.REJECTS):
        topic = Topic.versioned(base, version)
        async with transport.consumer([topic], f"ids-{uuid.uuid4().hex}") as consumer:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            end = sum((await consumer.end_offsets(tps)).values())
            seen = 0
            while seen < end:
                batch = await consumer.poll(5000, 1.0)
                seen += len(batch)
                ids.update(orjson.loads(r.value)["meta"]["id"] for r in batch)
        records += end
    return ids, records


@pytest.mark.slow
async def test_cli_replay_killed_midway_resumes_to_the_uninterrupted_result(
    tmp_path: Path,
) -> None:
    for name in ("whole", "killed"):
        await _seed_live(tmp_path, name)
    version = FormatChecker(STRICT_RULES, version_name="strict-v2").version
    group = replay_group("format", version)
    replay_args = ("replay", "--stage", "format", "--version", "strict-v2")

    whole = await anyio.run_process(
        _cli(*replay_args, "--config", _config_file(tmp_path, "whole")), check=False
    )
    assert whole.returncode == 0, whole.stderr.decode()
    assert whole.stdout.decode().strip().endswith(version)

    killed_cfg = _config_file(tmp_path, "killed")
    killed_log = EmbeddedTransport(tmp_path / "killed.db")
    try:
        live_offsets = await killed_log.group_offsets("format")
        async with await anyio.open_process(_cli(*replay_args, "--config", killed_cfg)) as proc:
            with anyio.fail_after(120):
                while not await killed_log.group_offsets(group) and proc.returncode is None:
                    await anyio.sleep(0.02)
            proc.kill()
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the replay finished before it was killed"
        assert 0 < sum((await killed_log.group_offsets(group)).values()) < N_CLI
        resumed = await anyio.run_process(_cli(*replay_args, "--config", killed_cfg), check=False)
        assert resumed.returncode == 0, resumed.stderr.decode()
        ids_killed, records_killed = await _versioned_ids(killed_log, version)
        offsets_killed = await killed_log.group_offsets(group)
        assert await killed_log.group_offsets("format") == live_offsets
    finally:
        await killed_log.aclose()

    whole_log = EmbeddedTransport(tmp_path / "whole.db")
    try:
        ids_whole, records_whole = await _versioned_ids(whole_log, version)
        assert await whole_log.group_offsets(group) == offsets_killed
    finally:
        await whole_log.aclose()
    assert records_whole == len(ids_whole) == N_CLI
    assert ids_killed == ids_whole
    assert records_killed >= N_CLI  # the uncommitted tail may be produced twice, same ids

    reports = []
    for name in ("whole", "killed"):
        config = tmp_path / f"{name}.toml"
        out = await anyio.run_process(
            _cli("diff", "live", "strict-v2", "--json", "--config", config), check=False
        )
        assert out.returncode == 0, out.stderr.decode()
        reports.append(orjson.loads(out.stdout))
    assert reports[0] == reports[1]
    to_fail, to_pass, _, _ = expected_flips(N_CLI, _format_bucket)
    (fmt,) = reports[0]["stages"]
    assert fmt["pass_to_fail"] == dict(to_fail)
    assert fmt["fail_to_pass"] == dict(to_pass)
