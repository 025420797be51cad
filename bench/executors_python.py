"""Benchmark: PythonExecutor per-call overhead, throughput and worker spawn cost.

Calls a cheap function (``add``) through a PythonExecutor with ``--workers`` worker
processes at several concurrency levels (``--calls`` calls each, after a warm-up), and
records calls/s, end-to-end latency (median, p99) as seen by the caller, and the in-worker
round trip (``Outcome.latency_s``). Also measures the cost of spawning a worker (what a
timeout or crash costs the next call). The machine's load average is recorded because the
numbers mean little without it. Writes bench/results/executors_python.json.

    .venv/bin/python bench/executors_python.py --workers 2 --calls 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from executors import ApiSpec, PythonBinding, PythonExecutor

RESULTS = Path(__file__).parent / "results" / "executors_python.json"
MODULE = "tests.executors.sample_functions"
ADD = ApiSpec(
    name="add",
    description="Add two integers.",
    parameters={"type": "object"},
    binding=PythonBinding(module=MODULE, function="add"),
)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_level(executor: PythonExecutor, calls: int, concurrency: int) -> dict[str, Any]:
    wall: list[float] = []
    inner: list[float] = []
    failures = 0
    remaining = iter(range(calls))

    async def client() -> None:
        nonlocal failures
        for n in remaining:
            start = time.perf_counter()
            outcome = await executor.execute(ADD, {"a": n, "b": 1})
            wall.append(time.perf_counter() - start)
            inner.append(outcome.latency_s)
            failures += outcome.result != n + 1

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(client)
    elapsed = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "calls": calls,
        "failures": failures,
        "calls_per_s": round(calls / elapsed, 1),
        "latency_median_s": round(statistics.median(wall), 6),
        "latency_p99_s": round(quantile(wall, 0.99), 6),
        "worker_round_trip_median_s": round(statistics.median(inner), 6),
        "worker_round_trip_p99_s": round(quantile(inner, 0.99), 6),
    }


async def spawn_cost(samples: int) -> dict[str, float]:
    """Time from an empty slot to a finished call: process start + handshake + import."""
    times = []
    for _ in range(samples):
        async with PythonExecutor(workers=1, allowed_modules={MODULE}) as executor:
            start = time.perf_counter()
            await executor.execute(ADD, {"a": 1, "b": 1})
            times.append(time.perf_counter() - start)
    return {
        "samples": samples,
        "median_s": round(statistics.median(times), 4),
        "max_s": round(max(times), 4),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    levels = []
    async with PythonExecutor(workers=args.workers, allowed_modules={MODULE}) as executor:
        await executor.start()
        await run_level(executor, 200, args.workers)  # warm-up: imports, caches
        for concurrency in args.concurrency:
            levels.append(await run_level(executor, args.calls, concurrency))
    direct = time.perf_counter()
    for n in range(args.calls):
        (lambda a, b: a + b)(n, 1)
    direct_s = (time.perf_counter() - direct) / args.calls
    return {
        "benchmark": "executors_python",
        "function": f"{MODULE}.add(a, b) with two small ints",
        "workers": args.workers,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m_before": round(load_before[0], 2),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "levels": levels,
        "worker_spawn": await spawn_cost(args.spawn_samples),
        "in_process_call_s": direct_s,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 16])
    parser.add_argument("--spawn-samples", type=int, default=5)
    result = anyio.run(main, parser.parse_args())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
