"""The consumer-group client shared by the embedded and in-memory transports.

A transport supplies a :class:`GroupSession` (its storage operations); :class:`GroupConsumer`
turns it into a :class:`~topics.Consumer` with Kafka's semantics.

Rebalancing is cooperative and leaderless. Every membership change bumps the group's
*generation*. On its next ``poll`` each member notices, recomputes the target assignment
(:func:`topics._partitioning.assign`), runs ``on_revoke`` for partitions it loses (so the
caller can commit) and only then releases them; it claims target partitions nobody owns and
runs ``on_assign`` for them. A partition still held by its previous owner stays *pending*
and is claimed on a later poll, once released. So no two members ever read one partition at
the same time, and a new owner starts from the offset the old one committed on revoke.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, Self

import anyio

from ._errors import TransportError
from ._transport import PartitionListener, Record, TopicPartition

__all__ = ["GroupConsumer", "GroupSession", "SyncResult", "Wakeup"]

OffsetReset = Literal["earliest", "latest"]

_CLEANUP_TIMEOUT_S = 10.0
_EARLIEST_MS = -(1 << 63)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Outcome of one rebalance step for one member."""

    generation: int
    claimed: dict[TopicPartition, int]
    """Newly owned partitions and the position to read each from."""
    lost: frozenset[TopicPartition]
    """Partitions the member held and must give up (revoke, then release)."""
    pending: frozenset[TopicPartition] = field(default_factory=frozenset)
    """Target partitions still owned by another member."""


class GroupSession(Protocol):
    """Storage operations of one consumer (one member of one group)."""

    async def join(self) -> None:
        """Register the member (creating missing topics); bumps the generation."""
        ...

    async def leave(self, owned: frozenset[TopicPartition]) -> None:
        """Release ``owned`` and deregister the member; bumps the generation."""
        ...

    async def sync(self, owned: frozenset[TopicPartition]) -> SyncResult:
        """Rejoin if expired, compute the target assignment and claim free target partitions."""
        ...

    async def release(self, tps: frozenset[TopicPartition]) -> None: ...

    async def fetch(
        self,
        generation: int,
        pending: frozenset[TopicPartition],
        positions: Mapping[TopicPartition, int],
        max_records: int,
    ) -> list[Record] | None:
        """Records from ``positions`` on, or None when a rebalance step is due (the generation
        moved, the member expired, or a pending partition became free)."""
        ...

    async def wait(self, timeout_s: float) -> None:
        """Sleep until something may have changed, at most ``timeout_s``."""
        ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None: ...

    async def committed(self, tp: TopicPartition) -> int | None: ...

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]: ...

    async def offset_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        """First offset with timestamp >= ``timestamp_ms``, else the end offset."""
        ...

    async def close(self) -> None: ...


class GroupConsumer:
    """A member of a consumer group over a :class:`GroupSession` (see the module docstring)."""

    def __init__(
        self,
        session: GroupSession,
        *,
        kind: str,
        group: str,
        member: str,
        on_assign: PartitionListener | None,
        on_revoke: PartitionListener | None,
    ) -> None:
        self._session = session
        self._kind = kind
        self._group = group
        self._member = member
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._generation = -1
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._pending: frozenset[TopicPartition] = frozenset()
        self._rotation = 0
        self._joined = False

    def __repr__(self) -> str:
        positions = ", ".join(
            f"{tp.topic}[{tp.partition}]@{off}" for tp, off in sorted(self._positions.items())
        )
        paused = sorted(f"{tp.topic}[{tp.partition}]" for tp in self._paused)
        pending = sorted(f"{tp.topic}[{tp.partition}]" for tp in self._pending)
        return (
            f"<{self._kind} group={self._group!r} member={self._member[:8]!r} "
            f"generation={self._generation} positions={{{positions}}} "
            f"paused={paused} pending={pending}>"
        )

    async def __aenter__(self) -> Self:
        try:
            await self._session.join()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._session.close()
            raise
        self._joined = True
        try:
            await self._sync()
        except BaseException:
            await self._leave()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._leave()

    async def _leave(self) -> None:
        with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
            try:
                owned = frozenset(self._positions)
                if owned and self._on_revoke is not None:
                    await self._on_revoke(owned)
            finally:
                try:
                    if self._joined:
                        await self._session.leave(frozenset(self._positions))
                finally:
                    self._joined = False
                    self._positions.clear()
                    self._paused.clear()
                    self._pending = frozenset()
                    await self._session.close()

    async def _sync(self) -> None:
        result = await self._session.sync(frozenset(self._positions))
        self._generation = result.generation
        self._pending = result.pending
        if result.lost:
            try:
                if self._on_revoke is not None:
                    await self._on_revoke(result.lost)
            finally:
                await self._session.release(result.lost)
                for tp in result.lost:
                    self._positions.pop(tp, None)
                    self._paused.discard(tp)
        if result.claimed:
            self._positions.update(result.claimed)
            if self._on_assign is not None:
                await self._on_assign(frozenset(result.claimed))

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` records, in offset order per partition; waits up to
        ``timeout_s`` seconds for the first. Rebalance callbacks run inside ``poll``."""
        if max_records <= 0:
            raise ValueError("max_records must be positive")
        deadline = anyio.current_time() + max(timeout_s, 0.0)
        while True:
            active = [tp for tp in sorted(self._positions) if tp not in self._paused]
            if active:
                # Rotate the start so one busy partition cannot starve the others.
                k = self._rotation % len(active)
                active = active[k:] + active[:k]
                self._rotation += 1
            positions = {tp: self._positions[tp] for tp in active}
            records = await self._session.fetch(
                self._generation, self._pending, positions, max_records
            )
            if records is None:
                await self._sync()
                continue
            if records:
                for r in records:
                    self._positions[r.tp] = r.offset + 1
                return records
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return []
            await self._session.wait(remaining)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, for each partition, the next offset to read. Raises
        :class:`~topics.TransportError` for a partition another member owns now."""
        if offsets:
            await self._session.commit(dict(offsets))

    async def committed(self, tp: TopicPartition) -> int | None:
        return await self._session.committed(tp)

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(self._positions)

    def position(self, tp: TopicPartition) -> int:
        """The next offset ``poll`` returns for ``tp`` (an assigned partition)."""
        return self._positions[self._assigned(tp)]

    def _assigned(self, tp: TopicPartition) -> TopicPartition:
        if tp not in self._positions:
            raise TransportError(f"{tp.topic}[{tp.partition}] is not assigned to {self!r}")
        return tp

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        if offset < 0:
            raise ValueError("offset must be >= 0")
        self._positions[self._assigned(tp)] = offset

    async def seek_to_beginning(self, tps: Sequence[TopicPartition] = ()) -> None:
        # The first record at or after the earliest timestamp is the first one retention kept.
        await self.seek_to_timestamp(_EARLIEST_MS, tps)

    async def seek_to_timestamp(
        self, timestamp_ms: int, tps: Sequence[TopicPartition] = ()
    ) -> None:
        for tp in tps or tuple(self._positions):
            self._assigned(tp)
            self._positions[tp] = await self._session.offset_for_time(tp, timestamp_ms)

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        self._paused.update(self._assigned(tp) for tp in tps)

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        self._paused.difference_update(tps)

    def paused(self) -> frozenset[TopicPartition]:
        return frozenset(self._paused)

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        return await self._session.end_offsets(tps)


class Wakeup:
    """Wakes this process's idle pollers when a producer or a group change may have given
    them work. Bound to the event loop of its first waiter."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout_s: float) -> None:
        if self._event is None:
            self._event = anyio.Event()
        with anyio.move_on_after(timeout_s):
            await self._event.wait()
