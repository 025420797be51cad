"""Issue 18 acceptance: ``apigen run --multi-turn`` with the simulated endpoint playing every
part yields verified trajectories with at least three user turns on average in both
domains; the injected faults produce exactly the rejects the simulator's ``/stats`` says
they must; the embedded log and a real Kafka broker keep the same trajectories."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from streamer.cli._app import app
from streamer.dataset._store import DatasetStore
from streamer.dataset._trajectory_store import TrajectoryStore
from streamer.llm import SimulatorConfig, run_simulator
from streamer.pipeline._config import ConfigError, PipelineConfig, load_config
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._multi_turn import MultiTurnSummary, run_multi_turn
from streamer.pipeline._multi_turn_config import MultiTurnConfig

FAULTS = {
    "blueprint_invalid_json": 0.05,
    "blueprint_failing_action": 0.05,
    "blueprint_unknown_tool": 0.05,
    "review_reject": 0.05,
    "agent_wrong_argument": 0.05,
    "agent_skip_action": 0.05,
    "user_never_stops": 0.05,
}


@dataclass(frozen=True)
class Outcome:
    summary: MultiTurnSummary
    injected: Counter[str]
    expected: Counter[tuple[str, str]]
    rejects: Counter[tuple[str, str]]
    trajectories: dict[str, Any]
    domains: dict[str, tuple[int, float]]


def _config(out: Path, base_url: str, samples: int, kafka: str | None) -> PipelineConfig:
    model = ModelConfig(kind="openai", base_url=base_url, model="simulated-multi-turn")
    return PipelineConfig(
        out=out,
        samples=samples,
        kafka=kafka,
        namespace=f"mt{uuid.uuid4().hex[:8]}" if kafka else "",
        generators=(model,),
        judges=(model,),
        partitions=3,
        multi_turn=MultiTurnConfig(enabled=True),
    )


def _read(out: Path) -> tuple[Counter[tuple[str, str]], dict[str, Any], dict[str, Any]]:
    funnel = DatasetStore(out / "dataset.db", near_threshold=0)
    store = TrajectoryStore(out / "trajectories.db")
    try:
        rejects: Counter[tuple[str, str]] = Counter()
        for row in funnel.funnel():
            rejects[(row.stage, row.reason)] += row.count
        lines = (out / "apigen-mt.jsonl").read_bytes().splitlines()
        rows = {str(i): orjson.loads(line) for i, line in enumerate(lines)}
        domains = {d.domain: (d.trajectories, d.avg_user_turns) for d in store.domains()}
    finally:
        funnel.close()
        store.close()
    return rejects, rows, domains


async def _run(out: Path, samples: int, kafka: str | None = None, seed: int = 3) -> Outcome:
    async with run_simulator(SimulatorConfig(seed=seed, corruption=FAULTS)) as sim:
        summary = await run_multi_turn(_config(out, sim.base_url, samples, kafka))
        injected = Counter(sim.stats.corruptions)
        expected = sim.stats.expected_rejects()
    rejects, rows, domains = _read(out)
    return Outcome(summary, injected, expected, rejects, rows, domains)


def _check(outcome: Outcome, samples: int) -> None:
    assert outcome.summary.progress.completed == samples
    assert outcome.rejects == outcome.expected, (outcome.rejects, outcome.injected)
    # Each kind is drawn per blueprint or conversation (about 6 each at 120 tasks); fewer
    # tasks may draw none of a kind, which proves nothing wrong.
    if samples >= 100:
        assert all(outcome.injected[k] > 0 for k in FAULTS), outcome.injected
    assert outcome.summary.trajectories == len(outcome.trajectories) > samples // 2
    assert set(outcome.domains) == {"retail", "airline"}
    for domain, (count, avg_user_turns) in outcome.domains.items():
        assert count > 0 and avg_user_turns >= 3, (domain, count, avg_user_turns)


@pytest.mark.anyio
async def test_faults_give_exactly_the_expected_rejects(tmp_path: Path) -> None:
    outcome = await _run(tmp_path, 120)
    _check(outcome, 120)
    card = (tmp_path / "README.md").read_text()
    assert f"- Trajectories: **{outcome.summary.trajectories}**" in card
    for (stage, reason), n in outcome.rejects.items():
        assert f"| {stage} | {reason} | {n} |" in card


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.anyio
async def test_the_same_trajectories_on_kafka_and_embedded(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    embedded = await _run(tmp_path / "embedded", 120)
    kafka = await _run(tmp_path / "kafka", 120, kafka=kafka_bootstrap)
    _check(embedded, 120)
    _check(kafka, 120)
    assert kafka.injected == embedded.injected
    assert kafka.rejects == embedded.rejects
    assert kafka.trajectories == embedded.trajectories


def test_the_cli_runs_and_writes_the_exports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", "--multi-turn", "--simulate", "--samples", "6", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "verified trajectories" in result.output
    for name in ("apigen-mt.jsonl", "trajectories.sharegpt.jsonl", "trajectories.openai.jsonl"):
        assert (out / name).read_bytes().count(b"\n") == 6, name
    bad = CliRunner().invoke(app, [*args, "--target", "3"])
    assert bad.exit_code == 2 and "--samples" in bad.output


def test_the_config_table(tmp_path: Path) -> None:
    path = tmp_path / "apigen.toml"
    path.write_text('[multi_turn]\nenabled = true\ndomains = ["airline"]\nreviewers = 1\n')
    config = load_config(path).multi_turn
    assert config.enabled and config.domains == ("airline",) and config.reviewers == 1
    for body, named in (
        ('domains = ["bank"]', "domains"),
        ("quorum = 4", "quorum"),
        ("max_turn = 3", "max_turn"),
        ('reviewers = "3"', "reviewers"),
    ):
        path.write_text(f"[multi_turn]\n{body}\n")
        with pytest.raises(ConfigError, match=named):
            load_config(path)
