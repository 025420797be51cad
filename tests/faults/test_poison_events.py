"""Poison events on every topic: garbage bytes, JSON of the wrong shape or type, events of
another topic, unreadable schema versions, absurd nesting and huge events. Each becomes one
``malformed_event`` reject naming where it came from, and the stage keeps serving: a valid
event sent after the poison still gets through."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import orjson
import pytest

from streamer.dataset._store import DatasetStore
from streamer.runtime._runner import RunnerSettings, StageRunner
from topics import (
    PIPELINE,
    EmbeddedTransport,
    Event,
    KafkaTransport,
    MalformedEvent,
    Message,
    Reject,
    Transport,
    decode,
    encode,
)

from ._chain import build_chain, pipeline_config

HUGE_BYTES = 900 * 1024
"""Just under Kafka's default 1 MiB message limit, so the broker accepts the poison itself."""

MAX_REJECT_BYTES = 256 * 1024
"""A reject of a poison event must stay far below the log's message limit."""


def _poison(other: Event) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) of each poison; ``other`` is a valid event of another topic's type."""
    yield "garbage", b"\xff\xfe\x00garbage\x80\x81"
    yield "empty", b""
    yield "null", b"null"
    yield "list", b"[1, 2, 3]"
    yield "string", b'"a string"'
    yield "number", b"12"
    yield "wrong_meta_type", b'{"meta": 5}'
    yield "meta_fields_wrong", b'{"meta": {"id": 1, "sample_id": []}}'
    yield "other_event_type", encode(other)
    data = orjson.loads(encode(other))
    data["meta"]["schema_version"] = 999
    yield "future_schema", orjson.dumps(data)
    yield "deep_nesting", b"[" * 100_000
    yield "huge", b'{"pad": "' + b"x" * HUGE_BYTES + b'"}'


OUTPUT = {
    "generator": "generations",
    "format": "format-pass",
    "execution": "exec-pass",
    "semantic": "semantic-pass",
}


def _output_ok(name: str, outs: list[bytes], want: Event) -> bool:
    """The valid event sent after the poison came through (the sinks write no topic)."""
    if name not in OUTPUT:
        return True
    return any(orjson.loads(v)["meta"]["parent_id"] == want.meta.id for v in outs)


async def _run_case(transport: Transport, out: Path, suffix: str) -> None:
    """Each stage reads ``<its topic>.<suffix>`` and writes ``<topic>.<suffix>``, so runs on
    a shared broker see only their own events."""
    config = pipeline_config(out)

    def topic(name: str) -> str:
        return f"{name}.{suffix}"

    await transport.create_topics([topic(t) for t in PIPELINE], 1)
    async with AsyncExitStack() as stack:
        chain = await build_chain(config, stack)
        for name, stage in chain.stages.items():
            want = chain.inputs[name]
            other = chain.inputs["funnel" if name != "funnel" else "generator"]
            poison = list(_poison(other))
            source = topic(stage.input_topic)
            async with transport.producer() as producer:
                await producer.produce([Message(source, v) for _, v in poison])
                await producer.produce([Message(source, encode(want))])
            runner = StageRunner(
                stage,
                transport,
                group=f"poison-{suffix}-{name}",
                settings=RunnerSettings(concurrency=4),
                input_topic=source,
                output_topic=topic,
            )
            rejects: list[Reject] = []
            outputs: list[bytes] = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(runner.run)
                sinks = [topic("rejects")] + ([topic(OUTPUT[name])] if name in OUTPUT else [])
                async with transport.consumer(sinks, f"probe-{suffix}-{name}") as probe:
                    with anyio.fail_after(60):
                        while len(rejects) < len(poison) or not _output_ok(name, outputs, want):
                            for r in await probe.poll(500, 0.2):
                                if r.topic != topic("rejects"):
                                    outputs.append(r.value)
                                    continue
                                try:
                                    reject = decode(r.value, Reject)
                                except MalformedEvent:
                                    assert name == "funnel"  # the funnel's own poison input
                                    continue
                                assert len(r.value) < MAX_REJECT_BYTES, name
                                if reject.meta.stage == name and reject.reason == "malformed_event":
                                    rejects.append(reject)
                with anyio.fail_after(60):
                    while runner.stats.consumed < len(poison) + 1 or runner.in_flight:
                        await anyio.sleep(0.05)
                runner.stop()
            assert len(rejects) == len(poison), name
            for (label, _), reject in zip(poison, rejects, strict=True):
                assert reject.input_topic == source, (name, label)
                assert f"{source}[0]@" in reject.message, (name, label, reject.message)
                assert reject.meta.sample_id == "" and reject.pair_index == -1
        store = DatasetStore(out / "dataset.db", near_threshold=0)
        try:
            assert [r.id for r in store.records()] == [chain.inputs["sink"].meta.id]
            assert "test" in {row.reason for row in store.funnel()}
        finally:
            store.close()


@pytest.mark.slow
@pytest.mark.anyio
async def test_poison_on_every_topic_of_the_embedded_log(tmp_path: Path) -> None:
    transport = EmbeddedTransport(tmp_path / "log.db")
    try:
        await _run_case(transport, tmp_path, "t")
    finally:
        await transport.aclose()


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.anyio
async def test_poison_on_every_topic_on_kafka(tmp_path: Path, kafka_bootstrap: str) -> None:
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await _run_case(transport, tmp_path, f"poison{os.getpid()}x{time.time_ns()}")
    finally:
        await transport.aclose()
