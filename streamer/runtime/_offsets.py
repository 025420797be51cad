"""Which input offsets may be committed when events finish out of order.

With concurrent processing inside a partition, event 7 can finish before event 5. Committing
8 then would lose 5 on a crash. :class:`OffsetTracker` therefore commits only the contiguous
run of finished offsets (Faust's rule): the committable offset of a partition is one past the
highest offset below which everything received has finished.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from topics import TopicPartition

__all__ = ["OffsetTracker"]


class _Partition:
    __slots__ = ("done", "last_committable", "pending")

    def __init__(self) -> None:
        self.pending: deque[int] = deque()
        self.done: set[int] = set()
        self.last_committable: int | None = None

    def advance(self) -> int | None:
        while self.pending and self.pending[0] in self.done:
            offset = self.pending.popleft()
            self.done.discard(offset)
            self.last_committable = offset + 1
        return self.last_committable


class OffsetTracker:
    """Tracks received and finished offsets per partition.

    Usage::

        tracker.received(tp, 5); tracker.received(tp, 6); tracker.received(tp, 7)
        tracker.finished(tp, 7); tracker.committable()  # {}: 5 and 6 still running
        tracker.finished(tp, 5); tracker.committable()  # {tp: 6}
    """

    def __init__(self) -> None:
        self._parts: dict[TopicPartition, _Partition] = {}
        self._committed: dict[TopicPartition, int] = {}
        self.in_flight = 0
        """Events received and not yet finished, over all partitions."""

    def received(self, tp: TopicPartition, offset: int) -> None:
        part = self._parts.get(tp)
        if part is None:
            part = self._parts[tp] = _Partition()
        part.pending.append(offset)
        self.in_flight += 1

    def finished(self, tp: TopicPartition, offset: int) -> None:
        """Mark ``offset`` done; ignored when ``tp`` was revoked meanwhile."""
        part = self._parts.get(tp)
        if part is None:
            return
        part.done.add(offset)
        self.in_flight -= 1

    def in_flight_of(self, tps: Iterable[TopicPartition]) -> int:
        total = 0
        for tp in tps:
            part = self._parts.get(tp)
            if part is not None:
                total += len(part.pending) - len(part.done)
        return total

    def committable(self, tps: Iterable[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """Offsets to commit now: advanced since the last :meth:`mark_committed`."""
        result: dict[TopicPartition, int] = {}
        for tp in self._parts if tps is None else tps:
            part = self._parts.get(tp)
            if part is None:
                continue
            offset = part.advance()
            if offset is not None and self._committed.get(tp) != offset:
                result[tp] = offset
        return result

    def mark_committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Drop partitions that were revoked; late completions for them are ignored."""
        for tp in tps:
            part = self._parts.pop(tp, None)
            if part is not None:
                self.in_flight -= len(part.pending) - len(part.done)
            self._committed.pop(tp, None)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{tp.topic}[{tp.partition}]: next={p.last_committable} pending={len(p.pending)}"
            for tp, p in sorted(self._parts.items())
        )
        return f"<OffsetTracker in_flight={self.in_flight} {parts}>"
