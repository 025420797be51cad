"""Stages of ``apigen run`` in processes of their own, so one run can use several cores.

``apigen run`` is one event loop: on the simulated endpoint at 0 ms it is CPU-bound on one
core. With ``processes`` > 1 the stages listed in :data:`SPLITS` move to child processes
(started with ``spawn``) over the same log — the embedded log serves several processes, as
``apigen serve`` replicas do — while the sampler, the stages left and the sink stay in the
run's own process, which tracks progress and completion as before.

A child ignores SIGINT (the run drains first, then stops it) and stops on SIGTERM by
draining and committing, like ``apigen serve``. A child that exits on its own fails the run
with :class:`StageProcessError` instead of leaving it waiting.

Children serve no ``/metrics`` of their own: they write their metrics to files that the
run's ``/metrics`` serves merged with its own (prometheus-client's multiprocess mode, see
:mod:`~streamer.runtime._child_metrics`), so one scrape target sees every process.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Sequence
from contextlib import AsyncExitStack
from multiprocessing.process import BaseProcess

import anyio
import anyio.to_thread

from ..runtime._child_metrics import child_environment, mark_child_dead
from ..runtime._runner import RunnerSettings, StageRunner
from ._config import PipelineConfig
from ._model_config import ConfigError

__all__ = ["SPLITS", "StageProcess", "StageProcessError", "offloaded", "watch"]

SPLITS: dict[int, tuple[tuple[str, ...], ...]] = {
    1: (),
    2: (("generator",),),
    3: (("generator",), ("format", "execution")),
}
"""Stages per child process, by the run's process count (``runner.processes``, 1 to 3): the
generator (LLM client and event encoding) first, then the format and execution checks."""


class StageProcessError(RuntimeError):
    """A stage process of ``apigen run`` exited on its own."""

    reason = "stage_process_exited"


def offloaded(processes: int) -> tuple[tuple[str, ...], ...]:
    """The stage groups that run in child processes for a run of ``processes`` processes."""
    if processes not in SPLITS:
        raise ConfigError(f"processes: {processes} is not one of {sorted(SPLITS)}")
    return SPLITS[processes]


class StageProcess:
    """One child process running ``stages`` until :meth:`stop`."""

    def __init__(self, config: PipelineConfig, stages: Sequence[str]) -> None:
        self.config = config
        self.stages = tuple(stages)
        self._process: BaseProcess | None = None
        self._stopping = False

    def __repr__(self) -> str:
        pid = self._process.pid if self._process is not None else None
        return f"<StageProcess {'+'.join(self.stages)} pid={pid}>"

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=_main, args=(self.config, self.stages), name="+".join(self.stages)
        )
        with child_environment():
            self._process.start()

    def check(self) -> None:
        """Raise :class:`StageProcessError` if the process exited without being stopped."""
        process = self._process
        if process is not None and not self._stopping and not process.is_alive():
            raise StageProcessError(
                f"the process running {', '.join(self.stages)} exited with code "
                f"{process.exitcode}; its error is printed above"
            )

    async def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM (drain and commit), then SIGKILL after ``timeout_s`` seconds."""
        process = self._process
        if process is None:
            return
        self._stopping = True
        if process.is_alive():
            process.terminate()
        await anyio.to_thread.run_sync(process.join, timeout_s)
        if process.is_alive():
            process.kill()
            await anyio.to_thread.run_sync(process.join)
        mark_child_dead(process.pid)


async def watch(processes: Sequence[StageProcess], interval_s: float = 0.5) -> None:
    """Raise as soon as one of ``processes`` exits on its own (run it in the run's task
    group and cancel it when the run ends)."""
    while True:
        for process in processes:
            process.check()
        await anyio.sleep(interval_s)


def _main(config: PipelineConfig, stages: tuple[str, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    anyio.run(_serve, config, stages)


async def _serve(config: PipelineConfig, stages: tuple[str, ...]) -> None:
    from ._build import build_stages, open_transport

    transport = open_transport(config)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(transport.aclose)
        settings = RunnerSettings(concurrency=config.concurrency)
        built = await build_stages(config, stack, stages)
        runners = [StageRunner(stage, transport, settings=settings) for stage in built]
        async with anyio.create_task_group() as tg:
            for runner in runners:
                tg.start_soon(runner.run)
            with anyio.open_signal_receiver(signal.SIGTERM) as signals:
                async for _ in signals:
                    break
            for runner in runners:
                runner.stop()
