"""One run, one run's data: two runs back to back on the same embedded log and on the same
Kafka topics each make exactly their own dataset; resuming is explicit."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from streamer.cli import app
from streamer.dataset._store import DatasetStore
from streamer.pipeline._build import load_library, make_sampler, open_transport
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.pipeline._runs import NoRunToResume, begin_run, recorded_run
from streamer.replay._replay import build_replay_stages, replay
from topics import FormatPass, Generation, Message, Topic, TopicPartition, decode, encode

SIMULATED = (ModelConfig(kind="simulated"),)
JUDGE = (ModelConfig(kind="simulated", seed=1),)
N = 30


def _config(out: Path, samples: int = N, **kw: object) -> PipelineConfig:
    return PipelineConfig(
        out=out, samples=samples, feedback=False, generators=SIMULATED, judges=JUDGE,
        partitions=2,
    ).with_overrides(**kw)  # fmt: skip


async def _leave_work(config: PipelineConfig, run_id: str, extra: int) -> set[str]:
    """Tasks ``N+1..N+extra`` of ``run_id`` on ``samples``, as a run killed right after
    producing them leaves them; their ids."""
    sampler = make_sampler(config.with_overrides(run_id=run_id), load_library(config))
    tasks = [sampler.next_sample() for _ in range(N + extra)][N:]
    assert {t.meta.run_id for t in tasks} == {run_id}
    transport = open_transport(config)
    try:
        async with transport.producer() as producer:
            await producer.produce(
                [Message("samples", encode(t), key=t.meta.id.encode()) for t in tasks]
            )
    finally:
        await transport.aclose()
    return {t.meta.id for t in tasks}


def _sample_ids(out: Path) -> set[str]:
    store = DatasetStore(out, near_threshold=0)
    try:
        return {r.sample_id for r in store.records()}
    finally:
        store.close()


async def _generations_of(config: PipelineConfig, run_id: str) -> int:
    transport = open_transport(config)
    count = 0
    try:
        async with transport.consumer(["generations"], f"probe-{uuid.uuid4().hex}") as consumer:
            tps = [TopicPartition("generations", p) for p in range(config.partitions)]
            want = sum((await consumer.end_offsets(tps)).values())
            seen = 0
            while seen < want:
                records = await consumer.poll(1000, 0.5)
                seen += len(records)
                count += sum(decode(r.value, Generation).meta.run_id == run_id for r in records)
    finally:
        await transport.aclose()
    return count


async def _back_to_back(first: PipelineConfig, second: PipelineConfig) -> None:
    a = await run_pipeline(first)
    assert a.run is not None and not a.run.resumed
    own_ids = _sample_ids(first.out / "dataset.db")
    leftovers = await _leave_work(first, a.run.run_id, 50)
    b = await run_pipeline(second)
    assert b.run is not None and b.run.run_id != a.run.run_id
    assert b.progress.completed == N
    assert b.progress.verified == b.records + sum(b.duplicates.values())
    # The second run's dataset holds its own tasks only: none of the leftovers.
    b_ids = _sample_ids(second.out / "dataset.db")
    assert b_ids and not b_ids & leftovers
    assert b_ids <= {make_sampler(second, load_library(second)).task_id(i) for i in range(1, N + 1)}
    # Nobody generated the first run's leftovers: its generations are its own tasks'.
    assert await _generations_of(second, a.run.run_id) <= N
    assert own_ids  # the first run made its own dataset too


@pytest.mark.anyio
async def test_two_runs_back_to_back_on_the_same_embedded_log(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = await run_pipeline(config)
    assert first.run is not None
    first_ids = _sample_ids(tmp_path / "dataset.db")
    leftovers = await _leave_work(config, first.run.run_id, 50)

    second = await run_pipeline(config)
    assert second.run is not None and second.run.run_id != first.run.run_id
    # The first run's dataset moved aside whole; the new one starts clean.
    archived = tmp_path / "runs" / first.run.run_id
    assert second.run.archived == archived
    assert _sample_ids(archived / "dataset.db") == first_ids
    assert recorded_run(tmp_path) == second.run.run_id
    assert second.progress.completed == N
    second_ids = _sample_ids(tmp_path / "dataset.db")
    assert second_ids and not second_ids & leftovers
    tasks = {make_sampler(config, load_library(config)).task_id(i) for i in range(1, N + 1)}
    assert second_ids <= tasks
    # Same config, same data: a run is reproducible, only its run id differs.
    assert second_ids == first_ids
    assert await _generations_of(config, first.run.run_id) == N  # the leftovers were not


@pytest.mark.kafka
@pytest.mark.anyio
async def test_two_runs_back_to_back_on_the_same_kafka_topics(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    namespace = f"runs-{uuid.uuid4().hex[:8]}"
    first = _config(tmp_path / "a", kafka=kafka_bootstrap, namespace=namespace)
    second = _config(tmp_path / "b", kafka=kafka_bootstrap, namespace=namespace)
    await _back_to_back(first, second)


@pytest.mark.anyio
async def test_resuming_is_explicit(tmp_path: Path) -> None:
    with pytest.raises(NoRunToResume) as caught:
        await run_pipeline(_config(tmp_path), resume=True)
    assert caught.value.reason == "no_run_to_resume"
    first = await run_pipeline(_config(tmp_path, 20))
    resumed = await run_pipeline(_config(tmp_path, 40), resume=True)
    assert first.run is not None and resumed.run is not None
    assert resumed.run.resumed and resumed.run.run_id == first.run.run_id
    assert resumed.progress.completed == 40
    assert not (tmp_path / "runs").exists()


def test_a_dataset_from_before_run_ids_resumes_as_no_run(tmp_path: Path) -> None:
    DatasetStore(tmp_path / "dataset.db").close()
    assert recorded_run(tmp_path) == ""
    start = begin_run(tmp_path, resume=True)
    assert (start.run_id, start.resumed) == ("", True)
    fresh = begin_run(tmp_path, resume=False)
    assert fresh.archived == tmp_path / "runs" / "before-run-ids"
    assert (fresh.archived / "dataset.db").exists()


@pytest.mark.anyio
async def test_a_replay_reads_the_events_of_the_run_it_names(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = await run_pipeline(config)
    second = await run_pipeline(config)
    assert first.run is not None and second.run is not None
    for run_id in (first.run.run_id, second.run.run_id):
        scoped = config.with_overrides(run_id=run_id)
        transport = open_transport(scoped)
        try:
            async with AsyncExitStack() as stack:
                stages = await build_replay_stages(scoped, stack, "format", f"r-{run_id}")
                result = await replay(transport, stages)
            topic = Topic.versioned("format-pass", result.version)
            async with transport.consumer([topic], f"probe-{run_id}") as consumer:
                tps = [TopicPartition(topic, p) for p in range(config.partitions)]
                want = sum((await consumer.end_offsets(tps)).values())
                runs: set[str] = set()
                while want > 0:
                    records = await consumer.poll(1000, 0.5)
                    want -= len(records)
                    runs |= {decode(r.value, FormatPass).meta.run_id for r in records}
        finally:
            await transport.aclose()
        assert runs == {run_id}
        assert result.stages[0].consumed == 2 * N  # both runs' generations, one run's output


def test_apigen_replay_says_which_run_it_reads(tmp_path: Path) -> None:
    anyio.run(run_pipeline, _config(tmp_path))
    run_id = recorded_run(tmp_path)
    args = ["replay", "--stage", "format", "--version", "x1", "--log", str(tmp_path / "log.db")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"replaying the events of run {run_id}" in result.output
