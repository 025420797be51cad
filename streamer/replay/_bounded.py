"""Reading a retained topic up to a bound: what a replayed stage consumes and when it ends.

A replayed stage processes the input records present when it starts (the end offsets
then), narrowed by a :class:`Window` (``start``: earliest, an offset or a timestamp;
``until``: an offset, exclusive, or a timestamp, inclusive). :func:`run_bounded` runs one
stage through the ordinary :class:`~streamer.StageRunner` over such a window, under its
own consumer group, and stops when every assigned partition is covered; a requested start
that retention already deleted is reported (:mod:`._expired`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Self

import anyio

from topics import (
    Consumer,
    PartitionListener,
    Producer,
    Record,
    TopicPartition,
    Transport,
)

from ..runtime._runner import RunnerSettings, StageRunner
from ..runtime._stage import Stage
from ._errors import ReplayError
from ._expired import ExpiredStart, expired_start

__all__ = ["Bound", "StageReplay", "Window", "run_bounded"]

log = logging.getLogger("apigen.replay")


@dataclass(frozen=True, slots=True)
class Bound:
    """A position in every partition: an ``offset`` or a ``timestamp_ms`` (milliseconds since
    the Unix epoch); neither means the open end (earliest for a start, the end for an until).

    >>> Bound.parse("earliest"), Bound.parse("120").offset
    (Bound(offset=None, timestamp_ms=None), 120)
    >>> Bound.parse("2024-05-01T00:00:00Z").timestamp_ms
    1714521600000
    """

    offset: int | None = None
    timestamp_ms: int | None = None

    @classmethod
    def parse(cls, text: str, *, option: str = "--from") -> Self:
        """``earliest``/``end``, an offset (non-negative integer) or an ISO 8601 timestamp
        (UTC unless it names a zone)."""
        text = text.strip()
        if text in ("earliest", "end", ""):
            return cls()
        if text.isdigit():
            return cls(offset=int(text))
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ReplayError(
                "invalid_position",
                f"{option} {text!r}: expected earliest/end, an offset or an ISO 8601 timestamp",
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return cls(timestamp_ms=int(when.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class Window:
    """Which input records a replay processes: from ``start`` (inclusive) to ``until``
    (offsets exclusive, timestamps inclusive), and never past the end offsets that held when
    the stage started."""

    start: Bound = field(default_factory=Bound)
    until: Bound = field(default_factory=Bound)

    def admits(self, record: Record) -> bool:
        s, u = self.start, self.until
        if s.offset is not None and record.offset < s.offset:
            return False
        if s.timestamp_ms is not None and record.timestamp_ms < s.timestamp_ms:
            return False
        return u.timestamp_ms is None or record.timestamp_ms <= u.timestamp_ms


class _Progress:
    """What a bounded consumer has covered, per partition; ``done`` once every partition of
    the input is covered up to its stop offset and everything kept below it is committed."""

    def __init__(self, partitions: frozenset[TopicPartition], window: Window) -> None:
        self.partitions = partitions
        self.window = window
        self.stop: dict[TopicPartition, int] = {}
        self.frontier: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.last_kept: dict[TopicPartition, int] = {}
        self.expected_first: dict[TopicPartition, int] = {}
        self.expired: list[ExpiredStart] = []
        self.done = anyio.Event()

    def first_record(self, tp: TopicPartition, offset: int) -> None:
        """Note the first record read from ``tp``: if it is past the requested start,
        retention deleted the records in between (see :func:`expired_start`)."""
        requested = self.expected_first.pop(tp, None)
        if requested is None:
            return
        gap = expired_start(tp, requested, offset, self.stop.get(tp, offset))
        if gap is not None:
            log.warning("%s", gap.message())
            self.expired.append(gap)

    def covered(self, tp: TopicPartition) -> bool:
        stop = self.stop.get(tp)
        if stop is None:
            return False
        committed = self.committed.get(tp, -1)
        if max(self.frontier.get(tp, -1), committed) < stop:
            return False
        kept = self.last_kept.get(tp)
        return kept is None or committed > kept

    def check(self) -> None:
        if not self.done.is_set() and all(self.covered(tp) for tp in self.partitions):
            self.done.set()

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{tp.partition}: {self.committed.get(tp)}/{self.stop.get(tp)}"
            for tp in sorted(self.partitions)
        )
        return f"<replay progress done={self.done.is_set()} committed/stop {{{parts}}}>"


class _BoundedConsumer:
    """A consumer that hands the runner only the window's records below the stop offsets,
    and reports through :class:`_Progress` when the runner has committed all of them."""

    def __init__(
        self,
        transport: Transport,
        topics: Sequence[str],
        group: str,
        progress: _Progress,
        on_assign: PartitionListener | None,
        on_revoke: PartitionListener | None,
    ) -> None:
        self._progress = progress
        self._on_assign = on_assign
        self._finished: set[TopicPartition] = set()
        self._inner = transport.consumer(
            topics, group, on_assign=self._assigned, on_revoke=on_revoke
        )

    async def _assigned(self, tps: frozenset[TopicPartition]) -> None:
        p, inner = self._progress, self._inner
        new = sorted(tp for tp in tps if tp not in p.stop)
        ends = await inner.end_offsets(new) if new else {}
        start = p.window.start.offset
        until = p.window.until.offset
        for tp in new:
            p.stop[tp] = ends[tp] if until is None else min(ends[tp], until)
            committed = await inner.committed(tp)
            if committed is not None:
                p.committed[tp] = committed
            elif start is not None:
                await inner.seek(tp, start)
                p.frontier[tp] = start
                p.expected_first[tp] = start
            else:
                if p.window.start.timestamp_ms is None:
                    p.expected_first[tp] = 0
                if ends[tp] == 0:
                    p.frontier[tp] = 0
        for tp in tps:
            if p.covered(tp):
                self._finish(tp)
        if self._on_assign is not None:
            await self._on_assign(tps)
        p.check()

    def _finish(self, tp: TopicPartition) -> None:
        self._finished.add(tp)
        if tp in self._inner.assignment():
            self._inner.pause([tp])

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        p = self._progress
        records = await self._inner.poll(max_records, timeout_s)
        kept: list[Record] = []
        for r in records:
            tp = r.tp
            p.first_record(tp, r.offset)
            p.frontier[tp] = max(p.frontier.get(tp, 0), r.offset + 1)
            stop = p.stop.get(tp)
            if stop is None or r.offset >= stop:
                self._finish(tp)
                continue
            if p.window.admits(r):
                kept.append(r)
                p.last_kept[tp] = r.offset
        for tp in {r.tp for r in records}:
            if tp not in self._finished and p.covered(tp):
                self._finish(tp)
        p.check()
        return kept

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        await self._inner.commit(offsets)
        p = self._progress
        for tp, offset in offsets.items():
            p.committed[tp] = max(p.committed.get(tp, 0), offset)
        p.check()

    async def committed(self, tp: TopicPartition) -> int | None:
        return await self._inner.committed(tp)

    def assignment(self) -> frozenset[TopicPartition]:
        return self._inner.assignment()

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        await self._inner.seek(tp, offset)

    async def seek_to_beginning(self, tps: Sequence[TopicPartition] = ()) -> None:
        await self._inner.seek_to_beginning(tps)

    async def seek_to_timestamp(
        self, timestamp_ms: int, tps: Sequence[TopicPartition] = ()
    ) -> None:
        await self._inner.seek_to_timestamp(timestamp_ms, tps)

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        self._inner.pause(tps)

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        self._inner.resume([tp for tp in tps if tp not in self._finished])

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        return await self._inner.end_offsets(tps)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    def __repr__(self) -> str:
        return f"<BoundedConsumer {self._progress!r} inner={self._inner!r}>"


class _BoundedTransport:
    """The transport a replayed runner sees: its consumers are bounded (one per run)."""

    def __init__(self, inner: Transport, progress: _Progress) -> None:
        self._inner = inner
        self._progress = progress

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        await self._inner.create_topics(topics, partitions)

    async def list_topics(self) -> dict[str, int]:
        return await self._inner.list_topics()

    async def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        return await self._inner.group_offsets(group)

    def producer(self) -> Producer:
        return self._inner.producer()

    def consumer(
        self,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        on_assign: PartitionListener | None = None,
        on_revoke: PartitionListener | None = None,
    ) -> Consumer:
        return _BoundedConsumer(self._inner, topics, group, self._progress, on_assign, on_revoke)

    async def aclose(self) -> None:
        """The wrapped transport belongs to the caller: nothing to release here."""


@dataclass(frozen=True, slots=True)
class StageReplay:
    """What one replayed runner did: events consumed, outputs produced, rejects among them."""

    stage: str
    stage_version: str
    group: str
    input_topic: str
    consumed: int
    produced: int
    rejected: int
    expired: tuple[ExpiredStart, ...] = ()


async def run_bounded(
    stage: Stage,
    transport: Transport,
    *,
    group: str,
    input_topic: str,
    output_topic: Mapping[str, str] | None = None,
    window: Window | None = None,
    settings: RunnerSettings | None = None,
) -> StageReplay:
    """Run ``stage`` in ``group`` over ``input_topic`` until every record of the window that
    was there at the start is processed and committed; ``output_topic`` renames outputs."""
    topics = await transport.list_topics()
    if input_topic not in topics:
        raise ReplayError("no_input", f"topic {input_topic!r} does not exist")
    partitions = frozenset(TopicPartition(input_topic, p) for p in range(topics[input_topic]))
    progress = _Progress(partitions, window or Window())
    renames = dict(output_topic or {})
    runner = StageRunner(
        stage,
        _BoundedTransport(transport, progress),
        group=group,
        settings=settings or RunnerSettings(commit_interval_s=0.2),
        input_topic=input_topic,
        output_topic=lambda topic: renames.get(topic, topic),
    )

    async def stop_when_done() -> None:
        await progress.done.wait()
        runner.stop()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_when_done)
        await runner.run()
        tg.cancel_scope.cancel()
    log.info("%s@%s over %s: %r", stage.name, stage.version, input_topic, progress)
    s = runner.stats
    return StageReplay(
        stage.name,
        stage.version,
        group,
        input_topic,
        s.consumed,
        s.produced,
        s.rejected,
        tuple(progress.expired),
    )
