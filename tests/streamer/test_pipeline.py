"""End to end: the whole pipeline on the embedded log and on the real Kafka broker, with
stages as separate processes that are killed and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio
import orjson
import pytest

from streamer.dataset._store import DatasetStore
from streamer.pipeline._build import load_library, make_sampler, open_transport
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import run_pipeline
from topics import PIPELINE, TopicPartition

from ..faults._services import feed_samples, records, terminal

SIMULATED = (ModelConfig(kind="simulated"),)
JUDGE = (ModelConfig(kind="simulated", seed=1),)
STAGES = ("generator", "format", "execution", "semantic", "sink", "funnel")


def _config(out: Path, samples: int, kafka: str | None = None) -> PipelineConfig:
    return PipelineConfig(
        out=out,
        samples=samples,
        kafka=kafka,
        feedback=False,
        generators=SIMULATED,
        judges=JUDGE,
        partitions=4,
    )


@pytest.mark.anyio
async def test_run_on_the_embedded_log_completes_every_task(tmp_path: Path) -> None:
    summary = await run_pipeline(_config(tmp_path, 80))
    progress = summary.progress
    assert progress.issued == progress.completed == 80
    assert summary.records > 10
    assert sum(terminal(tmp_path).values()) == 80  # one terminal outcome per pair
    assert (tmp_path / "xlam.jsonl").read_text().count("\n") == summary.records
    assert "Filtering funnel" in (tmp_path / "README.md").read_text()


@pytest.mark.anyio
async def test_a_second_run_on_the_same_directory_redoes_nothing(tmp_path: Path) -> None:
    first = await run_pipeline(_config(tmp_path, 40))
    second = await run_pipeline(_config(tmp_path, 40), resume=True)
    assert second.progress.verified == 0 and not second.progress.rejected
    assert second.records == first.records
    assert sum(terminal(tmp_path).values()) == 40


@pytest.mark.kafka
@pytest.mark.anyio
async def test_kafka_and_embedded_runs_verify_the_same_dataset(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    embedded = await run_pipeline(_config(tmp_path / "embedded", 150))
    kafka_cfg = _config(tmp_path / "kafka", 150, kafka=kafka_bootstrap)
    kafka = await run_pipeline(kafka_cfg)
    assert kafka.progress.completed == 150
    assert records(tmp_path / "kafka") == records(tmp_path / "embedded")
    assert embedded.records == kafka.records > 20


@pytest.mark.kafka
def test_apigen_run_subcommand_on_kafka(tmp_path: Path, kafka_bootstrap: str) -> None:
    args = [
        sys.executable,
        "-m",
        "streamer",
        "run",
        "--simulate",
        "--samples",
        "40",
        "--no-feedback",
        "--seed",
        "7",
        "--kafka",
        kafka_bootstrap,
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(args, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    rows = (tmp_path / "xlam.jsonl").read_text().splitlines()
    assert len(rows) == len(records(tmp_path)) > 5
    assert sum(terminal(tmp_path).values()) >= 40


# --- stages as separate processes -------------------------------------------------------


def _serve(stage: str, out: Path, kafka: str | None = None) -> subprocess.Popen[bytes]:
    """A stage service; its log goes to ``<out>/<stage>-<n>.log`` (never an unread pipe)."""
    args = [sys.executable, "-m", "streamer", "serve", stage, "--out", str(out), "--simulate"]
    if kafka:
        args += ["--kafka", kafka]
    out.mkdir(parents=True, exist_ok=True)
    n = len(list(out.glob(f"{stage}-*.log")))
    with (out / f"{stage}-{n}.log").open("wb") as log:
        return subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL)


def _log(out: Path, stage: str, n: int = 0) -> str:
    return (out / f"{stage}-{n}.log").read_text()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _wait_for(out: Path, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (out / "dataset.db").exists() and sum(terminal(out).values()) >= expected:
            return
        time.sleep(0.3)
    raise AssertionError(f"only {sum(terminal(out).values())} of {expected} outcomes arrived")


@pytest.mark.slow
@pytest.mark.anyio
async def test_sigkilled_stage_restarts_without_losing_or_duplicating(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    n = 300
    reference = await run_pipeline(_config(tmp_path / "reference", n))
    out = tmp_path / "killed"
    await feed_samples(_config(out, n))
    procs = {stage: _serve(stage, out) for stage in STAGES}
    processes.extend(procs.values())
    # kill the execution stage repeatedly while events stream through it
    for _ in range(3):
        await anyio.sleep(1.5)
        procs["execution"].send_signal(signal.SIGKILL)
        procs["execution"].wait()
        procs["execution"] = _serve("execution", out)
        processes.append(procs["execution"])
    _wait_for(out, n, timeout_s=120)
    await anyio.sleep(1.0)  # let any duplicate deliveries arrive before counting
    for p in procs.values():
        p.send_signal(signal.SIGTERM)
    for p in procs.values():
        assert p.wait(timeout=60) == 0
    outcomes = terminal(out)
    assert len(outcomes) == n and set(outcomes.values()) == {1}
    assert records(out) == records(tmp_path / "reference")
    assert reference.records > 20


@pytest.mark.slow
@pytest.mark.anyio
async def test_sigterm_drains_in_flight_work_and_commits(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    n = 400
    config = _config(tmp_path, n)
    await feed_samples(config)
    generator = _serve("generator", tmp_path)
    processes.append(generator)
    with anyio.fail_after(60):
        while "started" not in _log(tmp_path, "generator"):
            await anyio.sleep(0.1)
    await anyio.sleep(0.5)
    generator.send_signal(signal.SIGTERM)
    assert generator.wait(timeout=60) == 0
    assert "stopped" in _log(tmp_path, "generator")
    # everything the generator committed was produced, and nothing produced is uncommitted
    transport = open_transport(config)
    try:
        async with transport.consumer(["samples"], "generator") as consumer:
            committed = 0
            for p in range(config.partitions):
                committed += await consumer.committed(TopicPartition("samples", p)) or 0
        async with transport.consumer(["generations", "rejects"], "probe") as probe:
            produced = 0
            with anyio.move_on_after(5):
                while True:
                    produced += len(await probe.poll(1000, 0.5))
                    if produced >= committed:
                        break
    finally:
        await transport.aclose()
    assert 0 < committed <= n
    assert produced == committed


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.anyio
async def test_two_replicas_on_kafka_share_partitions_and_process_everything_once(
    tmp_path: Path, kafka_bootstrap: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    n = 200
    config = _config(tmp_path, n, kafka=kafka_bootstrap).with_overrides(seed=4242)
    transport = open_transport(config)
    await transport.create_topics(list(PIPELINE), config.partitions)
    await transport.aclose()
    replicas = [_serve("format", tmp_path, kafka_bootstrap) for _ in range(2)]
    generator = _serve("generator", tmp_path, kafka_bootstrap)
    processes.extend([*replicas, generator])
    with anyio.fail_after(90):  # both replicas and the generator joined before work arrives
        while not all(
            "started" in _log(tmp_path, s, i)
            for s, i in (("format", 0), ("format", 1), ("generator", 0))
        ):
            await anyio.sleep(0.2)
    sampler = make_sampler(config, load_library(config))
    samples = [sampler.next_sample() for _ in range(n)]
    sample_ids = {s.meta.sample_id for s in samples}
    await feed_samples(config)
    seen: Counter[str] = Counter()
    transport = open_transport(config)
    try:
        async with transport.consumer(["format-pass", "rejects"], f"probe-{os.getpid()}") as probe:
            with anyio.move_on_after(120):
                while len(seen) < n:
                    for record in await probe.poll(1000, 0.5):
                        sid = orjson.loads(record.value)["meta"]["sample_id"]
                        if sid in sample_ids:
                            seen[sid] += 1
    finally:
        await transport.aclose()
    for p in [*replicas, generator]:
        p.send_signal(signal.SIGTERM)
    consumed = []
    for p in [*replicas, generator]:
        assert p.wait(timeout=60) == 0
    for i in range(len(replicas)):
        log = _log(tmp_path, "format", i)
        consumed.append(int(log.rsplit("consumed=", 1)[1].split()[0]))
    assert len(seen) == n and set(seen.values()) == {1}
    assert all(c > 0 for c in consumed) and sum(consumed) >= n, consumed


@pytest.mark.anyio
async def test_simulated_exec_failures_fail_execution_on_the_built_in_library(
    tmp_path: Path,
) -> None:
    """`apigen run --simulate --corrupt exec_failure=R`: the injected calls carry argument
    values the built-ins really reject, so they end as execution/function_error rejects."""
    generators = (ModelConfig(kind="simulated", corrupt={"exec_failure": 0.5}),)
    config = replace(_config(tmp_path, 80), generators=generators)
    summary = await run_pipeline(config)
    assert summary.progress.completed == 80
    store = DatasetStore(tmp_path / "dataset.db")
    funnel: Counter[tuple[str, str]] = Counter()
    try:
        for row in store.funnel():
            funnel[row.stage, row.reason] += row.count
    finally:
        store.close()
    assert funnel["execution", "function_error"] >= 25, funnel  # 19 with marker strings


@pytest.mark.anyio
async def test_the_funnel_counts_each_configured_generator_apart(tmp_path: Path) -> None:
    """Two generators whose endpoints report the same model string are two funnel rows,
    named as configured, and an LLM failure counts in the row of the generator it hit."""
    same = "simulated-same-served-model"
    generators = (
        ModelConfig(kind="simulated", name="gen-a", model=same, seed=2),
        ModelConfig(kind="simulated", name="gen-b", model=same, seed=3),
    )
    config = replace(_config(tmp_path, 60), generators=generators)
    await run_pipeline(config)
    store = DatasetStore(tmp_path / "dataset.db", near_threshold=0)
    try:
        models = Counter(row.model for row in store.funnel() for _ in range(row.count))
    finally:
        store.close()
    assert set(models) == {"gen-a", "gen-b"}
    assert min(models.values()) > 0
