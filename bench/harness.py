"""The benchmark harness: our pipeline and distilabel's APIGen side by side, one command.

    bench/run                 # everything (~10 min on 2 shared cores); creates the
                              # distilabel environment bench/.venv-distilabel if missing
    bench/run --quick         # a smoke run (~1-3 min): small sizes, no Kafka, no distilabel
    bench/run --quick --kafka --distilabel    # add either side to a quick run

Writes ``bench/results/pipeline.json``, ``bench/results/report.md`` and PNG plots next to
them (``--out`` elsewhere). What is measured and how is in each module's docstring:
:mod:`bench._e2e` (end to end), :mod:`bench._stages` (per stage, replay),
:mod:`bench._distilabel` (the other side), :mod:`bench._profile` (where the CPU goes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ._e2e import E2eCase, run_e2e
from ._endpoint import REPO

__all__ = ["Plan", "main", "run"]

RESULTS = REPO / "bench" / "results"
WORK = REPO / "bench" / ".work"


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes of one harness run.

    samples: tasks per end-to-end case; long_samples: tasks of the memory run.
    stage_events: events per stage measurement; replay_events: retained events replayed.
    distilabel_sizes: rows per distilabel run at 0 ms; distilabel_batch: its tuned batch.
    """

    samples: int
    long_samples: int
    stage_events: int
    replay_events: int
    distilabel_sizes: tuple[int, ...]
    distilabel_batch: int = 200
    kafka: bool = True
    distilabel: bool = True
    profile: bool = True


FULL = Plan(
    samples=3000,
    long_samples=20_000,
    stage_events=2000,
    replay_events=100_000,
    distilabel_sizes=(200, 1000),
)
QUICK = Plan(
    samples=150,
    long_samples=300,
    stage_events=200,
    replay_events=2000,
    distilabel_sizes=(100,),
    kafka=False,
    distilabel=False,
    profile=False,
)


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _stages(plan: Plan, work: Path) -> dict[str, Any]:
    out = work / "stages.json"
    cmd = [sys.executable, "-m", "bench._stages", "--events", str(plan.stage_events),
           "--replay", str(plan.replay_events), "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, cwd=REPO, check=True)
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _kafka_bootstrap(stack: list[Any], work: Path) -> str:
    from streamer.broker._kafka import LocalKafkaBroker

    broker = LocalKafkaBroker(work / "kafka")
    stack.append(broker)
    return broker.start()


def run(plan: Plan, out: Path, work: Path = WORK) -> dict[str, Any]:
    """Run ``plan``; write ``pipeline.json``, the report and plots to ``out``.

    ``pipeline.json`` is rewritten after every section (``"complete": false`` until the
    end), so a failure late in a long run keeps what was measured before it.
    """
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"complete": False, "machine_before": _machine()}
    results["plan"] = asdict(plan)

    def save() -> None:
        (out / "pipeline.json").write_text(json.dumps(results, indent=2) + "\n")

    cases = [
        E2eCase("embedded-0ms", plan.samples, 0.0),
        E2eCase("embedded-200ms", plan.samples, 200.0),
    ]
    brokers: list[Any] = []
    e2e: list[dict[str, Any]] = []
    results["e2e"] = e2e
    try:
        if plan.kafka:
            _log("starting the Kafka broker")
            bootstrap = _kafka_bootstrap(brokers, work)
            cases += [
                E2eCase("kafka-0ms", plan.samples, 0.0, kafka=bootstrap),
                E2eCase("kafka-200ms", plan.samples, 200.0, kafka=bootstrap),
            ]
        for case in cases:
            _log(f"end to end: {case.name}, {case.samples} tasks")
            e2e.append(run_e2e(case, work))
            _log(f"  {_brief(e2e[-1])}")
            save()
    finally:
        for broker in brokers:
            broker.stop()
    _log(f"long run for memory: {plan.long_samples} tasks, embedded, 0 ms")
    results["long_run"] = run_e2e(E2eCase("long-embedded-0ms", plan.long_samples, 0.0), work)
    _log(f"  {_brief(results['long_run'])}")
    save()
    _log("per-stage throughput and replay")
    results["stages"] = _stages(plan, work)
    save()
    if plan.profile:
        results["profile"] = _profile(plan, work, out)
        save()
    if plan.distilabel:
        results["distilabel"] = _distilabel(plan, work, save, results)
    results["machine_after"] = _machine()
    results["complete"] = True
    save()
    from ._report import write_report

    write_report(results, out)
    _log(f"wrote {out / 'pipeline.json'} and {out / 'report.md'}")
    return results


def _brief(r: dict[str, Any]) -> str:
    return (
        f"{r['verified']} verified, {r['verified_per_s']}/s, "
        f"{r['cpu_ms_per_verified']} ms CPU/verified "
        f"(steady {r.get('steady_cpu_ms_per_verified')}), peak PSS {r['pss_peak_mb']} MB"
    )


def _profile(plan: Plan, work: Path, out: Path) -> dict[str, Any]:
    from ._e2e import profile_e2e

    _log("profiling one end-to-end run (py-spy)")
    return profile_e2e(E2eCase("profile-embedded-0ms", plan.samples, 0.0), work)


def _distilabel(
    plan: Plan, work: Path, save: Callable[[], None], results: dict[str, Any]
) -> list[dict[str, Any]]:
    from ._distilabel import ensure_venv, run_distilabel

    _log("distilabel: preparing bench/.venv-distilabel")
    python = ensure_venv()
    runs: list[tuple[int, float, int]] = [(n, 0.0, 50) for n in plan.distilabel_sizes]
    largest = max(plan.distilabel_sizes)
    runs += [(largest, 200.0, 50), (largest, 200.0, plan.distilabel_batch)]
    runs_done: list[dict[str, Any]] = []
    results["distilabel"] = runs_done
    for n, latency, batch in runs:
        _log(f"distilabel: {n} rows, {latency:g} ms, batch {batch}")
        runs_done.append(run_distilabel(python, n, latency, batch, work))
        save()
        r = runs_done[-1]
        _log(f"  {r['verified']} verified, {r['verified_per_s']}/s, {r['cpu_ms_per_verified']} ms")
    return runs_done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch directory")
    for flag in ("kafka", "distilabel", "profile"):
        parser.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    overrides = {k: getattr(args, k) for k in ("kafka", "distilabel", "profile")}
    plan = replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    run(plan, args.out, args.work)
