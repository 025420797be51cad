"""What the embedded and in-memory transports add beyond the contract: partitioning, topic
auto-creation, group administration, commit fencing, expiry and rejoin."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from aiokafka.partitioner import murmur2 as kafka_murmur2

from topics import (
    EmbeddedTransport,
    MemoryTransport,
    Message,
    Record,
    TopicNotFound,
    TopicPartition,
    TransportError,
)
from topics._partitioning import assign, murmur2

LocalTransport = EmbeddedTransport | MemoryTransport


@pytest.fixture(params=["memory", "embedded"])
async def local(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalTransport]:
    t: LocalTransport = (
        MemoryTransport() if request.param == "memory" else EmbeddedTransport(tmp_path / "l.db")
    )
    try:
        yield t
    finally:
        await t.aclose()


def test_murmur2_matches_the_kafka_client() -> None:
    for n in range(40):
        data = os.urandom(n)
        assert murmur2(data) == kafka_murmur2(data) & 0xFFFFFFFF


def test_assign_balances_and_respects_subscriptions() -> None:
    members = {"b": ["t", "u"], "a": ["t"], "c": ["u"]}
    result = assign(members, {"t": 4, "u": 3, "unused": 9})
    assert result == assign(dict(reversed(members.items())), {"t": 4, "u": 3})
    assert all(tp.topic == "t" for tp in result["a"])
    assert all(tp.topic == "u" for tp in result["c"])
    every = [tp for tps in result.values() for tp in tps]
    assert len(every) == len(set(every)) == 7
    assert sorted(len(tps) for tps in result.values()) == [2, 2, 3]


@pytest.mark.anyio
async def test_missing_topics_are_created_with_default_partitions(tmp_path: Path) -> None:
    for t in (
        MemoryTransport(default_partitions=3),
        EmbeddedTransport(tmp_path / "a.db", default_partitions=3),
    ):
        async with t.producer() as producer:
            await producer.produce([Message("auto", b"x")])
        assert (await t.list_topics())["auto"] == 3
        await t.aclose()


@pytest.mark.anyio
async def test_missing_topics_raise_without_default_partitions(tmp_path: Path) -> None:
    for t in (
        MemoryTransport(default_partitions=None),
        EmbeddedTransport(tmp_path / "b.db", default_partitions=None),
    ):
        async with t.producer() as producer:
            with pytest.raises(TopicNotFound):
                await producer.produce([Message("nope", b"x")])
        with pytest.raises(TopicNotFound):
            async with t.consumer(["nope"], "g"):
                pass
        await t.aclose()


@pytest.mark.anyio
async def test_delete_group_forgets_offsets_but_not_while_members_remain(
    local: LocalTransport,
) -> None:
    topic, group = uuid.uuid4().hex, uuid.uuid4().hex
    tp = TopicPartition(topic, 0)
    await local.create_topics([topic])
    async with local.consumer([topic], group) as consumer:
        await consumer.commit({tp: 5})
        assert group in await local.list_groups()
        with pytest.raises(TransportError):
            await local.delete_group(group)
    await local.delete_group(group)
    assert group not in await local.list_groups()
    async with local.consumer([topic], group) as consumer:
        assert await consumer.committed(tp) is None


@pytest.mark.anyio
async def test_commit_for_a_partition_owned_by_another_member_fails(
    local: LocalTransport,
) -> None:
    topic, group = uuid.uuid4().hex, uuid.uuid4().hex
    tp = TopicPartition(topic, 0)
    await local.create_topics([topic])
    async with local.consumer([topic], group) as owner, local.consumer([topic], group) as other:
        assert owner.assignment() == {tp}
        assert other.assignment() == frozenset()
        with pytest.raises(TransportError, match="owned by another member"):
            await other.commit({tp: 1})
        await owner.commit({tp: 1})


@pytest.mark.anyio
async def test_consumer_repr_shows_live_state(local: LocalTransport) -> None:
    topic = uuid.uuid4().hex
    await local.create_topics([topic], partitions=2)
    async with local.consumer([topic], "repr-group") as consumer:
        consumer.pause([TopicPartition(topic, 1)])
        text = repr(consumer)
    assert "group='repr-group'" in text
    assert f"{topic}[0]@0" in text
    assert f"paused=['{topic}[1]']" in text


@pytest.mark.anyio
async def test_an_expired_member_rejoins_and_resumes_from_its_commits(tmp_path: Path) -> None:
    path, topic, group = tmp_path / "e.db", "t", "g"
    transport = EmbeddedTransport(path)
    await transport.create_topics([topic], partitions=2)
    async with transport.producer() as producer:
        await producer.produce([Message(topic, str(i).encode()) for i in range(10)])
    revoked: list[frozenset[TopicPartition]] = []
    positions: dict[TopicPartition, int] = {}

    async def commit_revoked(tps: frozenset[TopicPartition]) -> None:
        revoked.append(tps)
        await consumer.commit({tp: positions[tp] for tp in tps if tp in positions})

    consumer = transport.consumer([topic], group, on_revoke=commit_revoked)
    async with consumer:
        for r in await consumer.poll(max_records=4, timeout_s=5.0):
            positions[r.tp] = r.offset + 1
        # What another member's heartbeat does to a member that went silent.
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("DELETE FROM members WHERE grp = ?", (group,))
            conn.execute("DELETE FROM owners WHERE grp = ?", (group,))
            conn.execute("UPDATE groups SET generation = generation + 1 WHERE name = ?", (group,))
        rest: list[Record] = []
        with anyio.fail_after(10):
            while len(rest) < 10 - sum(positions.values()):
                rest += await consumer.poll(max_records=100, timeout_s=1.0)
        both = {TopicPartition(topic, 0), TopicPartition(topic, 1)}
        assert revoked == [both]
        assert consumer.assignment() == both
        assert {(r.partition, r.offset) for r in rest}.isdisjoint(
            {(tp.partition, o) for tp, end in positions.items() for o in range(end)}
        )
    await transport.aclose()
