"""Dataset sink: ``semantic-pass`` -> the dataset store; ``rejects`` -> the funnel.

Two stages share one :class:`~streamer.dataset._store.DatasetStore`: :class:`DatasetSink` keeps
verified pairs, :class:`FunnelSink` counts rejects. Both write idempotently (keyed by event
id), so a re-delivered event changes nothing.

Writes are group-committed: events that arrive together (the runner processes many at
once) are written by one worker-thread call in one transaction, instead of one thread hop
and one commit per event. ``process`` still returns only once its event is committed, so
the runner's produce-then-commit order is unchanged.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio
import anyio.to_thread

from topics import Reject, SemanticPass, Topic

from ..dataset._store import DatasetStore
from ..runtime._metrics import pipeline_metrics
from ..runtime._stage import Output

__all__ = ["DatasetSink", "FunnelSink", "GroupCommit"]

T = TypeVar("T")


class _Slot:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result = False
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Batches concurrent :meth:`submit` calls into calls of ``write`` in a worker thread.

    write: stores a batch in one transaction and returns, per item, whether it was new.
    max_batch: items per ``write`` call at most.
    linger_s: seconds the first item of a batch waits for company (0: only items that are
      already waiting join it).

    Usage::

        commit = GroupCommit(store.add_many)
        added = await commit.submit(event)   # True once committed, False if already stored
    """

    def __init__(
        self,
        write: Callable[[Sequence[T]], list[bool]],
        *,
        max_batch: int = 512,
        linger_s: float = 0.002,
    ) -> None:
        self._write = write
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._pending: list[tuple[T, _Slot]] = []
        self._flushing = False
        self.batches = 0
        self.items = 0

    def __repr__(self) -> str:
        return (
            f"<GroupCommit pending={len(self._pending)} flushing={self._flushing} "
            f"batches={self.batches} items={self.items}>"
        )

    async def submit(self, item: T) -> bool:
        """Write ``item`` (with whatever else is waiting); whether it was new."""
        slot = _Slot()
        self._pending.append((item, slot))
        if not self._flushing:
            self._flushing = True
            try:
                # Shielded: the other submitters wait on this flush, which must not stop
                # half-way because the task that happened to lead it was cancelled.
                with anyio.CancelScope(shield=True):
                    await self._flush()
            finally:
                self._flushing = False
        await slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.result

    async def _flush(self) -> None:
        if self.linger_s > 0 and len(self._pending) < self.max_batch:
            await anyio.sleep(self.linger_s)
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                results = await anyio.to_thread.run_sync(self._write, [i for i, _ in batch])
            except Exception as exc:
                for _, slot in batch:
                    slot.error = exc
                    slot.done.set()
                continue
            self.batches += 1
            self.items += len(batch)
            for (_, slot), result in zip(batch, results, strict=True):
                slot.result = result
                slot.done.set()


class DatasetSink:
    """Writes verified pairs; ``on_record`` (if given) sees every newly stored pair."""

    name = "sink"
    version = "sink-v1"
    input_topic = Topic.SEMANTIC_PASS
    input_type = SemanticPass

    def __init__(
        self, store: DatasetStore, on_record: Callable[[SemanticPass], None] | None = None
    ) -> None:
        self.store = store
        self._on_record = on_record
        self._commit = GroupCommit[SemanticPass](store.add_many)
        self._unique = 0
        # Read when scraped (on the metrics server's thread; the store locks itself): one
        # COUNT per scrape instead of one per pair, and the count of unique records, which
        # an increment per stored pair cannot know (a later pair may join a duplicate group).
        pipeline_metrics().dataset_records.set_function(self._unique_records)

    def _unique_records(self) -> float:
        with contextlib.suppress(sqlite3.Error):  # a store closed after the run: last count
            self._unique = self.store.count()
        return float(self._unique)

    async def process(self, event: SemanticPass) -> list[Output]:
        added = await self._commit.submit(event)
        if added and self._on_record is not None:
            self._on_record(event)
        return []


class FunnelSink:
    """Counts rejects per stage, reason, model and style."""

    name = "funnel"
    version = "funnel-v1"
    input_topic = Topic.REJECTS
    input_type = Reject

    def __init__(
        self, store: DatasetStore, on_reject: Callable[[Reject], None] | None = None
    ) -> None:
        self.store = store
        self._on_reject = on_reject
        self._commit = GroupCommit[Reject](store.add_rejects)

    async def process(self, event: Reject) -> list[Output]:
        added = await self._commit.submit(event)
        if added and self._on_reject is not None:
            self._on_reject(event)
        return []
