from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from streamer.runtime._offsets import OffsetTracker
from streamer.runtime._runner import RunnerSettings, StageRunner
from streamer.runtime._stage import Output
from topics import (
    FormatPass,
    Generation,
    MemoryTransport,
    Message,
    Reject,
    Topic,
    TopicPartition,
    TransportError,
    decode,
    encode,
)

from .factories import sample


class Echo:
    """Turns each generation into a format-pass; fails on raw == 'boom'."""

    name = "echo"
    version = "echo-v1"
    input_topic = Topic.GENERATIONS
    input_type = Generation

    async def process(self, event: Generation) -> list[Output]:
        if event.raw == "boom":
            raise RuntimeError("boom")
        await anyio.lowlevel.checkpoint()
        out = FormatPass(
            meta=event.meta.child(self.name, self.version, "0"),
            sample=event.sample,
            model=event.model,
            pair_index=0,
            query=event.raw,
            calls=(),
        )
        return [Output(Topic.FORMAT_PASS, out)]


def _generation(i: int, raw: str | None = None) -> Generation:
    s = sample(sid=f"s{i}")
    return Generation(meta=s.meta.child("generator", "g", "0"), sample=s, model="m",
                      raw=raw or f"q{i}")  # fmt: skip


async def _drain(transport: MemoryTransport, topic: str, n: int) -> list[bytes]:
    values: list[bytes] = []
    async with transport.consumer([topic], f"probe-{topic}") as probe:
        with anyio.fail_after(10):
            while len(values) < n:
                values += [r.value for r in await probe.poll(500, 0.1)]
    return values


def test_only_the_contiguous_run_of_finished_offsets_is_committable() -> None:
    tp = TopicPartition("t", 0)
    tracker = OffsetTracker()
    for offset in (5, 6, 7):
        tracker.received(tp, offset)
    tracker.finished(tp, 7)
    assert tracker.committable() == {}
    tracker.finished(tp, 5)
    assert tracker.committable() == {tp: 6}
    tracker.mark_committed({tp: 6})
    assert tracker.committable() == {}
    tracker.finished(tp, 6)
    assert tracker.committable() == {tp: 8} and tracker.in_flight == 0
    tracker.received(tp, 8)
    tracker.forget([tp])
    assert tracker.in_flight == 0 and tracker.committable() == {}


@pytest.mark.anyio
async def test_processes_everything_commits_and_survives_bad_input() -> None:
    transport = MemoryTransport(default_partitions=3)
    await transport.create_topics([t.value for t in Topic], 3)
    messages = [Message("generations", encode(_generation(i)), key=f"s{i}".encode())
                for i in range(300)]  # fmt: skip
    messages.append(Message("generations", b"\xffnot json", key=b"x"))
    messages.append(Message("generations", encode(_generation(999, "boom")), key=b"y"))
    async with transport.producer() as producer:
        await producer.produce(messages)
    runner = StageRunner(
        Echo(), transport, settings=RunnerSettings(concurrency=8, max_in_flight=32)
    )

    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        passed = await _drain(transport, "format-pass", 300)
        rejects = [decode(v, Reject) for v in await _drain(transport, "rejects", 2)]
        runner.stop()
    assert len({decode(v, FormatPass).meta.id for v in passed}) == 300
    assert sorted(r.reason for r in rejects) == ["malformed_event", "stage_error"]
    assert runner.stats.consumed == 302 and runner.in_flight == 0
    async with transport.consumer(["generations"], "echo") as consumer:
        committed = [await consumer.committed(TopicPartition("generations", p)) for p in range(3)]
    assert sum(c or 0 for c in committed) == 302


@pytest.mark.anyio
async def test_stopping_right_away_and_mid_stream_loses_nothing() -> None:
    transport = MemoryTransport(default_partitions=2)
    async with transport.producer() as producer:
        await producer.produce(
            [
                Message("generations", encode(_generation(i)), key=f"s{i}".encode())
                for i in range(200)
            ]
        )
    for _ in range(20):  # start and stop repeatedly: each run drains and commits what it took
        runner = StageRunner(Echo(), transport, settings=RunnerSettings(concurrency=4))
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner.run)
            await anyio.sleep(0.001)
            runner.stop()
    runner = StageRunner(Echo(), transport)
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        passed = await _drain(transport, "format-pass", 200)
        runner.stop()
    assert len({decode(v, FormatPass).meta.sample_id for v in passed}) == 200


class _Outage:
    """While ``down``, every poll, produce and commit through the wrapped objects fails."""

    def __init__(self) -> None:
        self.down = False
        self.failures = 0

    def check(self) -> None:
        if self.down:
            self.failures += 1
            raise TransportError("the log is unreachable")


class _FlakyTransport(MemoryTransport):
    def __init__(self, outage: _Outage) -> None:
        super().__init__(default_partitions=2)
        self.outage = outage

    def producer(self) -> Any:
        inner, outage = super().producer(), self.outage

        class Flaky(type(inner)):  # type: ignore[misc]
            async def produce(self, messages: Any) -> None:
                outage.check()
                await super().produce(messages)

        inner.__class__ = Flaky
        return inner

    def consumer(self, topics: Any, group: str, **kw: Any) -> Any:
        inner, outage = super().consumer(topics, group, **kw), self.outage

        class Flaky(type(inner)):  # type: ignore[misc]
            async def poll(self, max_records: int, timeout_s: float) -> Any:
                outage.check()
                return await super().poll(max_records, timeout_s)

            async def commit(self, offsets: Any) -> None:
                outage.check()
                await super().commit(offsets)

        inner.__class__ = Flaky
        return inner


@pytest.mark.anyio
async def test_a_log_outage_is_retried_through_and_a_long_one_stops_the_runner() -> None:
    outage = _Outage()
    transport = _FlakyTransport(outage)
    async with transport.producer() as producer:
        await producer.produce([Message("generations", encode(_generation(i)), key=f"s{i}".encode())
                                for i in range(100)])  # fmt: skip
    runner = StageRunner(Echo(), transport, settings=RunnerSettings(outage_timeout_s=30))
    async with anyio.create_task_group() as tg:
        outage.down = True
        tg.start_soon(runner.run)
        await anyio.sleep(1.0)
        outage.down = False
        passed = await _drain(transport, "format-pass", 100)
        runner.stop()
    assert outage.failures >= 3  # polls really failed and were retried
    assert len({decode(v, FormatPass).meta.sample_id for v in passed}) == 100

    outage.down = True
    runner = StageRunner(Echo(), transport, settings=RunnerSettings(outage_timeout_s=0.5))
    with pytest.raises(BaseExceptionGroup) as raised, anyio.fail_after(20):
        await runner.run()
    assert raised.group_contains(TransportError, match="unreachable")
