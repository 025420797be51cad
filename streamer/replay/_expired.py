"""A replay's requested start that retention already deleted: which partition, where the
replay was asked to start, the earliest retained offset, and how many events are lost.

Detected from the first record a replay reads in a partition it starts fresh (no committed
offset, start ``earliest`` or an offset): offsets are never reused and retention deletes a
prefix, so a first record past the requested start means everything between expired. A
timestamp start cannot tell, and a partition whose every record expired reads nothing, so
neither is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from topics import TopicPartition

__all__ = ["ExpiredStart", "expired_start"]


@dataclass(frozen=True, slots=True)
class ExpiredStart:
    """A requested start that retention already deleted: in ``topic``/``partition`` the
    replay was asked to start at ``requested`` but the first retained record is
    ``earliest``, so ``missing`` events (those below ``earliest`` and the stop) are not
    replayed."""

    topic: str
    partition: int
    requested: int
    earliest: int
    missing: int

    def message(self) -> str:
        return (
            f"{self.topic}[{self.partition}]: the requested start offset {self.requested} "
            f"has expired from retention; the earliest retained offset is {self.earliest}, "
            f"so {self.missing:,} events are not replayed"
        )


def expired_start(
    tp: TopicPartition, requested: int, first_read: int, stop: int
) -> ExpiredStart | None:
    """The gap when the first record read from ``tp`` (``first_read``) is past the
    ``requested`` start: the records between were deleted by retention (offsets are never
    reused, so a partition's offsets are contiguous from its log start). None otherwise."""
    missing = min(first_read, stop) - requested
    if missing <= 0:
        return None
    return ExpiredStart(tp.topic, tp.partition, requested, first_read, missing)
