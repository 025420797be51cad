"""``apigen serve blueprint-sampler``: the multi-turn pipeline's source as a service.

It produces the blueprint tasks ``1 .. config.samples`` of the run's
:class:`~streamer.stages._blueprint_sampler.BlueprintSampler` to ``blueprint-tasks`` and
returns. A task's id is a pure function of the sampler's version and its index, so on
start the service reads ``blueprint-tasks`` from the beginning, skips every index whose
task id is already there and produces only the rest: a restarted (or repeated) service
issues the same ids and no duplicates. With ``config.run_id`` only that run's tasks count
as produced, and the new tasks carry it.

The simplest honest form: no pacing by outcomes (the single-turn sampler service's
``max_outstanding``); the tasks wait on the topic, whose consumers bound what is in
flight. Refined tasks the validator writes to the same topic have ids of their own and
are never mistaken for sampled ones.

Usage::

    stats = await serve_blueprint_sampler(config.with_overrides(samples=200))
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import anyio
import orjson

from topics import MULTI_TURN, BlueprintTask, Message, Topic, TopicPartition, Transport, encode

from ._build import open_transport
from ._config import PipelineConfig
from ._model_config import ConfigError
from ._multi_turn_stages import make_blueprint_sampler

__all__ = ["BlueprintSamplerStats", "serve_blueprint_sampler"]

log = logging.getLogger("apigen.blueprint_sampler")

BATCH = 256
"""Tasks produced per batch at most."""


@dataclass(slots=True)
class BlueprintSamplerStats:
    """What one start of the service did: ``produced`` tasks, ``skipped`` indexes whose
    task was already on the topic."""

    produced: int = 0
    skipped: int = 0

    def __repr__(self) -> str:
        return f"<BlueprintSamplerStats produced={self.produced} skipped={self.skipped}>"


def _task_meta(value: bytes) -> tuple[str, str] | None:
    """(id, run id) of an encoded task, or None when it is not readable as one."""
    try:
        meta = orjson.loads(value).get("meta")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if not isinstance(meta, dict):
        return None
    task_id, run_id = meta.get("id"), meta.get("run_id", "")
    if not isinstance(task_id, str) or not isinstance(run_id, str):
        return None
    return task_id, run_id


async def produced_task_ids(transport: Transport, run_id: str) -> set[str]:
    """Every task id already on ``blueprint-tasks`` (read from the beginning to the end
    offsets of now, by a throwaway group); with a ``run_id``, only that run's."""
    topic = Topic.BLUEPRINT_TASKS.value
    partitions = (await transport.list_topics()).get(topic, 0)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ids: set[str] = set()
    async with transport.consumer([topic], f"blueprint-restore-{uuid.uuid4().hex}") as consumer:
        ends = await consumer.end_offsets(tps)
        positions = {tp: 0 for tp in tps}
        while any(positions[tp] < ends[tp] for tp in tps):
            for record in await consumer.poll(1000, 0.5):
                positions[record.tp] = max(positions[record.tp], record.offset + 1)
                found = _task_meta(record.value)
                if found is not None and (not run_id or found[1] == run_id):
                    ids.add(found[0])
    return ids


async def serve_blueprint_sampler(
    config: PipelineConfig, *, stop: anyio.Event | None = None
) -> BlueprintSamplerStats:
    """Produce the tasks ``1 .. config.samples`` not yet on ``blueprint-tasks`` (or until
    ``stop``); see the module docstring."""
    if config.samples is None:
        raise ConfigError("the blueprint sampler service needs samples (tasks to produce)")
    sampler = make_blueprint_sampler(config)
    transport = open_transport(config)
    stats = BlueprintSamplerStats()
    try:
        await transport.create_topics(list(MULTI_TURN), config.partitions)
        done = await produced_task_ids(transport, config.run_id)
        async with transport.producer() as producer:
            index = 1
            while index <= config.samples and not (stop and stop.is_set()):
                batch: list[BlueprintTask] = []
                while index <= config.samples and len(batch) < BATCH:
                    if sampler.task_id(index) in done:
                        stats.skipped += 1
                    else:
                        batch.append(sampler.task(index))
                    index += 1
                if batch:
                    await producer.produce(
                        [
                            Message(
                                Topic.BLUEPRINT_TASKS.value,
                                encode(t),
                                key=t.meta.sample_id.encode(),
                            )
                            for t in batch
                        ]
                    )
                    stats.produced += len(batch)
    finally:
        await transport.aclose()
    log.info("blueprint sampler finished: %r", stats)
    return stats
