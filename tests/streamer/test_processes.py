"""``apigen run`` over several processes: the same dataset as one process, and a stage
process that dies fails the run instead of leaving it waiting."""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._processes import StageProcessError
from streamer.pipeline._run import run_pipeline

from ..faults._services import records

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _config(out: Path, samples: int, processes: int) -> PipelineConfig:
    return PipelineConfig(
        out=out,
        samples=samples,
        feedback=False,
        processes=processes,
        generators=(ModelConfig(kind="simulated"),),
        judges=(ModelConfig(kind="simulated", seed=1),),
    )


async def test_three_processes_verify_the_same_dataset_as_one(tmp_path: Path) -> None:
    one = await run_pipeline(_config(tmp_path / "one", 150, processes=1))
    three = await run_pipeline(_config(tmp_path / "three", 150, processes=3))
    assert three.progress.completed == one.progress.completed == 150
    assert records(tmp_path / "three") == records(tmp_path / "one")
    assert one.records > 50
    assert not multiprocessing.active_children()  # the stage processes were stopped


async def test_a_stage_process_that_dies_fails_the_run(tmp_path: Path) -> None:
    config = replace(_config(tmp_path, 100_000, processes=2), max_outstanding=64)

    async def kill_the_generator_process() -> None:
        with anyio.fail_after(60):
            while not multiprocessing.active_children():
                await anyio.sleep(0.1)
        await anyio.sleep(3.0)
        for child in multiprocessing.active_children():
            os.kill(child.pid or 0, signal.SIGKILL)

    with pytest.raises(BaseExceptionGroup) as raised, anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(kill_the_generator_process)
            await run_pipeline(config)
    assert raised.group_contains(StageProcessError, match="generator exited with code -9")
