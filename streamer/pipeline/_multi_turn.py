"""Run the multi-turn pipeline (``apigen run --multi-turn``; after APIGen-MT, issue 18)::

    blueprint sampler -> blueprint-tasks -> blueprint-writer -> blueprints
      -> blueprint-validator (replay on a fresh environment, review committee)
           -> blueprint-pass | rejects (+ a refined task on blueprint-tasks)
      -> interplay (simulated user and the agent, tools run on the environment)
           -> trajectories -> trajectory-checker -> trajectory-pass | rejects
      -> trajectory-sink (trajectories.db)         rejects -> funnel (dataset.db)

Every stage runs under its own runner on the same transport (the embedded log or Kafka),
so what holds for the single-turn pipeline holds here: versions, replay, exactly-once.

Models: the blueprint writer and the agent are the generators (by weight), the simulated
user is the first generator, and the review committee's seats are filled from the judges
in turn. Models with equal configurations are opened once, so a simulated endpoint plays
every part of a ``--simulate`` run and its ``/stats`` adds up to the run's rejects. The
stages are built by :mod:`._multi_turn_stages`, as ``apigen serve`` builds them.

A task is finished when its trajectory is stored or it is rejected for good: a reject of
the validator that it answered with a refined task (its ``detail`` is ``refined``) is not the
end, the refined task's outcome is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio

from topics import MULTI_TURN, Message, Reject, TrajectoryPass, Transport, encode

from ..dataset._store import DatasetStore
from ..dataset._trajectory_card import write_trajectory_card
from ..dataset._trajectory_export import export_trajectories
from ..dataset._trajectory_store import TrajectoryStore
from ..runtime._runner import StageRunner
from ..stages._blueprint_sampler import BlueprintSampler
from ..stages._blueprint_validator import REFINED
from ._build import open_transport, runner_settings
from ._config import PipelineConfig
from ._model_config import ConfigError
from ._multi_turn_stages import MultiTurnModels, build_multi_turn_stages, make_blueprint_sampler
from ._run import Progress, report_progress
from ._runs import RunStart, begin_run

__all__ = ["MultiTurnSummary", "run_multi_turn"]

log = logging.getLogger("apigen.multi_turn")

_VALIDATOR = "blueprint-validator"


@dataclass(frozen=True, slots=True)
class MultiTurnSummary:
    """What a finished multi-turn run left: ``trajectories`` kept, the exported ``files``
    by format (and the card), and the run it was."""

    progress: Progress
    trajectories: int
    files: dict[str, Path] = field(default_factory=dict)
    run: RunStart | None = None


class _Tasks:
    """Which issued tasks are finished."""

    def __init__(self) -> None:
        self.issued: set[str] = set()
        self.done: set[str] = set()
        self.changed = anyio.Event()

    def finish(self, sample_id: str) -> None:
        if sample_id in self.issued and sample_id not in self.done:
            self.done.add(sample_id)
            self.changed.set()
            self.changed = anyio.Event()

    @property
    def outstanding(self) -> int:
        return len(self.issued) - len(self.done)


async def run_multi_turn(
    config: PipelineConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: anyio.Event | None = None,
    resume: bool = False,
) -> MultiTurnSummary:
    """Run the multi-turn stages until ``config.samples`` tasks finished (or ``stop``),
    then export the trajectories and write the card."""
    if config.samples is None:
        raise ConfigError("a multi-turn run needs samples (blueprint tasks to produce)")
    if resume:
        raise ConfigError("--resume is not supported for multi-turn runs yet")
    start = None
    if not config.run_id:
        start = begin_run(config.out, resume=False)
        config = replace(config, run_id=start.run_id)
    progress = Progress()
    models = await _run_stages(config, progress, on_progress, stop)
    store = TrajectoryStore(config.out / "trajectories.db")
    funnel = DatasetStore(config.out / "dataset.db", near_threshold=0)
    try:
        files = export_trajectories(store, config.out)
        files["card"] = write_trajectory_card(
            store, funnel, config.out, models, tasks=progress.completed
        )
        kept = store.count()
    finally:
        store.close()
        funnel.close()
    if on_progress is not None:
        on_progress(progress)
    return MultiTurnSummary(progress, kept, files, start)


async def _run_stages(
    config: PipelineConfig,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    stop: anyio.Event | None,
) -> dict[str, list[str]]:
    """Run the stages; the models that played each part, by part."""
    transport = open_transport(config)
    await transport.create_topics(list(MULTI_TURN), config.partitions)
    tasks = _Tasks()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(transport.aclose)
        models = MultiTurnModels(config, stack)

        def on_trajectory(event: TrajectoryPass) -> None:
            progress.verified += 1
            progress.per_model[(event.trajectory.agent_model, "verified")] += 1
            tasks.finish(event.meta.sample_id)

        def on_reject(event: Reject) -> None:
            progress.rejected[(event.meta.stage, event.reason)] += 1
            progress.per_model[(event.model, f"fail_{event.meta.stage}")] += 1
            if event.meta.sample_id and event.detail != REFINED:
                tasks.finish(event.meta.sample_id)

        stages = await build_multi_turn_stages(
            config, stack, models=models, on_trajectory=on_trajectory, on_reject=on_reject
        )
        runners = [
            StageRunner(stage, transport, settings=runner_settings(config)) for stage in stages
        ]
        sampler = make_blueprint_sampler(config)
        parts = await models.parts()
        async with anyio.create_task_group() as tg:
            for runner in runners:
                tg.start_soon(runner.run)
            reporting = anyio.CancelScope()
            if on_progress is not None:
                tg.start_soon(report_progress, progress, on_progress, reporting)
            await _produce(config, sampler, transport, tasks, progress, stop)
            while tasks.outstanding and not (stop and stop.is_set()):
                with anyio.move_on_after(0.5):
                    await tasks.changed.wait()
                progress.completed = len(tasks.done)
            progress.completed = len(tasks.done)
            for runner in runners:
                runner.stop()
            reporting.cancel()
            tg.cancel_scope.deadline = anyio.current_time() + 60
    return parts


async def _produce(
    config: PipelineConfig,
    sampler: BlueprintSampler,
    transport: Transport,
    tasks: _Tasks,
    progress: Progress,
    stop: anyio.Event | None,
) -> None:
    """Issue ``config.samples`` tasks, keeping at most ``max_outstanding`` unfinished."""
    assert config.samples is not None
    index = 0
    async with transport.producer() as producer:
        while index < config.samples and not (stop and stop.is_set()):
            room = min(config.max_outstanding - tasks.outstanding, config.samples - index)
            if room <= 0:
                with anyio.move_on_after(0.2):
                    await tasks.changed.wait()
                progress.completed = len(tasks.done)
                continue
            batch = [sampler.task(index + i + 1) for i in range(min(room, 64))]
            await producer.produce(
                [
                    Message("blueprint-tasks", encode(t), key=t.meta.sample_id.encode())
                    for t in batch
                ]
            )
            tasks.issued.update(t.meta.sample_id for t in batch)
            index += len(batch)
            progress.issued = index
