"""``apigen serve sampler``: the producing sampler as a service, for distributed deployments.

It produces tasks until ``config.samples`` were issued, or until ``config.target`` verified
pairs were seen on ``semantic-pass``, or with neither set until stopped; it keeps at most
``config.max_outstanding`` tasks without an outcome (verified pairs and rejects it sees on
``semantic-pass`` and ``rejects``) so that verified data can reach later prompts, and feeds
``semantic-pass`` back into its seed pool (:class:`~streamer.stages.SeedFeedback`).

Restarts: a task's id depends only on the sampler's config, the API set and its index
(:meth:`~streamer.stages.Sampler.task_id`). On start the service reads the ``samples``
topic, skips every index whose id is already there and rebuilds its seed pool from all of
``semantic-pass``; a restarted service therefore issues the same ids and no duplicates.

Usage::

    stats = await serve_sampler(config.with_overrides(samples=10_000, kafka="broker:9092"))
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import anyio

from topics import (
    PIPELINE,
    Message,
    Reject,
    Sample,
    SemanticPass,
    Topic,
    TopicPartition,
    Transport,
    encode,
)

from ..runtime._runner import StageRunner
from ..runtime._stage import Output
from ..stages import Sampler, SeedFeedback
from ._build import load_library, make_sampler, open_transport
from ._config import PipelineConfig
from ._model_config import ConfigError

__all__ = ["SamplerServiceStats", "serve_sampler"]

log = logging.getLogger("apigen.sampler")

BATCH = 256
"""Tasks produced per batch at most."""


@dataclass(slots=True)
class SamplerServiceStats:
    """What one run of the service did (``skipped``: indexes found already produced;
    ``verified``: events on ``semantic-pass``, earlier runs' included, before the sink
    removes duplicates; a count, not a set of ids, so a service that runs on keeps its memory
    flat)."""

    produced: int = 0
    skipped: int = 0
    outcomes: int = 0
    verified: int = 0

    def __repr__(self) -> str:
        return (
            f"<SamplerServiceStats produced={self.produced} skipped={self.skipped}"
            f" outcomes={self.outcomes} verified={self.verified}>"
        )


class _Outcomes:
    """Counts verified pairs and rejects (the pacing signal); feeds verified pairs back."""

    name = "sampler-outcomes"
    version = "sampler-outcomes-v1"

    def __init__(self, stats: SamplerServiceStats, topic: Topic, changed: list[anyio.Event]):
        self.stats = stats
        self.input_topic = topic
        self.input_type: type[SemanticPass] | type[Reject] = (
            SemanticPass if topic is Topic.SEMANTIC_PASS else Reject
        )
        self._changed = changed

    async def process(self, event: SemanticPass | Reject) -> list[Output]:
        self.stats.outcomes += 1
        if isinstance(event, SemanticPass):
            self.stats.verified += 1
        self._changed[0].set()
        self._changed[0] = anyio.Event()
        return []


async def _produced_ids(transport: Transport, partitions: int) -> set[str]:
    """Every sample id already on the ``samples`` topic (read from the beginning)."""
    ids: set[str] = set()
    tps = [TopicPartition(Topic.SAMPLES.value, p) for p in range(partitions)]
    async with transport.consumer(
        [Topic.SAMPLES.value], f"sampler-restore-{uuid.uuid4().hex}"
    ) as consumer:
        ends = await consumer.end_offsets(tps)
        positions = {tp: 0 for tp in tps}
        while any(positions[tp] < ends[tp] for tp in tps):
            for record in await consumer.poll(1000, 0.5):
                positions[record.tp] = max(positions[record.tp], record.offset + 1)
                if record.key:
                    ids.add(record.key.decode())
    return ids


async def serve_sampler(
    config: PipelineConfig, *, stop: anyio.Event | None = None
) -> SamplerServiceStats:
    """Produce ``config.samples`` tasks (minus those already produced), or tasks until
    ``config.target`` verified pairs exist, or tasks until ``stop``; then return."""
    if config.samples is None and config.target is None and stop is None:
        raise ConfigError("the sampler service needs samples, a target or a stop event")
    sampler = make_sampler(config, load_library(config))
    transport = open_transport(config)
    stats = SamplerServiceStats()
    try:
        await transport.create_topics(list(PIPELINE), config.partitions)
        topics = await transport.list_topics()
        done = await _produced_ids(transport, topics.get(Topic.SAMPLES.value, config.partitions))
        await _serve(config, sampler, transport, done, stats, stop)
    finally:
        await transport.aclose()
    log.info("sampler finished: %r", stats)
    return stats


async def _serve(
    config: PipelineConfig,
    sampler: Sampler,
    transport: Transport,
    done: set[str],
    stats: SamplerServiceStats,
    stop: anyio.Event | None,
) -> None:
    changed = [anyio.Event()]

    def more() -> bool:
        if config.samples is not None and sampler.issued >= config.samples:
            return False
        if config.target is not None and stats.verified >= config.target:
            return False
        return not (stop and stop.is_set())

    run = uuid.uuid4().hex  # fresh groups: read all verified data and outcomes again
    runners = [
        StageRunner(_Outcomes(stats, Topic.REJECTS, changed), transport, group=f"s-rej-{run}"),
        StageRunner(_Outcomes(stats, Topic.SEMANTIC_PASS, changed), transport, group=f"s-ok-{run}"),
    ]
    if config.feedback:
        runners.append(StageRunner(SeedFeedback(sampler), transport, group=f"s-seed-{run}"))
    async with anyio.create_task_group() as tg:
        for runner in runners:
            tg.start_soon(runner.run)
        async with transport.producer() as producer:
            while more():
                # Outcomes are per pair or per task: an approximation is enough for pacing.
                room = config.max_outstanding - (stats.produced - stats.outcomes)
                if room <= 0:
                    with anyio.move_on_after(0.2):
                        await changed[0].wait()
                    continue
                batch: list[Sample] = []
                while more() and len(batch) < min(room, BATCH):
                    sample = sampler.next_sample()
                    if sample.meta.id in done:
                        stats.skipped += 1
                    else:
                        batch.append(sample)
                if batch:
                    await producer.produce(
                        [
                            Message(Topic.SAMPLES.value, encode(s), key=s.meta.id.encode())
                            for s in batch
                        ]
                    )
                    stats.produced += len(batch)
        for runner in runners:
            runner.stop()
