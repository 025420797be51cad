"""Dataset sink: ``semantic-pass`` -> the dataset store; ``rejects`` -> the funnel.

Two stages share one :class:`~streamer._dataset.DatasetStore`: :class:`DatasetSink` keeps
verified pairs, :class:`FunnelSink` counts rejects. Both write idempotently (keyed by event
id), so a re-delivered event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread

from topics import Reject, SemanticPass, Topic

from .._dataset import DatasetStore
from .._metrics import pipeline_metrics
from .._stage import Output

__all__ = ["DatasetSink", "FunnelSink"]


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
        self._size = pipeline_metrics().dataset_records
        self._size.set(store.count(include_duplicates=True))

    async def process(self, event: SemanticPass) -> list[Output]:
        added = await anyio.to_thread.run_sync(self.store.add, event)
        if added:
            self._size.inc()
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

    async def process(self, event: Reject) -> list[Output]:
        added = await anyio.to_thread.run_sync(self.store.add_reject, event)
        if added and self._on_reject is not None:
            self._on_reject(event)
        return []
