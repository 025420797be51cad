"""KafkaTransport against the real single-node broker (tests/conftest.py, streamer.broker._kafka).

The generic Transport contract lives in test_contract.py; these tests cover what only a real
Kafka shows: group rebalances between members, commits inside ``on_revoke``, and a broker
restart in the middle of a stream.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest

from streamer.broker._kafka import LocalKafkaBroker
from topics import (
    Consumer,
    KafkaTransport,
    Message,
    Record,
    TopicNotFound,
    TopicPartition,
    TransportError,
)

pytestmark = [pytest.mark.kafka, pytest.mark.anyio]

# Short heartbeats make rebalances take ~1 s instead of ~3 s.
FAST_GROUPS: dict[str, Any] = {
    "consumer_heartbeat_interval_ms": 300,
    "consumer_session_timeout_ms": 10_000,
}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def transport(kafka_bootstrap: str) -> AsyncIterator[KafkaTransport]:
    t = KafkaTransport(kafka_bootstrap, client_id="test", **FAST_GROUPS)
    try:
        yield t
    finally:
        await t.aclose()


async def _consume(consumers: Sequence[Consumer], count: int, timeout_s: float) -> list[Record]:
    """Poll every consumer in turn, committing after each poll, until ``count`` records."""
    got: list[Record] = []
    with anyio.fail_after(timeout_s):
        while len(got) < count:
            for consumer in consumers:
                records = await consumer.poll(max_records=100, timeout_s=0.2)
                if records:
                    got.extend(records)
                    last: dict[TopicPartition, int] = {}
                    for r in records:
                        last[r.tp] = r.offset + 1
                    await consumer.commit(last)
    return got


async def test_round_trip_and_topic_admin(transport: KafkaTransport) -> None:
    topic = _name("round-trip")
    await transport.create_topics([topic], partitions=2)
    await transport.create_topics([topic], partitions=2)  # existing topics are kept
    assert (await transport.list_topics())[topic] == 2

    stamp = int(time.time() * 1000) - 60_000
    messages = [
        Message(topic, f"v{i}".encode(), key=f"k{i}".encode(), timestamp_ms=stamp + i)
        for i in range(20)
    ]
    async with transport.producer() as producer:
        await producer.produce(messages)

    group = _name("g")
    async with transport.consumer([topic], group) as consumer:
        assert consumer.assignment() == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
        records = await _consume([consumer], 20, timeout_s=30)
        assert sorted(r.value for r in records) == sorted(m.value for m in messages)
        by_value = {r.value: r for r in records}
        for m in messages:
            assert by_value[m.value].key == m.key
            assert by_value[m.value].timestamp_ms == m.timestamp_ms
        ends = await consumer.end_offsets(sorted(consumer.assignment()))
        assert sum(ends.values()) == 20
        for tp, end in ends.items():
            assert await consumer.committed(tp) == end

        # Same key, same partition; offsets within a partition are dense and ordered.
        for tp in consumer.assignment():
            offsets = [r.offset for r in records if r.tp == tp]
            assert offsets == list(range(len(offsets)))

        await consumer.seek_to_timestamp(stamp + 10)
        again = await _consume([consumer], 10, timeout_s=30)
        assert sorted(r.timestamp_ms for r in again) == [stamp + i for i in range(10, 20)]

        await consumer.seek_to_beginning()
        assert len(await _consume([consumer], 20, timeout_s=30)) == 20


async def test_missing_topic_is_topic_not_found(transport: KafkaTransport) -> None:
    with pytest.raises(TopicNotFound):
        async with transport.consumer([_name("missing")], _name("g")):
            pass


async def test_two_members_split_partitions_and_read_each_record_once(
    transport: KafkaTransport,
) -> None:
    topic, group = _name("split"), _name("g")
    await transport.create_topics([topic], partitions=4)
    async with (
        transport.consumer([topic], group) as first,
        transport.consumer([topic], group) as second,
    ):
        with anyio.fail_after(30):  # the first member's re-join completes in the background
            while len(first.assignment()) != 2:
                await anyio.sleep(0.05)
        assert not first.assignment() & second.assignment()
        assert len(first.assignment() | second.assignment()) == 4

        sent = [Message(topic, f"{i}".encode(), key=f"{i}".encode()) for i in range(400)]
        async with transport.producer() as producer:
            await producer.produce(sent)
        records = await _consume([first, second], 400, timeout_s=60)

    values = [r.value for r in records]
    assert len(values) == len(set(values)) == 400
    assert len({r.tp for r in records}) == 4


async def test_commit_in_on_revoke_is_honoured_by_the_next_owner(
    transport: KafkaTransport,
) -> None:
    topic, group = _name("revoke"), _name("g")
    await transport.create_topics([topic], partitions=4)
    async with transport.producer() as producer:
        await producer.produce([Message(topic, b"old", key=f"{i}".encode()) for i in range(100)])

    processed: dict[TopicPartition, int] = {}  # next offset to read, never committed in-loop
    revoked: list[frozenset[TopicPartition]] = []

    async def commit_on_revoke(tps: frozenset[TopicPartition]) -> None:
        revoked.append(tps)
        await first.commit({tp: processed[tp] for tp in tps if tp in processed})

    first = transport.consumer([topic], group, on_revoke=commit_on_revoke)
    async with first:
        with anyio.fail_after(30):
            while sum(processed.values()) < 100:
                for r in await first.poll(max_records=100, timeout_s=0.2):
                    processed[r.tp] = r.offset + 1
        for tp in processed:
            assert await first.committed(tp) is None

        async with transport.consumer([topic], group) as second:
            assert revoked and revoked[0] == {TopicPartition(topic, p) for p in range(4)}
            assert len(second.assignment()) == 2
            for tp in second.assignment():
                assert await second.committed(tp) == processed[tp]

            async with transport.producer() as producer:
                await producer.produce(
                    [Message(topic, b"new", key=f"{i}".encode()) for i in range(100)]
                )
            ends = await second.end_offsets(sorted(second.assignment()))
            expected = sum(end - processed[tp] for tp, end in ends.items())
            assert expected > 0
            new = await _consume([second], expected, timeout_s=30)
            assert len(new) == expected
            assert {r.value for r in new} == {b"new"}


async def test_stream_survives_a_broker_restart(own_broker: LocalKafkaBroker) -> None:
    """Producer and consumer keep going through a broker stop + start (same data dir and
    port); every acknowledged record is consumed and the group's commits survive."""
    transport = KafkaTransport(own_broker.bootstrap, client_id="restart", **FAST_GROUPS)
    topic, group = _name("restart"), _name("g")
    await transport.create_topics([topic], partitions=2)
    acknowledged: list[bytes] = []
    seen: set[bytes] = set()
    restarting, restarted, finished = anyio.Event(), anyio.Event(), anyio.Event()
    first_pid = own_broker.pid
    produced_during_outage = 0
    errors: list[TransportError] = []

    async def restart_broker() -> None:
        restarting.set()
        await anyio.to_thread.run_sync(own_broker.restart)
        restarted.set()

    async def produce(tg: anyio.abc.TaskGroup) -> None:
        nonlocal produced_during_outage
        async with transport.producer() as producer:
            for batch in range(60):
                values = [f"{batch}-{i}".encode() for i in range(10)]
                outage = restarting.is_set() and not restarted.is_set()
                while True:
                    try:
                        await producer.produce([Message(topic, v, key=v) for v in values])
                        break
                    except TransportError as e:  # not acknowledged: retrying is safe
                        errors.append(e)
                acknowledged.extend(values)
                produced_during_outage += outage
                if batch == 20:
                    tg.start_soon(restart_broker)
                await anyio.sleep(0.05)
        finished.set()

    async with transport.consumer([topic], group) as consumer, anyio.create_task_group() as tg:
        tg.start_soon(produce, tg)
        with anyio.fail_after(150):
            while not finished.is_set() or not set(acknowledged) <= seen:
                try:
                    records = await consumer.poll(max_records=200, timeout_s=0.5)
                    seen.update(r.value for r in records)
                    if records:
                        await consumer.commit({r.tp: r.offset + 1 for r in records})
                except TransportError as e:
                    errors.append(e)
                    await anyio.sleep(0.5)  # broker down; aiokafka reconnects
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            assert await consumer.committed(tp) == ends[tp]
    await transport.aclose()
    assert own_broker.pid != first_pid
    assert own_broker.log_file.read_text().count("Kafka Server started") == 2
    assert produced_during_outage > 0
    assert len(acknowledged) == 600
    assert set(acknowledged) <= seen
    print(f"restart: {produced_during_outage} batches sent during the outage; errors: {errors}")


async def test_clients_started_while_the_broker_is_down_wait_for_it(
    own_broker: LocalKafkaBroker,
) -> None:
    """A service started before its broker (or during a restart) waits for it, up to
    ``connect_timeout_s``; with no broker at all it fails with a message naming the address."""
    transport = KafkaTransport(own_broker.bootstrap, client_id="late", **FAST_GROUPS)
    topic, group = _name("late"), _name("g")
    await transport.create_topics([topic], partitions=1)
    await transport.aclose()
    own_broker.stop()

    transport = KafkaTransport(own_broker.bootstrap, client_id="late", **FAST_GROUPS)
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, own_broker.start)
        async with transport.producer() as producer:
            await producer.produce([Message(topic, b"after the outage")])
        async with transport.consumer([topic], group) as consumer:
            records = await _consume([consumer], 1, timeout_s=30)
    await transport.aclose()
    assert [r.value for r in records] == [b"after the outage"]
    assert time.monotonic() - started > 1.0  # it did wait for the broker to come up

    own_broker.stop()
    gone = KafkaTransport(own_broker.bootstrap, connect_timeout_s=1.0)
    with pytest.raises(TransportError, match=own_broker.bootstrap):
        async with gone.producer():
            pass
    await gone.aclose()


async def test_namespaces_keep_pipelines_on_one_cluster_apart(kafka_bootstrap: str) -> None:
    """Two pipelines use the same topic and group names in their own namespaces: neither
    sees the other's records, topics or commits; the cluster holds ``<namespace>.<name>``."""
    a_ns, b_ns = _name("team-a"), _name("team-b")
    a = KafkaTransport(kafka_bootstrap, namespace=a_ns, **FAST_GROUPS)
    b = KafkaTransport(kafka_bootstrap, namespace=b_ns, **FAST_GROUPS)
    plain = KafkaTransport(kafka_bootstrap)
    try:
        for transport, value in ((a, b"from a"), (b, b"from b")):
            await transport.create_topics(["samples"], partitions=2)
            async with transport.producer() as producer:
                await producer.produce([Message("samples", value, key=value)])
        assert await a.list_topics() == {"samples": 2} == await b.list_topics()
        cluster = await plain.list_topics()
        assert {f"{a_ns}.samples", f"{b_ns}.samples"} <= set(cluster)
        async with a.consumer(["samples"], "generator") as consumer:
            records = await _consume([consumer], 1, timeout_s=30)
            assert await consumer.poll(10, 0.5) == []
        assert [(r.topic, r.value) for r in records] == [("samples", b"from a")]
        committed = await a.group_offsets("generator")
        assert committed == {records[0].tp: records[0].offset + 1}
        assert await b.group_offsets("generator") == {}
        assert await plain.group_offsets(f"{a_ns}.generator") == {
            TopicPartition(f"{a_ns}.samples", records[0].partition): records[0].offset + 1
        }
    finally:
        for transport in (a, b, plain):
            await transport.aclose()
    with pytest.raises(ValueError, match="namespace"):
        KafkaTransport(kafka_bootstrap, namespace="a/b")


async def test_transactional_batches_are_read_committed(kafka_bootstrap: str) -> None:
    transport = KafkaTransport(kafka_bootstrap, client_id="txn", transactional=True)
    topic = _name("txn")
    try:
        await transport.create_topics([topic], partitions=2)
        async with transport.producer() as producer:
            for batch in range(3):
                await producer.produce(
                    [Message(topic, f"{batch}-{i}".encode(), key=b"%d" % i) for i in range(10)]
                )
        async with transport.consumer([topic], _name("g")) as consumer:
            records = await _consume([consumer], 30, timeout_s=30)
        assert sorted(r.value for r in records) == sorted(
            f"{b}-{i}".encode() for b in range(3) for i in range(10)
        )
    finally:
        await transport.aclose()
