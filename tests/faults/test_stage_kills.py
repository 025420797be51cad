"""SIGKILL every stage at seeded random points of a run, restart it, and compare the dataset
with an undisturbed run: nothing lost (one terminal outcome per task), nothing duplicated,
the same verified records — on the embedded log and on a real Kafka broker (a dedicated one,
also restarted mid-run)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from streamer.broker._kafka import LocalKafkaBroker
from streamer.pipeline._run import run_pipeline

from ._chain import pipeline_config
from ._services import (
    STAGES,
    Services,
    assert_same_dataset,
    feed_samples,
    records,
    terminal,
    wait_for,
)

N_EMBEDDED = 2000
N_KAFKA = 2000
_references: dict[int, Path] = {}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Path]]:
    """Undisturbed in-process runs by sample count, computed on first use."""
    yield _references
    _references.clear()


def _reference(n: int, tmp: pytest.TempPathFactory) -> Path:
    """The output directory of an undisturbed run of ``n`` samples."""
    if n not in _references:
        out = tmp.mktemp(f"reference-{n}")
        summary = anyio.run(run_pipeline, pipeline_config(out, samples=n))
        assert summary.progress.completed == n
        _references[n] = out
    return _references[n]


def _schedule(seed: int, kills: int) -> list[tuple[float, str]]:
    """(share of the run's outcomes to wait for, stage) for each kill: every stage once in
    a random order, then random stages. Kills are placed by progress, not by time, so they
    land early, mid-batch and late on a fast machine and on a slow one alike."""
    rng = random.Random(seed)
    order = list(STAGES)
    rng.shuffle(order)
    order += [rng.choice(STAGES) for _ in range(kills - len(order))]
    shares = sorted(rng.uniform(0.01, 0.8) for _ in order)
    return list(zip(shares, order, strict=True))


def _run_with_kills(out: Path, n: int, kafka: str | None, seed: int, kills: int,
                    broker: LocalKafkaBroker | None = None) -> Services:  # fmt: skip
    config = pipeline_config(out, samples=n, kafka=kafka)
    anyio.run(feed_samples, config)
    services = Services(out, kafka)
    for stage in STAGES:
        services.start(stage)
    try:
        for i, (share, stage) in enumerate(_schedule(seed, kills)):
            wait_for(out, max(1, int(share * n)), timeout_s=240, services=services)
            services.kill(stage)
            if broker is not None and i == kills // 2:
                broker.restart()
        wait_for(out, n, timeout_s=240, services=services)
        time.sleep(1.0)  # let any re-delivered duplicate arrive before counting
        codes = services.stop()
        assert set(codes.values()) == {0}, (codes, services.logs())
    finally:
        services.close()
    return services


@pytest.mark.slow
def test_sigkilled_stages_on_the_embedded_log_lose_and_duplicate_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, reference: object
) -> None:
    expected = _reference(N_EMBEDDED, tmp_path_factory)
    out = tmp_path / "killed"
    services = _run_with_kills(out, N_EMBEDDED, None, seed=2024, kills=9)
    assert len(services.dead) >= len(STAGES)  # every stage died at least once
    outcomes = terminal(out)
    assert len(outcomes) == N_EMBEDDED and set(outcomes.values()) == {1}
    assert_same_dataset(out, expected)
    assert len(records(expected)) > N_EMBEDDED // 2


@pytest.mark.kafka
@pytest.mark.slow
def test_sigkilled_stages_and_a_restarted_broker_on_kafka_lose_and_duplicate_nothing(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    reference: object,
    own_broker: LocalKafkaBroker,
) -> None:
    expected = _reference(N_KAFKA, tmp_path_factory)
    out = tmp_path / "killed"
    bootstrap = own_broker.bootstrap
    services = _run_with_kills(out, N_KAFKA, bootstrap, seed=7, kills=7, broker=own_broker)
    assert own_broker.bootstrap == bootstrap
    assert len(services.dead) >= len(STAGES)
    outcomes = terminal(out)
    assert len(outcomes) == N_KAFKA and set(outcomes.values()) == {1}
    assert_same_dataset(out, expected)
