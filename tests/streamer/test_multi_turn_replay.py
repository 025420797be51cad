"""Replays of the multi-turn checkers (issue 18): a multi-turn run on the embedded log, then
its retained ``trajectories`` through the trajectory checker and its ``blueprints`` through
the blueprint validator. The live configuration replays to the live version with the same
verdicts; a changed setting is a new version on its own topics, and the diff counts exactly
the verdicts the change must flip."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio
import orjson
import pytest
from typer.testing import CliRunner

from streamer.cli._app import app
from streamer.dataset._trajectory_store import TrajectoryStore
from streamer.pipeline._build import open_transport
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._multi_turn import run_multi_turn
from streamer.pipeline._multi_turn_config import MultiTurnConfig
from streamer.pipeline._multi_turn_stages import VERSION_NAMES, build_multi_turn_stage
from streamer.replay import DiffReport, ReplayError, ReplayResult, diff_versions, replay
from streamer.replay._diff import Outcome, read_outcomes
from streamer.replay._replay import build_replay_stages
from topics import Topic, TopicPartition

SAMPLES = 36
FAULTS = {
    "review_reject": 0.15,
    "agent_wrong_argument": 0.1,
    "agent_skip_action": 0.1,
    "user_never_stops": 0.05,
}
SIMULATED = ModelConfig(kind="simulated", seed=5, corrupt=FAULTS)


@dataclass(frozen=True)
class LiveRun:
    config: PipelineConfig
    airline: int
    retail: int


def _config(out: Path, reviewers: int = 3) -> PipelineConfig:
    mt = MultiTurnConfig(enabled=True, reviewers=reviewers)
    return PipelineConfig(
        out=out,
        samples=SAMPLES,
        generators=(SIMULATED,),
        judges=(SIMULATED,),
        partitions=2,
        multi_turn=mt,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    """One multi-turn run whose log the tests replay (each replay has its own version)."""
    config = _config(tmp_path_factory.mktemp("live"))
    summary = anyio.run(run_multi_turn, config)
    assert summary.progress.completed == SAMPLES
    store = TrajectoryStore(config.out / "trajectories.db")
    try:
        by_domain = {d.domain: d.trajectories for d in store.domains()}
    finally:
        store.close()
    yield LiveRun(config, by_domain.get("airline", 0), by_domain.get("retail", 0))


async def _replay(config: PipelineConfig, stage: str, name: str) -> ReplayResult:
    transport = open_transport(config)
    try:
        async with AsyncExitStack() as stack:
            stages = await build_replay_stages(config, stack, stage, name)
            return await replay(transport, stages)
    finally:
        await transport.aclose()


async def _outcomes(
    config: PipelineConfig, version: str | None, stage: str
) -> dict[tuple[str, int], Outcome]:
    transport = open_transport(config)
    try:
        return await read_outcomes(transport, version, stage)
    finally:
        await transport.aclose()


def _reasons(outcomes: dict[tuple[str, int], Outcome]) -> Counter[str]:
    return Counter(o.reason for o in outcomes.values())


@pytest.mark.parametrize("stage", sorted(VERSION_NAMES))
def test_the_live_configuration_replays_to_the_live_version_with_the_same_verdicts(
    live: LiveRun, stage: str
) -> None:
    async def live_version() -> str:
        async with AsyncExitStack() as stack:
            return (await build_multi_turn_stage(stage, live.config, stack)).version

    version = anyio.run(live_version)
    tasks = anyio.run(_records, live.config, str(Topic.BLUEPRINT_TASKS))
    result = anyio.run(_replay, live.config, stage, VERSION_NAMES[stage])
    assert result.version == version
    # the validator's refined tasks go to the version's topic, never to the live one the
    # live writer drafts from
    assert anyio.run(_records, live.config, str(Topic.BLUEPRINT_TASKS)) == tasks
    if stage == "blueprint-validator":
        refined = anyio.run(_records, live.config, Topic.versioned(Topic.BLUEPRINT_TASKS, version))
        assert 0 < refined < tasks
    before = anyio.run(_outcomes, live.config, None, stage)
    after = anyio.run(_outcomes, live.config, version, stage)
    assert result.stages[0].consumed == len(before) > SAMPLES // 2
    assert {k: o.reason for k, o in after.items()} == {k: o.reason for k, o in before.items()}
    assert _reasons(before)["pass"] < len(before)  # the faults made rejects to compare too


def test_a_checker_without_airline_is_a_new_version_that_rejects_exactly_the_airline_trajectories(
    live: LiveRun, tmp_path: Path
) -> None:
    assert live.airline > 0 and live.retail > 0
    path = tmp_path / "retail.toml"
    path.write_text('[multi_turn]\ndomains = ["retail"]\n')
    log = str(live.config.embedded_log)
    argv = ["replay", "--stage", "trajectory-checker", "--version", "retail-only"]
    result = CliRunner().invoke(app, [*argv, "--config", str(path), "--log", log])
    assert result.exit_code == 0, result.output
    version = result.output.strip().splitlines()[-1]
    assert version.startswith("retail-only-")
    diffed = CliRunner().invoke(app, ["diff", "live", "retail-only", "--json", "--log", log])
    assert diffed.exit_code == 0, diffed.output
    [report] = [
        s for s in orjson.loads(diffed.stdout)["stages"] if s["stage"] == "trajectory-checker"
    ]
    before = anyio.run(_outcomes, live.config, None, "trajectory-checker")
    failed = sum(1 for o in before.values() if not o.passed)
    assert report["compared"] == len(before) and report["only_a"] == report["only_b"] == 0
    assert report["pass_to_fail"] == {"unknown_domain": live.airline}
    assert report["unchanged_pass"] == live.retail and report["fail_to_pass"] == {}
    changed = report["reason_changed"]
    assert all(k.endswith("->unknown_domain") for k in changed)
    assert report["unchanged_fail"] + sum(changed.values()) == failed
    topics = anyio.run(_topics, live.config)
    assert Topic.versioned(Topic.TRAJECTORY_PASS, version) in topics


async def _records(config: PipelineConfig, topic: str) -> int:
    """Records on ``topic`` (its partitions' end offsets summed; none: 0)."""
    transport = open_transport(config)
    try:
        partitions = (await transport.list_topics()).get(topic, 0)
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        async with transport.consumer([topic], "test-count") as consumer:
            return sum((await consumer.end_offsets(tps)).values())
    finally:
        await transport.aclose()


async def _topics(config: PipelineConfig) -> dict[str, int]:
    transport = open_transport(config)
    try:
        return await transport.list_topics()
    finally:
        await transport.aclose()


def test_a_validator_without_a_committee_passes_exactly_the_blueprints_the_reviewers_rejected(
    live: LiveRun,
) -> None:
    config = _config(live.config.out, reviewers=0)
    result = anyio.run(_replay, config, "blueprint-validator", "no-review")
    version = result.version
    assert version.startswith("no-review-")
    before = anyio.run(_outcomes, config, None, "blueprint-validator")
    reviewed = _reasons(before)["review_rejected"]
    assert reviewed > 0

    async def diff() -> DiffReport:
        transport = open_transport(config)
        try:
            return await diff_versions(transport, "live", version)
        finally:
            await transport.aclose()

    report = anyio.run(diff)
    [stage] = [s for s in report.stages if s.stage == "blueprint-validator"]
    assert stage.fail_to_pass == {"review_rejected": reviewed}
    assert not stage.pass_to_fail and not stage.reason_changed
    assert stage.compared == len(before)


def test_downstream_of_a_multi_turn_checker_is_refused(live: LiveRun) -> None:
    async def build() -> None:
        async with AsyncExitStack() as stack:
            await build_replay_stages(
                live.config, stack, "blueprint-validator", "v2", downstream=True
            )

    with pytest.raises(ReplayError) as caught:
        anyio.run(build)
    assert caught.value.reason == "no_downstream"
