"""Issue 5 acceptance: with the simulated LLM injecting known corruptions, a run's rejects per
reason equal what was injected, exactly, and the embedded log and the real Kafka broker verify
the same dataset."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from executors.builtin import failing_arguments
from streamer.dataset._store import DatasetStore
from streamer.llm import SimulatorConfig, run_simulator
from streamer.llm._simdata import EXPECTED_REJECTS
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import RunSummary, run_pipeline

SAMPLES = 2000
CORRUPTION = {
    "invalid_json": 0.02,
    "unknown_function": 0.03,
    "unknown_argument": 0.03,
    "missing_required": 0.03,
    "wrong_type": 0.04,
    "exec_failure": 0.04,
    "query_mismatch": 0.04,
    "judge_reject": 0.03,
}


@dataclass(frozen=True)
class Outcome:
    summary: RunSummary
    injected: Counter[str]
    expected: Counter[tuple[str, str]]
    rejects: Counter[tuple[str, str]]
    records: dict[str, tuple[str, Any, Any]]


def _config(out: Path, base_url: str, samples: int, kafka: str | None) -> PipelineConfig:
    model = ModelConfig(kind="openai", base_url=base_url, model="simulated-acceptance")
    return PipelineConfig(
        out=out,
        samples=samples,
        kafka=kafka,
        feedback=False,  # the seed pool would make tasks depend on arrival order
        generators=(model,),
        judges=(model,),
        partitions=4,
    )


def _read(out: Path) -> tuple[Counter[tuple[str, str]], dict[str, tuple[str, Any, Any]]]:
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        rejects: Counter[tuple[str, str]] = Counter()
        for row in store.funnel():
            if row.reason != "pass":
                rejects[(row.stage, row.reason)] += row.count
        records = {r.id: (r.query, r.calls, r.results) for r in store.records()}
    finally:
        store.close()
    return rejects, records


@asynccontextmanager
async def _simulator() -> AsyncIterator[Any]:
    config = SimulatorConfig(seed=5, corruption=CORRUPTION, exec_failures=failing_arguments())
    async with run_simulator(config) as sim:
        yield sim


async def _run(out: Path, samples: int, kafka: str | None = None) -> Outcome:
    async with _simulator() as sim:
        summary = await run_pipeline(_config(out, sim.base_url, samples, kafka))
        injected = Counter(sim.stats.corruptions)
        expected = sim.stats.expected_rejects()
    rejects, records = _read(out)
    return Outcome(summary, injected, expected, rejects, records)


def _check(outcome: Outcome, samples: int) -> None:
    assert outcome.summary.progress.completed == samples
    assert outcome.rejects == outcome.expected, (outcome.rejects, outcome.injected)
    assert all(outcome.injected[k] > 0 for k in CORRUPTION), outcome.injected
    assert outcome.summary.progress.verified > 0


@pytest.mark.slow
@pytest.mark.anyio
async def test_small_run_rejects_exactly_what_was_injected(tmp_path: Path) -> None:
    outcome = await _run(tmp_path, 300)
    _check(outcome, 300)


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.anyio
async def test_2000_samples_same_dataset_on_kafka_and_embedded_and_exact_rejects(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    embedded = await _run(tmp_path / "embedded", SAMPLES)
    kafka = await _run(tmp_path / "kafka", SAMPLES, kafka=kafka_bootstrap)
    _check(embedded, SAMPLES)
    _check(kafka, SAMPLES)
    assert kafka.injected == embedded.injected
    assert kafka.rejects == embedded.rejects
    assert kafka.records == embedded.records  # ids, queries, calls and results
    assert len(embedded.records) > SAMPLES // 2
    # Every injected kind surfaced as its own reason, and nothing else was rejected.
    assert set(embedded.rejects) == {EXPECTED_REJECTS[k] for k in CORRUPTION}
