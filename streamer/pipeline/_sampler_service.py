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

Runs: with ``config.run_id`` (``apigen serve sampler --run ID``) the tasks carry that run
id, only that run's tasks on ``samples`` count as produced, and only its outcomes pace,
count and feed the pool (:class:`~._runs.RunScoped`); another run's leftovers are read
past. ``verified`` counts unique records (the dataset store's exact-duplicate key), so a
``target`` is reached by records the sink keeps, not by repeats.

Usage::

    stats = await serve_sampler(config.with_overrides(samples=10_000, kafka="broker:9092"))
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass

import anyio
import orjson

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

from ..dataset import normalize_query
from ..runtime._runner import StageRunner
from ..runtime._stage import Output, Stage
from ..stages import Sampler, SeedFeedback
from ._build import load_library, make_sampler, open_transport
from ._config import PipelineConfig
from ._model_config import ConfigError
from ._runs import RunScoped

__all__ = ["SamplerServiceStats", "serve_sampler"]

log = logging.getLogger("apigen.sampler")

BATCH = 256
"""Tasks produced per batch at most."""


@dataclass(slots=True)
class SamplerServiceStats:
    """What one run of the service did (``skipped``: indexes found already produced;
    ``verified``: verified pairs on ``semantic-pass`` with a query not seen before, those
    of earlier starts of the run included; exact duplicates, which the sink does not keep,
    are not counted)."""

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
        # 8-byte digests of normalized queries, not the queries: memory stays small.
        self._queries: set[bytes] = set()

    async def process(self, event: SemanticPass | Reject) -> list[Output]:
        self.stats.outcomes += 1
        if isinstance(event, SemanticPass):
            key = hashlib.blake2b(normalize_query(event.query).encode(), digest_size=8)
            if key.digest() not in self._queries:
                self._queries.add(key.digest())
                self.stats.verified += 1
        self._changed[0].set()
        self._changed[0] = anyio.Event()
        return []


async def _produced_ids(transport: Transport, partitions: int, run_id: str) -> set[str]:
    """Every sample id already on the ``samples`` topic (read from the beginning); with a
    ``run_id``, only that run's tasks."""
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
                if record.key and (not run_id or _run_of(record.value) == run_id):
                    ids.add(record.key.decode())
    return ids


def _run_of(value: bytes) -> str | None:
    """The run id in an encoded task's meta (None when it is not readable)."""
    try:
        meta = orjson.loads(value).get("meta", {})
        run_id = meta.get("run_id", "")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return run_id if isinstance(run_id, str) else None


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
        partitions = topics.get(Topic.SAMPLES.value, config.partitions)
        done = await _produced_ids(transport, partitions, config.run_id)
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
    stages: list[tuple[Stage, str]] = [
        (_Outcomes(stats, Topic.REJECTS, changed), f"s-rej-{run}"),
        (_Outcomes(stats, Topic.SEMANTIC_PASS, changed), f"s-ok-{run}"),
    ]
    if config.feedback:
        stages.append((SeedFeedback(sampler), f"s-seed-{run}"))
    runners = [
        StageRunner(RunScoped(stage, config.run_id) if config.run_id else stage, transport, group=g)
        for stage, g in stages
    ]
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
