"""Assemble and run the pipeline: every stage in one process (``apigen run``) or one stage as
a service (``apigen serve``).

``run_pipeline`` produces tasks with the sampler while the stage runners work, tracks each
task until all its pairs reached a terminal outcome (verified or rejected), and finishes when
the configured number of tasks completed (``samples``) or enough pairs were verified
(``target``). Terminal outcomes live in the dataset store, so a run resumed on the same
output directory and log (``resume=True``) re-issues its tasks with the same ids and does
not redo them; without it a new run starts clean (:mod:`._runs`: its own run id, the
previous dataset moved aside, other runs' events on the log read past).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from topics import (
    PIPELINE,
    Message,
    Reject,
    SemanticPass,
    encode,
)

from ..dataset._export import export_dataset
from ..dataset._store import DatasetStore
from ..runtime._runner import StageRunner
from ..stages import (
    SeedFeedback,
)
from ._build import STAGE_NAMES, Built, build, open_transport, runner_settings
from ._config import PipelineConfig
from ._model_config import ConfigError
from ._processes import StageProcess, offloaded, watch
from ._runs import RunStart, begin_run

__all__ = ["Progress", "RunSummary", "report_progress", "run_pipeline"]

log = logging.getLogger("apigen.pipeline")


@dataclass(slots=True)
class Progress:
    """Live counts of a run, for the terminal display and the summary."""

    issued: int = 0
    completed: int = 0
    verified: int = 0
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_model: Counter[tuple[str, str]] = field(default_factory=Counter)
    judges: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_at


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a finished run left: ``records`` kept in the dataset, ``duplicates`` of them
    removed by kind (``exact``, ``near``), and the exported ``files`` by format."""

    progress: Progress
    records: int
    files: dict[str, Path]
    duplicates: dict[str, int] = field(default_factory=dict)
    run: RunStart | None = None


class _Completion:
    """Which issued tasks reached a terminal outcome for every pair."""

    def __init__(self, store: DatasetStore) -> None:
        self._expected: dict[str, int] = {}
        self._seen: Counter[str] = Counter()
        self._whole: set[str] = set()
        self._done: set[str] = set()
        self.changed = anyio.Event()
        for sample_id, pair_index in store.terminal_outcomes():
            self._record(sample_id, pair_index)

    def issue(self, sample_id: str, pairs: int) -> None:
        self._expected[sample_id] = pairs
        self._check(sample_id)

    def _record(self, sample_id: str, pair_index: int) -> None:
        if pair_index < 0:
            self._whole.add(sample_id)
        else:
            self._seen[sample_id] += 1

    def terminal(self, sample_id: str, pair_index: int) -> None:
        self._record(sample_id, pair_index)
        self._check(sample_id)

    def _check(self, sample_id: str) -> None:
        expected = self._expected.get(sample_id)
        if expected is None or sample_id in self._done:
            return
        if sample_id in self._whole or self._seen[sample_id] >= expected:
            self._done.add(sample_id)
            self.changed.set()
            self.changed = anyio.Event()

    @property
    def outstanding(self) -> int:
        return len(self._expected) - len(self._done)

    @property
    def done(self) -> int:
        return len(self._done)


async def run_pipeline(
    config: PipelineConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: anyio.Event | None = None,
    resume: bool = False,
) -> RunSummary:
    """Run every stage until the run's goal is reached (or ``stop``), then export.

    Without ``config.run_id`` the run is begun in ``config.out`` (:func:`._runs.begin_run`):
    a new run, or with ``resume`` the one recorded there."""
    if config.samples is None and config.target is None:
        raise ConfigError("set samples (tasks to produce) or target (verified pairs to reach)")
    start = None
    if not config.run_id:
        start = begin_run(config.out, resume=resume)
        config = replace(config, run_id=start.run_id)
    progress = Progress()
    await _run_stages(config, progress, on_progress, stop)
    # The stages, and the sink's near-duplicate index with them, are gone by now: the
    # export's memory adds to the run's baseline, not to its peak.
    store = DatasetStore(config.out / "dataset.db", near_threshold=0)
    try:
        files = export_dataset(store, config.out, judges=sorted(progress.judges))
        records = store.count()
        duplicates = store.duplicates()
    finally:
        store.close()
    if on_progress is not None:
        on_progress(progress)
    return RunSummary(progress, records, files, duplicates, start)


async def _run_stages(
    config: PipelineConfig,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    stop: anyio.Event | None,
) -> None:
    transport = open_transport(config)
    await transport.create_topics(list(PIPELINE), config.partitions)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(transport.aclose)
        completion: _Completion | None = None

        def on_record(event: SemanticPass) -> None:
            progress.verified += 1
            progress.per_model[(event.model, "verified")] += 1
            progress.judges.update(event.judgement.judges)
            if completion is not None:
                completion.terminal(event.meta.sample_id, event.pair_index)

        def on_reject(event: Reject) -> None:
            progress.rejected[(event.meta.stage, event.reason)] += 1
            progress.per_model[(event.model, f"fail_{event.meta.stage}")] += 1
            if completion is not None and event.meta.sample_id:
                completion.terminal(event.meta.sample_id, event.pair_index)

        children = [StageProcess(config, names) for names in offloaded(config.processes)]
        here = [n for n in STAGE_NAMES if not any(n in c.stages for c in children)]
        built = await build(config, stack, here, on_record=on_record, on_reject=on_reject)
        completion = _Completion(built.store)
        for child in children:
            child.start()
            stack.push_async_callback(child.stop)
        runners = [
            StageRunner(stage, transport, settings=runner_settings(config))
            for stage in built.stages.values()
        ]
        if config.feedback:
            runners.append(StageRunner(SeedFeedback(built.sampler), transport))
        async with anyio.create_task_group() as tg:
            for runner in runners:
                tg.start_soon(runner.run)
            watching = anyio.CancelScope()
            if children:
                tg.start_soon(_watch, children, watching)
            reporting = anyio.CancelScope()
            if on_progress is not None:
                tg.start_soon(report_progress, progress, on_progress, reporting)
            async with transport.producer() as producer:
                await _produce(config, built, completion, progress, producer, stop)
            while completion.outstanding and not (stop and stop.is_set()):
                with anyio.move_on_after(0.5):
                    await completion.changed.wait()
                progress.completed = completion.done
            progress.completed = completion.done
            for runner in runners:
                runner.stop()
            # The reporter never ends by itself; left running it held the group open
            # until the deadline below (a minute after every run).
            reporting.cancel()
            watching.cancel()
            tg.cancel_scope.deadline = anyio.current_time() + 60


async def _produce(
    config: PipelineConfig,
    built: Built,
    completion: _Completion,
    progress: Progress,
    producer: Any,
    stop: anyio.Event | None,
) -> None:
    """Issue tasks while the goal is not met, keeping at most ``max_outstanding`` open."""
    pairs = config.pairs
    while not (stop and stop.is_set()):
        if config.samples is not None and progress.issued >= config.samples:
            return
        if config.target is not None and built.store.count() >= config.target:
            return
        room = config.max_outstanding - completion.outstanding
        if config.samples is not None:
            room = min(room, config.samples - progress.issued)
        if room <= 0:
            with anyio.move_on_after(0.2):
                await completion.changed.wait()
            progress.completed = completion.done
            continue
        batch = [built.sampler.next_sample() for _ in range(min(room, 256))]
        await producer.produce(
            [Message("samples", encode(s), key=s.meta.sample_id.encode()) for s in batch]
        )
        for s in batch:
            completion.issue(s.meta.sample_id, pairs)
        progress.issued += len(batch)
        progress.completed = completion.done


async def _watch(children: Sequence[StageProcess], scope: anyio.CancelScope) -> None:
    with scope:
        await watch(children)


async def report_progress(
    progress: Progress, callback: Callable[[Progress], None], scope: anyio.CancelScope
) -> None:
    """Hand ``progress`` to ``callback`` every half second until ``scope`` is cancelled."""
    with scope:
        while True:
            callback(progress)
            await anyio.sleep(0.5)
