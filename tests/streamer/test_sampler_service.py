"""``apigen serve sampler`` and the seed feedback loop, on the embedded log and real Kafka."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import anyio
import orjson
import pytest

from streamer.pipeline._build import build_stage, load_library, make_sampler, open_transport
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.pipeline._sampler_service import serve_sampler
from streamer.runtime._runner import StageRunner
from topics import Sample, Topic, TopicPartition, decode

pytestmark = pytest.mark.anyio

SIMULATED = (ModelConfig(kind="simulated"),)
JUDGE = (ModelConfig(kind="simulated", seed=1),)


def _config(out: Path, samples: int, kafka: str | None = None, **more: object) -> PipelineConfig:
    return PipelineConfig(
        out=out, samples=samples, kafka=kafka, generators=SIMULATED, judges=JUDGE, partitions=2
    ).with_overrides(**more)


async def _topic(config: PipelineConfig, topic: Topic) -> list[bytes]:
    """Every record value on ``topic``, read from the beginning by a fresh group."""
    transport = open_transport(config)
    values: list[bytes] = []
    try:
        partitions = (await transport.list_topics())[topic.value]
        async with transport.consumer([topic.value], f"probe-{id(values)}") as consumer:
            tps = [TopicPartition(topic.value, p) for p in range(partitions)]
            ends = await consumer.end_offsets(tps)
            seen = dict.fromkeys(tps, 0)
            with anyio.fail_after(60):
                while any(seen[tp] < ends[tp] for tp in tps):
                    for record in await consumer.poll(1000, 0.5):
                        seen[record.tp] = max(seen[record.tp], record.offset + 1)
                        values.append(record.value)
    finally:
        await transport.aclose()
    return values


async def _sample_ids(config: PipelineConfig) -> Counter[str]:
    return Counter(orjson.loads(v)["meta"]["id"] for v in await _topic(config, Topic.SAMPLES))


async def _restart_resumes(config: PipelineConfig) -> None:
    first = await serve_sampler(config.with_overrides(samples=40))
    second = await serve_sampler(config.with_overrides(samples=70))
    assert (first.produced, first.skipped) == (40, 0)
    assert (second.produced, second.skipped) == (30, 40)
    ids = await _sample_ids(config)  # a shared broker's topic also holds other tests' tasks
    sampler = make_sampler(config, load_library(config))
    assert [ids[sampler.task_id(i)] for i in range(1, 71)] == [1] * 70  # no duplicates
    assert not any(ids[sampler.task_id(i)] for i in range(71, 200))


async def test_sampler_service_restarts_with_the_same_ids_and_no_duplicates(
    tmp_path: Path,
) -> None:
    await _restart_resumes(_config(tmp_path, 40))


@pytest.mark.kafka
async def test_sampler_service_on_kafka_restarts_without_duplicates(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    await _restart_resumes(_config(tmp_path, 40, kafka=kafka_bootstrap, seed=9911))


async def test_sampler_service_with_a_target_stops_once_that_many_pairs_are_verified(
    tmp_path: Path,
) -> None:
    """No task count: the service paces on outcomes and stops at the verified target."""
    config = replace(_config(tmp_path, 0, max_outstanding=8), samples=None, target=12)
    transport = open_transport(config)
    await transport.create_topics([t.value for t in Topic], config.partitions)
    async with AsyncExitStack() as stack, anyio.create_task_group() as tg:
        runners = [
            StageRunner(await build_stage(name, config, stack), transport)
            for name in ("generator", "format", "execution", "semantic")
        ]
        for runner in runners:
            tg.start_soon(runner.run)
        with anyio.fail_after(120):
            stats = await serve_sampler(config)
        for runner in runners:
            runner.stop()
    await transport.aclose()
    assert stats.verified >= 12
    # Paced: never more than max_outstanding tasks without an outcome, so it stopped soon
    # after the target instead of flooding the topic.
    assert stats.produced <= stats.outcomes + 8
    assert len(await _sample_ids(config)) == stats.produced


@pytest.mark.slow  # two CLI start-ups: importing the CLI costs seconds
def test_apigen_serve_sampler_subcommand(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "streamer", "serve", "sampler", "--out", str(tmp_path)]
    for samples, expected in ((12, "produced=12 skipped=0"), (20, "produced=8 skipped=12")):
        done = subprocess.run(
            [*args, "--samples", str(samples)], capture_output=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert expected in done.stderr.decode()


@pytest.mark.slow
async def test_seed_pool_grows_from_verified_data_and_later_prompts_use_it(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, 240, feedback=True, max_outstanding=16)
    summary = await run_pipeline(config)
    assert summary.progress.completed == 240
    verified = {orjson.loads(v)["meta"]["id"] for v in await _topic(config, Topic.SEMANTIC_PASS)}
    samples = [decode(v, Sample) for v in await _topic(config, Topic.SAMPLES)]
    order = {make_sampler(config, load_library(config)).task_id(i): i for i in range(1, 241)}
    samples.sort(key=lambda s: order[s.meta.id])
    sources = [{e.source_id for e in s.examples} for s in samples]
    # The pool starts empty: the first tasks carry no examples, later ones do, and every
    # example is a verified pair from this run.
    assert not any(sources[:8])
    assert sum(bool(s) for s in sources[-80:]) > 40
    used = set().union(*sources)
    assert used and used <= verified
    # The pool keeps growing: late tasks draw from more distinct verified pairs than early ones.
    early, late = set().union(*sources[:80]), set().union(*sources[-80:])
    assert len(late) > len(early) and late - early
