"""`apigen serve --allow-host`: a stage run as a service reaches the loopback/private hosts
the user names, like `apigen run`, and a malformed entry is refused before it starts. The
multi-turn stages are served with the multi-turn simulator, and the blueprint sampler
service resumes without producing a task twice."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

import streamer.cli._pipeline as pipeline_cli
from streamer.cli._app import app
from streamer.pipeline._blueprint_sampler_service import serve_blueprint_sampler
from streamer.pipeline._build import open_transport
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._multi_turn_config import MultiTurnConfig
from streamer.pipeline._multi_turn_stages import (
    MULTI_TURN_STAGE_NAMES,
    build_multi_turn_stage,
    build_multi_turn_stages,
    make_blueprint_sampler,
)
from topics import BlueprintTask, MalformedEvent, Message, Topic, TopicPartition, decode

runner = CliRunner()


def test_a_malformed_allow_host_is_refused_by_name() -> None:
    result = runner.invoke(app, ["serve", "execution", "--allow-host", "http://127.0.0.1:8080"])
    assert result.exit_code == 2
    assert "--allow-host" in result.output and "no scheme" in result.output


def test_allowed_hosts_reach_the_service_config(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    async def serve(stage: str, config: Any, group: str | None) -> None:
        seen.append((stage, config.allow_hosts))

    monkeypatch.setattr(pipeline_cli, "_serve", serve)
    argv = ["serve", "execution", "--allow-host", "127.0.0.1:8080", "--allow-host", "10.0.0.5"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    [(stage, hosts)] = seen
    assert stage == "execution" and hosts[-2:] == ("127.0.0.1:8080", "10.0.0.5")


def test_multi_turn_stages_are_served_with_the_multi_turn_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, Any]] = []

    async def serve(stage: str, config: Any, group: str | None) -> None:
        seen.append((stage, config))

    monkeypatch.setattr(pipeline_cli, "_serve", serve)
    for argv in (
        ["serve", "interplay", "--simulate"],
        ["serve", "trajectory-checker"],
        ["serve", "funnel", "--multi-turn"],
        ["serve", "funnel"],
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, result.output
    (_, interplay), (_, checker), (_, mt_funnel), (_, funnel) = seen
    assert interplay.multi_turn.enabled and checker.multi_turn.enabled
    # one simulated endpoint plays every part, as in `apigen run --multi-turn --simulate`
    [sim] = interplay.generators
    assert sim.kind == "simulated" and interplay.judges == (sim,)
    assert mt_funnel.multi_turn.enabled and not funnel.multi_turn.enabled


def test_an_unknown_stage_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "trajectory-chekcer", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown stage" in result.output and "trajectory-checker" in result.output


def test_the_blueprint_sampler_service_resumes_without_duplicates(tmp_path: Path) -> None:
    argv = ["serve", "blueprint-sampler", "--samples", "7", "--out", str(tmp_path)]
    first = runner.invoke(app, argv)
    assert first.exit_code == 0, first.output
    assert "produced=7 skipped=0" in first.output
    again = runner.invoke(app, [*argv[:3], "9", *argv[4:]])
    assert again.exit_code == 0, again.output
    assert "produced=2 skipped=7" in again.output
    ids = anyio.run(_task_ids, PipelineConfig(out=tmp_path))
    sampler = make_blueprint_sampler(PipelineConfig(out=tmp_path))
    assert sorted(ids) == sorted(sampler.task_id(i) for i in range(1, 10))  # each once


async def _task_ids(config: PipelineConfig) -> list[str]:
    """Every task id on ``blueprint-tasks``, repeats kept (records that are no task, which
    a test put there, left out)."""
    transport = open_transport(config)
    try:
        topic = Topic.BLUEPRINT_TASKS.value
        partitions = (await transport.list_topics())[topic]
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ids: list[str] = []
        async with transport.consumer([topic], "test-read") as consumer:
            ends = await consumer.end_offsets(tps)
            seen = 0
            while seen < sum(ends.values()):
                for record in await consumer.poll(100, 0.5):
                    seen += 1
                    try:
                        ids.append(decode(record.value, BlueprintTask).meta.id)
                    except MalformedEvent:
                        continue
    finally:
        await transport.aclose()
    return ids


def test_each_multi_turn_stage_built_alone_has_the_version_of_the_whole_pipeline(
    tmp_path: Path,
) -> None:
    writer = ModelConfig(kind="simulated", seed=2)
    judge = ModelConfig(kind="simulated", seed=3)
    config = PipelineConfig(
        out=tmp_path,
        generators=(writer,),
        judges=(judge,),
        multi_turn=MultiTurnConfig(enabled=True, reviewers=2),
    )

    async def versions() -> tuple[list[str], list[str]]:
        async with AsyncExitStack() as stack:
            together = [s.version for s in await build_multi_turn_stages(config, stack)]
        alone = []
        for name in MULTI_TURN_STAGE_NAMES:  # as `apigen serve NAME` builds it
            async with AsyncExitStack() as stack:
                alone.append((await build_multi_turn_stage(name, config, stack)).version)
        return together, alone

    together, alone = anyio.run(versions)
    assert alone == together
    # the validator's committee is the judge, named as in the whole pipeline
    other = replace(config, judges=(ModelConfig(kind="simulated", seed=4),))

    async def validator(cfg: PipelineConfig) -> str:
        async with AsyncExitStack() as stack:
            return (await build_multi_turn_stage("blueprint-validator", cfg, stack)).version

    assert anyio.run(validator, other) != together[1]


def test_unreadable_records_on_blueprint_tasks_do_not_stop_the_blueprint_sampler(
    tmp_path: Path,
) -> None:
    config = PipelineConfig(out=tmp_path, samples=3)

    async def scenario() -> tuple[int, int, list[str]]:
        transport = open_transport(config)
        try:
            await transport.create_topics([Topic.BLUEPRINT_TASKS.value], config.partitions)
            async with transport.producer() as producer:
                await producer.produce(
                    [
                        Message(Topic.BLUEPRINT_TASKS.value, value, key=b"x")
                        for value in (b"\xff not json", b"[1, 2]", b'{"meta": {"id": 7}}')
                    ]
                )
        finally:
            await transport.aclose()
        stats = await serve_blueprint_sampler(config)
        return stats.produced, stats.skipped, await _task_ids(config)

    produced, skipped, ids = anyio.run(scenario)
    assert (produced, skipped) == (3, 0)
    assert sorted(ids) == sorted(make_blueprint_sampler(config).task_id(i) for i in (1, 2, 3))
