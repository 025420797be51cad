"""SIGKILL each multi-turn stage (issue 18) once mid-run of ``apigen serve`` processes,
restart it, and compare with an undisturbed in-process run of the same config, simulator
seed and faults: the same trajectories (ids and bodies) and the same rejects (ids, stages
and reasons), so nothing was lost and nothing stored twice — on the embedded log and on a
real Kafka broker (a dedicated one, also restarted mid-run). The tasks enter in waves from
reruns of the blueprint sampler service (each must produce only the new ones), so every
stage has input until the end and every kill is checked to have left its stage input
still to do. Every process plays its parts with its own simulated endpoint; the stages
send seeded requests, so a restarted process gets the answers the killed one had."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from streamer.broker._kafka import LocalKafkaBroker
from streamer.llm._simroles import role_corruptions
from streamer.pipeline._build import open_transport
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._multi_turn import run_multi_turn
from streamer.pipeline._multi_turn_stages import MULTI_TURN_STAGE_NAMES
from topics import Topic, TopicPartition

from ._services import Services

N = 100
WAVES = 4
"""The run's tasks enter in this many equal waves, so every stage has work until the end."""
FAULTS = dict.fromkeys(role_corruptions(), 0.04)
"""Every fault the simulated multi-turn parts can inject."""
STAGES = MULTI_TURN_STAGE_NAMES
INPUTS = {
    "blueprint-writer": Topic.BLUEPRINT_TASKS,
    "blueprint-validator": Topic.BLUEPRINTS,
    "interplay": Topic.BLUEPRINT_PASS,
    "trajectory-checker": Topic.TRAJECTORIES,
    "trajectory-sink": Topic.TRAJECTORY_PASS,
    "funnel": Topic.REJECTS,
}


@dataclass(frozen=True)
class Outcome:
    """What a run stored: every trajectory row (id -> body, duplicates included), the ids
    the store marked duplicates, and every reject the funnel counted (id -> stage, reason)."""

    trajectories: dict[str, str]
    duplicates: frozenset[str]
    rejects: dict[str, tuple[str, str]]

    @property
    def total(self) -> int:
        return len(self.trajectories) + len(self.rejects)


def _config_file(path: Path, namespace: str = "") -> Path:
    """The run's config: one simulated model playing every part, with the faults."""
    model = f"kind = 'simulated'\nseed = 11\ncorrupt = {_toml(FAULTS)}\n"
    log = f"[log]\nnamespace = '{namespace}'\n" if namespace else ""
    path.write_text(
        f"partitions = 3\n{log}[[generators]]\n{model}[[judges]]\n{model}"
        "[multi_turn]\nenabled = true\n"
    )
    return path


def _toml(table: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k} = {v}" for k, v in table.items()) + "}"


def _rows(db: Path, sql: str) -> list[tuple[str, ...]]:
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the service has not created its table yet
        return []
    finally:
        con.close()


def read_outcome(out: Path) -> Outcome:
    rows = _rows(out / "trajectories.db", "SELECT id, body, duplicate_of FROM trajectories")
    rejects = _rows(out / "dataset.db", "SELECT id, stage, reason FROM outcomes")
    return Outcome(
        {i: body for i, body, _ in rows},
        frozenset(i for i, _, dup in rows if dup is not None),
        {i: (stage, reason) for i, stage, reason in rejects},
    )


_references: dict[str, Outcome] = {}


def _reference(tmp: pytest.TempPathFactory) -> Outcome:
    """The undisturbed in-process run (computed once per module)."""
    if "run" not in _references:
        out = tmp.mktemp("mt-reference")
        config = load_config(_config_file(out / "apigen.toml")).with_overrides(out=out, samples=N)
        summary = anyio.run(run_multi_turn, config)
        assert summary.progress.completed == N
        _references["run"] = read_outcome(out)
    return _references["run"]


def _schedule(seed: int) -> list[tuple[str, ...]]:
    """The stages to kill while each wave but the last is in flight: every stage once, in
    a seeded order, two per wave."""
    order = list(STAGES)
    random.Random(seed).shuffle(order)
    per_wave = -(-len(order) // (WAVES - 1))
    return [tuple(order[i : i + per_wave]) for i in range(0, len(order), per_wave)]


async def _offsets(config: PipelineConfig, stage: str) -> tuple[int, int]:
    """(offsets ``stage``'s group committed, records on its input topic), partitions summed."""
    topic = str(INPUTS[stage])
    transport = open_transport(config)
    try:
        committed = sum((await transport.group_offsets(stage)).values())
        partitions = (await transport.list_topics()).get(topic, 0)
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        async with transport.consumer([topic], f"test-{uuid.uuid4().hex}") as consumer:
            end = sum((await consumer.end_offsets(tps)).values())
    finally:
        await transport.aclose()
    return committed, end


def _wait_started(services: Services, stage: str) -> None:
    deadline = time.monotonic() + 60
    while "started" not in services.logs_of[stage].read_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"{stage} did not restart\n{services.logs()}")
        time.sleep(0.1)


def _sampler(out: Path, config_file: Path, kafka: str | None, samples: int) -> str:
    """Run ``apigen serve blueprint-sampler --samples SAMPLES`` to its end; what it printed."""
    args = [sys.executable, "-m", "streamer", "serve", "blueprint-sampler", "--samples",
            str(samples), "--out", str(out), "--config", str(config_file)]  # fmt: skip
    done = subprocess.run(
        [*args, *(["--kafka", kafka] if kafka else [])], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def _wait(out: Path, expected: int, services: Services, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if read_outcome(out).total >= expected:
            return
        if (exited := services.exited()) is not None:
            raise AssertionError(exited)
        time.sleep(0.2)
    got = read_outcome(out).total
    raise AssertionError(f"only {got} of {expected} outcomes arrived\n{services.logs()}")


def _run_with_kills(out: Path, kafka: str | None, seed: int, expected: int,
                    broker: LocalKafkaBroker | None = None) -> Services:  # fmt: skip
    """The run as services, its tasks in :data:`WAVES` waves (each a rerun of the sampler
    service, which must produce only the new tasks), a stage killed and restarted twice
    per wave while it is in flight, and ``broker`` (if any) restarted after the second
    wave's kills; returns once every outcome is stored."""
    out.mkdir(parents=True)
    namespace = f"mtk{uuid.uuid4().hex[:8]}" if kafka else ""
    config_file = _config_file(out / "apigen.toml", namespace)
    config = load_config(config_file).with_overrides(out=out, kafka=kafka)
    services = Services(out, kafka, args=("--config", str(config_file), "--multi-turn"))
    wave = N // WAVES
    at_kill: dict[str, int] = {}
    try:
        for i, stages in enumerate([*_schedule(seed), ()]):
            printed = _sampler(out, config_file, kafka, wave * (i + 1))
            assert f"produced={wave} skipped={wave * i}" in printed, printed
            if i == 0:
                for stage in STAGES:
                    services.start(stage)
            for stage in stages:  # once most earlier waves' outcomes are in: mid-run
                _wait(out, int(expected * i / WAVES * 0.8) + 1, services)
                services.kill(stage)
                at_kill[stage] = anyio.run(_offsets, config, stage)[0]
                _wait_started(services, stage)
            if broker is not None and i == 1:
                broker.restart()
        _wait(out, expected, services)
        time.sleep(1.0)  # let any re-delivered duplicate arrive before comparing
        codes = services.stop()
        assert set(codes.values()) == {0}, (codes, services.logs())
    finally:
        services.close()
    # Each kill landed mid-run for its stage: input it had not committed came after.
    for stage, committed in at_kill.items():
        assert committed < anyio.run(_offsets, config, stage)[1], (stage, at_kill)
    return services


def _assert_same(got: Outcome, want: Outcome) -> None:
    assert got.trajectories.keys() == want.trajectories.keys()
    assert got.trajectories == want.trajectories
    assert got.duplicates == want.duplicates
    assert got.rejects == want.rejects
    funnel = Counter(got.rejects.values())
    assert funnel == Counter(want.rejects.values())


def _check_reference(want: Outcome) -> None:
    """The reference is worth comparing with: most tasks verified, and every fault's
    reject among its rejects."""
    assert len(want.trajectories) > N // 2
    assert set(role_corruptions().values()) <= set(want.rejects.values())


@pytest.mark.slow
def test_sigkilled_multi_turn_stages_on_the_embedded_log_lose_and_duplicate_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    want = _reference(tmp_path_factory)
    _check_reference(want)
    services = _run_with_kills(tmp_path / "killed", None, seed=18, expected=want.total)
    assert len(services.dead) == len(STAGES)  # every stage died once
    _assert_same(read_outcome(tmp_path / "killed"), want)


@pytest.mark.kafka
@pytest.mark.slow
def test_sigkilled_multi_turn_stages_and_a_restarted_broker_on_kafka_lose_and_duplicate_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, own_broker: LocalKafkaBroker
) -> None:
    want = _reference(tmp_path_factory)
    bootstrap = own_broker.bootstrap
    services = _run_with_kills(
        tmp_path / "killed", bootstrap, seed=5, expected=want.total, broker=own_broker
    )
    assert own_broker.bootstrap == bootstrap
    assert len(services.dead) == len(STAGES)
    _assert_same(read_outcome(tmp_path / "killed"), want)
