"""An in-process fake of the log for fast unit tests of stages.

Same semantics as the embedded and Kafka transports (partitioning, consumer groups with
cooperative rebalancing, commits, seeks, pause), through the same consumer client
(:mod:`topics._group`); nothing is persisted and nothing expires. Use it from one event loop.

Usage::

    transport = MemoryTransport()
    await transport.create_topics(["samples"], partitions=2)
    async with transport.producer() as producer:
        await producer.produce([Message("samples", b"v", key=b"k")])
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Self

import anyio

from ._errors import TopicNotFound, TransportError
from ._group import GroupConsumer, SyncResult, Wakeup
from ._partitioning import assign, partition_for_key
from ._transport import Message, PartitionListener, Record, TopicPartition

__all__ = ["MemoryTransport"]


@dataclass(slots=True)
class _Group:
    generation: int = 0
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    owners: dict[TopicPartition, str] = field(default_factory=dict)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)


class MemoryTransport:
    """In-memory :class:`~topics.Transport`. Producing to or subscribing to a missing topic
    creates it with ``default_partitions`` partitions (None: raise :class:`TopicNotFound`)."""

    def __init__(self, *, default_partitions: int | None = 1) -> None:
        self._default_partitions = default_partitions
        self._logs: dict[str, list[list[Record]]] = {}
        self._groups: dict[str, _Group] = {}
        self._wakeup = Wakeup()

    def __repr__(self) -> str:
        records = sum(len(p) for parts in self._logs.values() for p in parts)
        return (
            f"<MemoryTransport topics={len(self._logs)} records={records} "
            f"groups={sorted(self._groups)}>"
        )

    # -- transport --------------------------------------------------------------------------

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        for topic in topics:
            self._logs.setdefault(topic, [[] for _ in range(partitions)])

    async def list_topics(self) -> dict[str, int]:
        return {topic: len(parts) for topic, parts in self._logs.items()}

    def producer(self) -> _MemoryProducer:
        return _MemoryProducer(self)

    def consumer(
        self,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        on_assign: PartitionListener | None = None,
        on_revoke: PartitionListener | None = None,
    ) -> GroupConsumer:
        member = uuid.uuid4().hex
        session = _MemorySession(self, group, member, frozenset(topics), auto_offset_reset)
        return GroupConsumer(
            session,
            kind="MemoryConsumer",
            group=group,
            member=member,
            on_assign=on_assign,
            on_revoke=on_revoke,
        )

    async def aclose(self) -> None:
        self._notify()

    async def list_groups(self) -> list[str]:
        """Groups with members or committed offsets."""
        await anyio.lowlevel.checkpoint()
        return sorted(g for g, s in self._groups.items() if s.members or s.offsets)

    async def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        await anyio.lowlevel.checkpoint()
        state = self._groups.get(group)
        return dict(state.offsets) if state is not None else {}

    async def delete_group(self, group: str) -> None:
        """Forget ``group``'s committed offsets. Raises if it still has members."""
        state = self._groups.get(group)
        if state is not None and state.members:
            raise TransportError(f"group {group!r} still has members")
        self._groups.pop(group, None)
        await anyio.lowlevel.checkpoint()

    # -- internals ----------------------------------------------------------------------------

    def _log(self, topic: str) -> list[list[Record]]:
        parts = self._logs.get(topic)
        if parts is None:
            if self._default_partitions is None:
                raise TopicNotFound(f"topic {topic!r} does not exist")
            parts = self._logs[topic] = [[] for _ in range(self._default_partitions)]
        return parts

    def _group(self, group: str) -> _Group:
        return self._groups.setdefault(group, _Group())

    def _notify(self) -> None:
        self._wakeup.notify()


class _MemoryProducer:
    def __init__(self, transport: MemoryTransport) -> None:
        self._transport = transport
        self._round_robin: dict[str, itertools.count[int]] = {}

    def __repr__(self) -> str:
        return f"<MemoryProducer topics={sorted(self._round_robin)}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def produce(self, messages: Sequence[Message]) -> None:
        now_ms = time.time_ns() // 1_000_000
        logs = [self._transport._log(m.topic) for m in messages]  # validate before appending
        for message, parts in zip(messages, logs, strict=True):
            if message.key is None:
                counter = self._round_robin.setdefault(message.topic, itertools.count())
                p = next(counter) % len(parts)
            else:
                p = partition_for_key(message.key, len(parts))
            log = parts[p]
            ts = now_ms if message.timestamp_ms is None else message.timestamp_ms
            log.append(Record(message.topic, p, len(log), message.key, message.value, ts))
        if messages:
            self._transport._notify()
        await anyio.lowlevel.checkpoint()


class _MemorySession:
    def __init__(
        self,
        transport: MemoryTransport,
        group: str,
        member: str,
        topics: frozenset[str],
        reset: Literal["earliest", "latest"],
    ) -> None:
        self._t = transport
        self._group_name = group
        self._member = member
        self._topics = topics
        self._reset = reset

    @property
    def _group(self) -> _Group:
        return self._t._group(self._group_name)

    def _bump(self) -> None:
        self._group.generation += 1
        self._t._notify()

    async def join(self) -> None:
        for topic in self._topics:
            self._t._log(topic)
        self._group.members[self._member] = self._topics
        self._bump()
        await anyio.lowlevel.checkpoint()

    async def leave(self, owned: frozenset[TopicPartition]) -> None:
        g = self._group
        for tp in [tp for tp, m in g.owners.items() if m == self._member]:
            del g.owners[tp]
        g.members.pop(self._member, None)
        self._bump()

    async def sync(self, owned: frozenset[TopicPartition]) -> SyncResult:
        await anyio.lowlevel.checkpoint()
        g = self._group
        if self._member not in g.members:
            g.members[self._member] = self._topics
            self._bump()
        counts = {t: len(parts) for t, parts in self._t._logs.items()}
        target = assign(g.members, counts)[self._member]
        mine = {tp for tp, m in g.owners.items() if m == self._member}
        claimed: dict[TopicPartition, int] = {}
        # A partition this member held but lost (it expired) is revoked before it is
        # claimed again, so the new position comes from what on_revoke commits.
        for tp in sorted(target - mine - owned):
            if tp not in g.owners:
                g.owners[tp] = self._member
                start = g.offsets.get(tp)
                if start is None:
                    start = 0 if self._reset == "earliest" else self._end(tp)
                claimed[tp] = start
        lost = owned - (target & mine)
        pending = frozenset(target - mine - claimed.keys())
        return SyncResult(g.generation, claimed, frozenset(lost), pending)

    async def release(self, tps: frozenset[TopicPartition]) -> None:
        g = self._group
        for tp in tps:
            if g.owners.get(tp) == self._member:
                del g.owners[tp]
        self._t._notify()

    def _end(self, tp: TopicPartition) -> int:
        return len(self._t._log(tp.topic)[tp.partition])

    async def fetch(
        self,
        generation: int,
        pending: frozenset[TopicPartition],
        positions: Mapping[TopicPartition, int],
        max_records: int,
    ) -> list[Record] | None:
        await anyio.lowlevel.checkpoint()
        g = self._group
        if generation != g.generation or any(tp not in g.owners for tp in pending):
            return None
        out: list[Record] = []
        for tp, position in positions.items():
            room = max_records - len(out)
            if room <= 0:
                break
            out.extend(self._t._logs[tp.topic][tp.partition][position : position + room])
        return out

    async def wait(self, timeout_s: float) -> None:
        await self._t._wakeup.wait(timeout_s)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        g = self._group
        for tp in offsets:
            owner = g.owners.get(tp)
            if owner is not None and owner != self._member:
                raise TransportError(
                    f"commit failed: {tp.topic}[{tp.partition}] is now owned by another member"
                )
        g.offsets.update(offsets)
        await anyio.lowlevel.checkpoint()

    async def committed(self, tp: TopicPartition) -> int | None:
        await anyio.lowlevel.checkpoint()
        return self._group.offsets.get(tp)

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        await anyio.lowlevel.checkpoint()
        return {tp: self._end(tp) for tp in tps}

    async def offset_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        await anyio.lowlevel.checkpoint()
        log = self._t._log(tp.topic)[tp.partition]
        return next((r.offset for r in log if r.timestamp_ms >= timestamp_ms), len(log))

    async def close(self) -> None:
        pass
