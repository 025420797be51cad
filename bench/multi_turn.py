"""Benchmark: the multi-turn pipeline (issue 18) — trajectories per second and CPU per
trajectory.

Runs ``run_multi_turn`` (every multi-turn stage in this process, on the embedded log) over
``--samples`` blueprint tasks against the simulated endpoint in a process of its own
(``apigen simulate-llm``, so its CPU is not counted), at each ``--latency-ms``, ``--repeat``
times, and reports per setting the median wall time, verified trajectories per second,
this process's CPU seconds per verified trajectory (user + system, the endpoint excluded),
LLM requests per trajectory and the load average beside them. A trajectory costs many
LLM calls (the writer, three reviewers, then a user and an agent turn after turn), so the
endpoint's latency, not our CPU, decides the rate once it is above a few milliseconds.
Writes ``bench/results/multi_turn.{json,md}``.

    .venv/bin/python bench/multi_turn.py [--samples 200] [--latency-ms 0 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._multi_turn import run_multi_turn
from streamer.pipeline._multi_turn_config import MultiTurnConfig

try:
    from ._endpoint import Endpoint
except ImportError:  # run as a script
    from _endpoint import Endpoint  # type: ignore[import-not-found,no-redef]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _once(samples: int, latency_ms: float, work: Path) -> dict[str, Any]:
    out = work / f"run-{latency_ms:g}"
    shutil.rmtree(out, ignore_errors=True)
    with Endpoint(latency_ms, max_concurrency=0, logs=work / "logs") as endpoint:
        model = ModelConfig(
            kind="openai", base_url=endpoint.base_url, model="simulated-bench", max_concurrency=256
        )
        config = PipelineConfig(
            out=out,
            samples=samples,
            generators=(model,),
            judges=(model,),
            multi_turn=MultiTurnConfig(enabled=True),
        )
        cpu, wall = _cpu_s(), time.perf_counter()
        summary = anyio.run(run_multi_turn, config)
        wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
        requests = int(endpoint.stats().get("requests", 0))
    kept = summary.trajectories
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "trajectories": kept,
        "trajectories_per_s": kept / wall if wall else 0.0,
        "cpu_ms_per_trajectory": 1000 * cpu / kept if kept else None,
        "llm_requests_per_trajectory": requests / kept if kept else None,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-mt-") as tmp:
        for latency in args.latency_ms:
            runs = [_once(args.samples, latency, Path(tmp)) for _ in range(args.repeat)]
            rows.append(
                {
                    "latency_ms": latency,
                    "samples": args.samples,
                    "runs": runs,
                    **{
                        f"median_{k}": _median(runs, k)
                        for k in (
                            "wall_s",
                            "trajectories_per_s",
                            "cpu_ms_per_trajectory",
                            "llm_requests_per_trajectory",
                        )
                    },
                    "trajectories": _median(runs, "trajectories"),
                    "load_avg": os.getloadavg()[0],
                }
            )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    result: dict[str, Any] = {
        "commit": commit,
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "settings": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "multi_turn.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Multi-turn pipeline: trajectories per second and CPU per trajectory",
        "",
        f"Run {result['date']} at commit `{commit}` on {result['cpus']} CPUs. "
        "`python bench/multi_turn.py` writes this file.",
        "",
        "Every multi-turn stage in one process on the embedded log; the simulated endpoint",
        "in a process of its own (its CPU is not counted). Medians of the runs; CPU is this",
        "process's user + system time over the run (start-up and export included) divided by",
        "the verified trajectories.",
        "",
        "| endpoint latency (ms) | tasks | trajectories | wall (s) | trajectories/s "
        "| CPU ms / trajectory | LLM requests / trajectory | load avg |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['latency_ms']:g} | {r['samples']} | {r['trajectories']:.0f} "
            f"| {r['median_wall_s']:.1f} | {r['median_trajectories_per_s']:.1f} "
            f"| {r['median_cpu_ms_per_trajectory']:.1f} "
            f"| {r['median_llm_requests_per_trajectory']:.1f} | {r['load_avg']:.2f} |"
        )
    (RESULTS / "multi_turn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
