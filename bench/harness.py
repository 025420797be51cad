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
import statistics
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
    repeats: runs per end-to-end case; the report quotes each figure's median.
    layouts: ``[runner] processes`` values every end-to-end case is measured with.
    scale_samples: tasks per scale-out point (processes 1-3 x partitions 1, 2, 4 at
        0 ms and 200 ms); 0 skips the scale-out.
    curve_sizes: tasks per point of the CPU-per-pair curve (embedded, 0 ms, the default
        layout); the largest is also the memory run, replacing ``long_samples``.
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
    repeats: int = 1
    layouts: tuple[int, ...] = (1,)
    scale_samples: int = 0
    curve_sizes: tuple[int, ...] = ()


FULL = Plan(
    samples=3000,
    long_samples=20_000,
    stage_events=2000,
    replay_events=100_000,
    distilabel_sizes=(200, 1000),
    repeats=3,
    layouts=(1, 3),
    scale_samples=2000,
    curve_sizes=(1000, 10_000, 100_000),
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

    cases = _layouts(plan, [
        E2eCase("embedded-0ms", plan.samples, 0.0),
        E2eCase("embedded-200ms", plan.samples, 200.0),
    ])  # fmt: skip
    brokers: list[Any] = []
    bootstrap: str | None = None
    e2e: list[dict[str, Any]] = []
    results["e2e"] = e2e
    try:
        if plan.kafka:
            _log("starting the Kafka broker")
            bootstrap = _kafka_bootstrap(brokers, work)
            cases += _layouts(plan, [
                E2eCase("kafka-0ms", plan.samples, 0.0, kafka=bootstrap),
                E2eCase("kafka-200ms", plan.samples, 200.0, kafka=bootstrap),
            ])  # fmt: skip
        for case in cases:
            _log(f"end to end: {case.name}, {case.samples} tasks, {plan.repeats} run(s)")
            e2e.append(_repeated(case, work, plan.repeats))
            _log(f"  median: {_brief(e2e[-1])}")
            save()
        if plan.scale_samples:
            results["scale_out"] = _scale_out(plan, work, bootstrap, save)
    finally:
        for broker in brokers:
            broker.stop()
    curve: list[dict[str, Any]] = []
    results["curve"] = curve
    for n in plan.curve_sizes[:-1]:
        _log(f"CPU-per-pair curve: {n} tasks, embedded, 0 ms")
        curve.append(_slim(run_e2e(E2eCase(f"curve-embedded-0ms-{n}", n, 0.0), work)))
        _log(f"  {_brief(curve[-1])}")
        save()
    long_samples = plan.curve_sizes[-1] if plan.curve_sizes else plan.long_samples
    _log(f"long run for memory: {long_samples} tasks, embedded, 0 ms")
    results["long_run"] = run_e2e(E2eCase("long-embedded-0ms", long_samples, 0.0), work)
    if plan.curve_sizes:
        curve.append(_slim(results["long_run"]))
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


MEDIAN_KEYS = (
    "wall_s",
    "verified_per_s",
    "cpu_s",
    "cpu_ms_per_verified",
    "steady_cpu_ms_per_verified",
    "pss_peak_mb",
    "pss_steady_mb",
    "endpoint_mean_in_flight",
    "endpoint_utilization",
    "endpoint_utilization_steady",
)


def _layouts(plan: Plan, cases: list[E2eCase]) -> list[E2eCase]:
    """Each case once per layout; the default layout (1 process) keeps the case's name."""
    return [
        replace(c, name=c.name if p == 1 else f"{c.name}-p{p}", processes=p)
        for c in cases
        for p in plan.layouts
    ]


def _slim(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in ("series", "in_flight_series", "funnel")}


def _repeated(case: E2eCase, work: Path, repeats: int) -> dict[str, Any]:
    """``case`` run ``repeats`` times: the run of median verified/s (its series for the
    plots), with every figure of :data:`MEDIAN_KEYS` replaced by its median over the runs
    and the runs' own figures under ``runs``."""
    runs = [run_e2e(case, work) for _ in range(repeats)]
    ordered = sorted(runs, key=lambda r: r["verified_per_s"])
    result = dict(ordered[len(ordered) // 2])
    for key in MEDIAN_KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            result[key] = round(statistics.median(values), 4)
    result["repeats"] = repeats
    result["runs"] = [{k: r.get(k) for k in MEDIAN_KEYS} for r in runs]
    return result


def _scale_out(
    plan: Plan, work: Path, bootstrap: str | None, save: Callable[[], None]
) -> list[dict[str, Any]]:
    """Verified/s against processes (1-3) and partitions (1, 2, 4), 0 and 200 ms, on the
    embedded log and (with ``bootstrap``) on Kafka; one run per point."""
    points: list[dict[str, Any]] = []
    transports: list[tuple[str, str | None]] = [("embedded", None)]
    if bootstrap:
        transports.append(("kafka", bootstrap))
    for transport, kafka in transports:
        for latency in (0.0, 200.0):
            for processes in (1, 2, 3):
                for partitions in (1, 2, 4):
                    name = f"scale-{transport}-{latency:g}ms-p{processes}-k{partitions}"
                    case = E2eCase(name, plan.scale_samples, latency, kafka=kafka,
                                   processes=processes, partitions=partitions)  # fmt: skip
                    _log(f"scale-out: {name}")
                    points.append(_slim(run_e2e(case, work)))
                    save()
    return points


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


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch directory")
    for flag in ("kafka", "distilabel", "profile"):
        parser.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="runs per end-to-end case")
    parser.add_argument("--samples", type=int, default=None, help="tasks per end-to-end case")
    parser.add_argument("--scale-samples", type=int, default=None, help="tasks per scale point")
    parser.add_argument("--curve", type=_sizes, default=None, help="curve sizes, e.g. 1000,10000")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    sizes = {"repeats": args.repeats, "samples": args.samples,
             "scale_samples": args.scale_samples, "curve_sizes": args.curve}  # fmt: skip
    plan = replace(plan, **{k: v for k, v in sizes.items() if v is not None})
    overrides = {k: getattr(args, k) for k in ("kafka", "distilabel", "profile")}
    plan = replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    run(plan, args.out, args.work)
