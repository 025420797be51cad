"""Per-stage throughput and replay throughput, each stage alone on the embedded log.

    .venv/bin/python -m bench._stages --events 2000 --replay 100000 --out stages.json

Inputs are what the pipeline itself would retain: generation events are drawn by the run's
sampler and answered by the simulator's own pair generator (no endpoint, no latency); each
stage's outputs are the next stage's retained inputs. Every measurement runs one
:class:`~streamer.StageRunner` in a fresh consumer group over records already in the log,
from its first poll until every record is finished, and reports events per second (wall)
and CPU milliseconds per event (this process and its executor workers).

Stages: format checker; execution checker on the built-in Python functions (isolated
worker processes, no result cache) and on the local REST service (``apigen rest-service``
in its own process, not counted); semantic rule checks (no judge). Replay: the format stage
over ``--replay`` retained generation events through the replay API (``run_bounded``, what
``apigen replay`` runs per stage; wall time includes its final commit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from executors import (
    ApiLibrary,
    ApiSpec,
    Dispatcher,
    NetworkPolicy,
    PythonBinding,
    PythonExecutor,
    RestExecutor,
)
from executors.converters.openapi import specs_from_openapi
from streamer.llm._simdata import generate_pairs
from streamer.runtime._runner import StageRunner
from streamer.runtime._stage import Stage
from streamer.stages import (
    ExecutionChecker,
    FormatChecker,
    Sampler,
    SamplerConfig,
    SemanticChecker,
    tool_from_spec,
)
from topics import EmbeddedTransport, Generation, GenerationSettings, Message, Transport, encode

from ._endpoint import REPO, free_port
from ._procs import tree_cpu_s

__all__ = ["main", "measure_stage"]


def _generations(specs: Sequence[ApiSpec], n: int, seed: int = 0) -> list[bytes]:
    sampler = Sampler(
        [tool_from_spec(s) for s in specs],
        SamplerConfig(seed=seed, settings=GenerationSettings(pairs=1)),
    )
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sample = sampler.next_sample()
        tools = [{"name": t.name, "description": t.description, "parameters": t.parameters}
                 for t in sample.tools]  # fmt: skip
        pairs = generate_pairs(tools, sample.style, 1, rng, {}, Counter())
        generation = Generation(
            meta=sample.meta.child("generator", "generator-bench", "0"),
            sample=sample,
            model="simulated-bench",
            raw=json.dumps({"pairs": pairs}),
        )
        out.append(encode(generation))
    return out


async def _fill(transport: Transport, topic: str, values: Sequence[bytes]) -> None:
    async with transport.producer() as producer:
        for i in range(0, len(values), 2000):
            chunk = values[i : i + 2000]
            await producer.produce([Message(topic, v, key=str(i + j).encode())
                                    for j, v in enumerate(chunk)])  # fmt: skip


async def measure_stage(
    stage: Stage,
    transport: Transport,
    events: int,
    *,
    input_topic: str,
    prefix: str,
) -> dict[str, Any]:
    """Run ``stage`` in a fresh group over ``events`` retained records of ``input_topic``
    (outputs go to ``prefix + topic``); events/s and CPU ms/event until all finished."""
    runner = StageRunner(
        stage,
        transport,
        group=f"bench-{stage.name}-{uuid.uuid4().hex[:8]}",
        input_topic=input_topic,
        output_topic=lambda topic: prefix + topic,
    )
    cpu0, t0 = tree_cpu_s(os.getpid()), time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        while runner.stats.consumed < events or runner.in_flight:
            await anyio.sleep(0.01)
        wall = time.perf_counter() - t0
        cpu = tree_cpu_s(os.getpid()) - cpu0
        runner.stop()
    return {
        "stage": stage.name,
        "events": runner.stats.consumed,
        "produced": runner.stats.produced,
        "rejected": runner.stats.rejected,
        "wall_s": round(wall, 3),
        "events_per_s": round(runner.stats.consumed / wall, 1),
        "cpu_ms_per_event": round(cpu / max(1, runner.stats.consumed) * 1e3, 4),
    }


async def _replay(transport: Transport, events: int) -> dict[str, Any]:
    """The format stage replayed over ``events`` retained generations by the replay API
    (:func:`streamer.replay._replay.run_bounded`: a fresh group, bounded by the end offsets)."""
    from streamer.replay._replay import run_bounded

    cpu0, t0 = tree_cpu_s(os.getpid()), time.perf_counter()
    done = await run_bounded(
        FormatChecker(),
        transport,
        group=f"bench-replay-{uuid.uuid4().hex[:8]}",
        input_topic="replay.generations",
        output_topic={"format-pass": "replay.format-pass", "rejects": "replay.rejects"},
    )
    wall, cpu = time.perf_counter() - t0, tree_cpu_s(os.getpid()) - cpu0
    return {
        "stage": done.stage,
        "events": done.consumed,
        "produced": done.produced,
        "rejected": done.rejected,
        "wall_s": round(wall, 3),
        "events_per_s": round(done.consumed / wall, 1),
        "cpu_ms_per_event": round(cpu / max(1, done.consumed) * 1e3, 4),
        "api": "streamer.replay._replay.run_bounded (what apigen replay runs per stage)",
    }


def _rest_service(port: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """The local REST service in its own process, and its OpenAPI document."""
    cmd = [sys.executable, "-m", "streamer", "rest-service", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=2) as r:
                return proc, json.loads(r.read())
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the local REST service did not start")


def _resolver(specs: Sequence[ApiSpec]) -> Callable[[Any], ApiSpec | None]:
    by_id = {s.id: s for s in specs}
    return lambda tool: by_id.get(tool.api_id)


async def _run(events: int, replay: int, log: Path) -> dict[str, Any]:
    transport = EmbeddedTransport(log, default_partitions=4)
    results: dict[str, Any] = {}
    library = ApiLibrary.builtin()
    specs = [s for s in library if s.binding is not None]
    try:
        await _fill(transport, "py.generations", _generations(specs, events))
        results["format"] = await measure_stage(
            FormatChecker(), transport, events, input_topic="py.generations", prefix="py."
        )
        modules = {s.binding.module for s in specs if isinstance(s.binding, PythonBinding)}
        python = PythonExecutor(workers=2, allowed_modules=modules)
        async with Dispatcher(python=python) as d:
            await python.start()  # worker start-up is not per-event cost
            passed = results["format"]["produced"] - results["format"]["rejected"]
            results["execution_python"] = await measure_stage(
                ExecutionChecker(d, _resolver(specs)), transport, passed,
                input_topic="py.format-pass", prefix="py.",
            )  # fmt: skip
        passed = results["execution_python"]["produced"] - results["execution_python"]["rejected"]
        results["semantic_rules"] = await measure_stage(
            SemanticChecker(), transport, passed, input_topic="py.exec-pass", prefix="py."
        )
        port = free_port()
        service, document = await anyio.to_thread.run_sync(_rest_service, port)
        try:
            rest_specs = specs_from_openapi(document, base_url=f"http://127.0.0.1:{port}")
            await _fill(transport, "rest.generations", _generations(rest_specs, events))
            fmt = await measure_stage(
                FormatChecker(), transport, events, input_topic="rest.generations", prefix="rest."
            )
            service_host = NetworkPolicy.from_hosts([f"127.0.0.1:{port}"])  # loopback: allowed
            async with Dispatcher(rest=RestExecutor(policy=service_host)) as d:
                results["execution_rest"] = await measure_stage(
                    ExecutionChecker(d, _resolver(rest_specs)), transport,
                    fmt["produced"] - fmt["rejected"],
                    input_topic="rest.format-pass", prefix="rest.",
                )  # fmt: skip
        finally:
            service.terminate()
            service.wait()
        base = _generations(specs, min(replay, 5000), seed=1)
        retained = [base[i % len(base)] for i in range(replay)]
        await _fill(transport, "replay.generations", retained)
        results["replay_format"] = await _replay(transport, replay)
    finally:
        await transport.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per stage")
    parser.add_argument("--replay", type=int, default=100_000, help="retained events replayed")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apigen-bench-") as tmp:
        results = anyio.run(_run, args.events, args.replay, Path(tmp) / "log.db")
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
