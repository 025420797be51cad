"""The transport contract: every case runs unchanged against each transport (see conftest)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

import anyio
import pytest

from topics import Consumer, Message, Record, TopicPartition, Transport
from topics._partitioning import partition_for_key

pytestmark = pytest.mark.anyio

DEADLINE_S = 30.0
"""Upper bound of every wait; the memory and embedded transports finish far sooner."""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def produce(transport: Transport, messages: Sequence[Message]) -> None:
    async with transport.producer() as producer:
        await producer.produce(messages)


async def poll_until(
    consumers: Sequence[Consumer],
    done: Callable[[list[Record]], bool],
    *,
    timeout_s: float = DEADLINE_S,
) -> list[Record]:
    """Poll ``consumers`` in turn until ``done(records so far)``; fail at the deadline."""
    seen: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while not done(seen):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {len(seen)} records: {consumers!r}")
        for consumer in consumers:
            seen.extend(await consumer.poll(max_records=100, timeout_s=0.2))
    return seen


def count(n: int) -> Callable[[list[Record]], bool]:
    return lambda seen: len(seen) >= n


def positions(records: Sequence[Record]) -> list[tuple[str, int, int]]:
    return [(r.topic, r.partition, r.offset) for r in records]


async def test_create_topics_is_idempotent_and_listed(transport: Transport) -> None:
    a, b = unique("a"), unique("b")
    await transport.create_topics([a, b], partitions=3)
    await transport.create_topics([a], partitions=5)
    topics = await transport.list_topics()
    assert topics[a] == 3
    assert topics[b] == 3


async def test_records_come_back_in_order_per_partition(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=3)
    before_ms = time.time_ns() // 1_000_000
    messages = [Message(topic, str(i).encode(), key=f"k{i % 5}".encode()) for i in range(30)]
    await produce(transport, messages[:10])
    await produce(transport, messages[10:])
    async with transport.consumer([topic], unique("g")) as consumer:
        records = await poll_until([consumer], count(30))
    assert len(records) == 30
    by_partition: dict[int, list[Record]] = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append(r)
        assert r.topic == topic
        assert before_ms - 5_000 <= r.timestamp_ms <= time.time_ns() // 1_000_000 + 5_000
    for rs in by_partition.values():
        assert [r.offset for r in rs] == list(range(len(rs)))
    for key in {m.key for m in messages}:
        produced = [m.value for m in messages if m.key == key]
        assert [r.value for r in records if r.key == key] == produced


async def test_same_key_same_partition_as_kafka_default_partitioner(
    transport: Transport,
) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=4)
    keys = [f"sample-{i}".encode() for i in range(12)]
    await produce(transport, [Message(topic, b"1", key=k) for k in keys])
    await produce(transport, [Message(topic, b"2", key=k) for k in reversed(keys)])
    async with transport.consumer([topic], unique("g")) as consumer:
        records = await poll_until([consumer], count(24))
    for r in records:
        assert r.key is not None
        assert r.partition == partition_for_key(r.key, 4)


async def test_commit_and_resume_in_a_new_consumer(transport: Transport) -> None:
    topic, group = unique("t"), unique("g")
    await transport.create_topics([topic], partitions=1)
    await produce(transport, [Message(topic, str(i).encode()) for i in range(10)])
    tp = TopicPartition(topic, 0)
    async with transport.consumer([topic], group) as consumer:
        records = await poll_until([consumer], count(10))
        assert await consumer.committed(tp) is None
        await consumer.commit({tp: records[5].offset + 1})
        assert await consumer.committed(tp) == 6
    async with transport.consumer([topic], group) as consumer:
        assert await consumer.committed(tp) == 6
        rest = await poll_until([consumer], count(4))
    assert [r.offset for r in rest] == [6, 7, 8, 9]
    assert [r.value for r in rest] == [b"6", b"7", b"8", b"9"]


async def test_groups_read_independently(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=2)
    await produce(transport, [Message(topic, str(i).encode()) for i in range(8)])
    async with transport.consumer([topic], unique("g1")) as first:
        records = await poll_until([first], count(8))
        await first.commit({r.tp: r.offset + 1 for r in records})
    async with transport.consumer([topic], unique("g2")) as second:
        again = await poll_until([second], count(8))
    assert sorted(positions(again)) == sorted(positions(records))


async def test_seek_to_offset_beginning_and_timestamp(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=1)
    tp = TopicPartition(topic, 0)
    base_ms = time.time_ns() // 1_000_000 - 60_000
    await produce(
        transport,
        [Message(topic, str(i).encode(), timestamp_ms=base_ms + 1_000 * i) for i in range(10)],
    )
    async with transport.consumer([topic], unique("g")) as consumer:
        records = await poll_until([consumer], count(10))
        assert [r.timestamp_ms for r in records] == [base_ms + 1_000 * i for i in range(10)]

        await consumer.seek(tp, 3)
        assert (await poll_until([consumer], count(1)))[0].offset == 3

        await consumer.seek_to_beginning([tp])
        assert (await poll_until([consumer], count(1)))[0].offset == 0

        await consumer.seek_to_beginning()
        assert (await poll_until([consumer], count(1)))[0].offset == 0

        await consumer.seek_to_timestamp(base_ms + 6_500, [tp])
        assert (await poll_until([consumer], count(1)))[0].offset == 7

        await consumer.seek_to_timestamp(base_ms + 7_000)
        assert (await poll_until([consumer], count(1)))[0].offset == 7


async def test_pause_and_resume(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=2)
    keys = {partition_for_key(f"k{i}".encode(), 2): f"k{i}".encode() for i in range(20)}
    messages = [Message(topic, str(i).encode(), key=keys[i % 2]) for i in range(10)]
    await produce(transport, messages)
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    async with transport.consumer([topic], unique("g")) as consumer:
        await poll_until([consumer], lambda _: consumer.assignment() == {p0, p1})
        consumer.pause([p0])
        only_p1 = await poll_until([consumer], count(5))
        assert {r.partition for r in only_p1} == {1}
        assert await consumer.poll(max_records=100, timeout_s=0.3) == []
        assert consumer.assignment() == {p0, p1}
        consumer.resume([p0])
        now_p0 = await poll_until([consumer], count(5))
        assert {r.partition for r in now_p0} == {0}


async def test_end_offsets(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=2)
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    key = next(k for k in (f"k{i}".encode() for i in range(20)) if partition_for_key(k, 2) == 1)
    async with transport.consumer([topic], unique("g")) as consumer:
        assert await consumer.end_offsets([p0, p1]) == {p0: 0, p1: 0}
        await produce(transport, [Message(topic, b"x", key=key) for _ in range(7)])
        assert await consumer.end_offsets([p0, p1]) == {p0: 0, p1: 7}


async def test_two_consumers_split_partitions_and_see_every_record_once(
    transport: Transport,
) -> None:
    topic, group = unique("t"), unique("g")
    await transport.create_topics([topic], partitions=4)
    everything = {TopicPartition(topic, p) for p in range(4)}
    await produce(transport, [Message(topic, str(i).encode()) for i in range(40)])

    revoked: list[frozenset[TopicPartition]] = []
    assigned: list[frozenset[TopicPartition]] = []
    next_offsets: dict[TopicPartition, int] = {}

    async def commit_revoked(tps: frozenset[TopicPartition]) -> None:
        revoked.append(tps)
        await first.commit({tp: next_offsets[tp] for tp in tps if tp in next_offsets})

    async def note_assigned(tps: frozenset[TopicPartition]) -> None:
        assigned.append(tps)

    seen: list[Record] = []
    async with transport.consumer([topic], group, on_revoke=commit_revoked) as first:
        seen += await poll_until([first], count(1))
        for r in seen:
            next_offsets[r.tp] = r.offset + 1
        async with transport.consumer([topic], group, on_assign=note_assigned) as second:
            deadline = time.monotonic() + DEADLINE_S
            while not (
                len(seen) >= 40
                and first.assignment()
                and second.assignment()
                and first.assignment() | second.assignment() == everything
            ):
                assert time.monotonic() < deadline, f"{len(seen)} records; {first!r} {second!r}"
                for r in await first.poll(max_records=3, timeout_s=0.1):
                    seen.append(r)
                    next_offsets[r.tp] = r.offset + 1
                seen += await second.poll(max_records=3, timeout_s=0.1)
            assert not first.assignment() & second.assignment()
            assert revoked, "on_revoke did not run on the first member when the second joined"
            assert second.assignment() <= frozenset().union(*assigned)
    assert len(positions(seen)) == len(set(positions(seen))) == 40


async def test_leaving_hands_partitions_over(transport: Transport) -> None:
    topic, group = unique("t"), unique("g")
    await transport.create_topics([topic], partitions=2)
    everything = {TopicPartition(topic, p) for p in range(2)}
    await produce(transport, [Message(topic, str(i).encode()) for i in range(10)])
    seen: list[Record] = []
    async with transport.consumer([topic], group) as first:
        seen += await poll_until([first], count(1))
        await first.commit({r.tp: r.offset + 1 for r in seen})
        second_cm = transport.consumer([topic], group)
        second = await second_cm.__aenter__()
        try:
            seen += await poll_until(
                [first, second], lambda _: bool(first.assignment() and second.assignment())
            )
            await first.commit(_next_offsets(seen, first.assignment()))
            await second.commit(_next_offsets(seen, second.assignment()))
        finally:
            await second_cm.__aexit__(None, None, None)
        seen += await poll_until(
            [first], lambda s: len(s) + len(seen) >= 10 and first.assignment() == everything
        )
        await produce(transport, [Message(topic, str(i).encode()) for i in range(10, 14)])
        seen += await poll_until([first], count(4))
    assert len(set(positions(seen))) == len(seen) == 14
    assert {r.value for r in seen} == {str(i).encode() for i in range(14)}


def _next_offsets(
    records: Sequence[Record], tps: frozenset[TopicPartition]
) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for r in records:
        if r.tp in tps:
            offsets[r.tp] = max(offsets.get(r.tp, 0), r.offset + 1)
    return offsets


async def test_auto_offset_reset_latest_skips_existing_records(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=1)
    await produce(transport, [Message(topic, b"old") for _ in range(3)])
    async with transport.consumer([topic], unique("g"), auto_offset_reset="latest") as consumer:
        assert await consumer.poll(max_records=10, timeout_s=0.5) == []
        await produce(transport, [Message(topic, b"new"), Message(topic, b"new")])
        records = await poll_until([consumer], count(2))
    assert [r.value for r in records] == [b"new", b"new"]
    assert [r.offset for r in records] == [3, 4]


async def test_poll_waits_for_a_record_produced_meanwhile(transport: Transport) -> None:
    topic = unique("t")
    await transport.create_topics([topic], partitions=1)
    async with transport.consumer([topic], unique("g")) as consumer:
        assert await consumer.poll(max_records=10, timeout_s=0.1) == []
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce, transport, [Message(topic, b"late")])
            records = await poll_until([consumer], count(1))
    assert [r.value for r in records] == [b"late"]


async def test_group_offsets_reads_another_group_without_joining(transport: Transport) -> None:
    topic, group = unique("t"), unique("g")
    await transport.create_topics([topic], partitions=2)
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    assert await transport.group_offsets(group) == {}
    await produce(transport, [Message(topic, str(i).encode()) for i in range(10)])
    revoked: list[frozenset[TopicPartition]] = []

    async def note_revoked(tps: frozenset[TopicPartition]) -> None:
        revoked.append(tps)

    async with transport.consumer([topic], group, on_revoke=note_revoked) as member:
        records = await poll_until([member], count(10))
        await member.commit(
            {tp: 1 + max(r.offset for r in records if r.tp == tp) for tp in member.assignment()}
        )
        expected = {tp: await member.committed(tp) for tp in (p0, p1)}
        assignment = member.assignment()
        assert assignment == {p0, p1}
        for _ in range(3):
            assert await transport.group_offsets(group) == expected
        assert await member.poll(max_records=10, timeout_s=0.3) == []
        assert member.assignment() == assignment
        assert revoked == [], "reading the group's offsets made its member rebalance"
    assert await transport.group_offsets(group) == expected
    assert sum(v for v in expected.values() if v is not None) == 10
    other = unique("g")
    async with transport.consumer([topic], other) as reader:
        await poll_until([reader], count(3))
        await reader.commit({p0: 1})
    assert await transport.group_offsets(other) == {p0: 1}
    assert await transport.group_offsets(group) == expected
