"""End to end: ``apigen run`` as its own process tree against the separate simulated endpoint.

Measured: verified pairs per second (wall), CPU seconds per verified pair of the ``apigen``
tree (the run process and its Python executor workers; the endpoint is a separate process
and not counted) in total and in steady state (the slope of CPU over verified pairs between
20 % and 90 % of the run, which leaves start-up imports and the final export out), summed
PSS over time, and the endpoint's utilization.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._endpoint import REPO, Endpoint, InFlightProbe
from ._procs import Sample, TreeRun, run_tree

__all__ = ["E2eCase", "run_e2e", "steady_slope"]


@dataclass(frozen=True, slots=True)
class E2eCase:
    """One end-to-end configuration.

    samples: tasks the run issues (one query/answer pair each).
    latency_ms: the endpoint's fixed latency in milliseconds.
    endpoint_limit: requests the endpoint answers at once (its concurrency cap).
    client_limit: requests the generator client keeps in flight at most.
    kafka: bootstrap servers, or None for the embedded log.
    processes: ``[runner] processes`` of the run (1 to 3; see streamer.pipeline._processes),
        None to leave the run's default.
    partitions: partitions of every topic the run creates.
    """

    name: str
    samples: int
    latency_ms: float
    endpoint_limit: int = 100
    client_limit: int = 128
    kafka: str | None = None
    processes: int | None = None
    partitions: int = 4


def _config(case: E2eCase, endpoint: Endpoint, out: Path) -> str:
    # A namespace per Kafka run: runs on one broker must not share topics (partition
    # counts differ between cases) or consumer groups' committed offsets.
    log = (
        f'kafka = "{case.kafka}"\nnamespace = "bench-{uuid.uuid4().hex[:12]}"'
        if case.kafka
        else f'path = "{out / "log.db"}"'
    )
    model = f'''kind = "openai"
base_url = "{endpoint.base_url}"
model = "simulated-bench"
timeout_s = 120.0
'''
    return f"""out = "{out}"
samples = {case.samples}
partitions = {case.partitions}

[log]
{log}

[sampler]
seed = 0
pairs = 1
feedback = false
max_outstanding = {max(512, 4 * case.client_limit)}

[runner]
concurrency = {case.client_limit + 32}
{"" if case.processes is None else f"processes = {case.processes}"}

[[generators]]
{model}name = "simulated-bench"
max_concurrency = {case.client_limit}

[[judges]]
{model}name = "simulated-judge"
max_concurrency = {case.client_limit}
"""


def _verified(db: Path) -> float:
    if not db.exists():
        return 0.0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM outcomes WHERE stage='semantic'").fetchone()
        return float(n)
    except sqlite3.Error:
        return 0.0


def steady_slope(samples: list[Sample], lo: float = 0.2, hi: float = 0.9) -> float | None:
    """CPU seconds per unit of progress between ``lo`` and ``hi`` of the final progress."""
    if not samples or samples[-1].progress <= 0:
        return None
    final = max(s.progress for s in samples)
    a = next((s for s in samples if s.progress >= lo * final), None)
    b = next((s for s in samples if s.progress >= hi * final), None)
    if a is None or b is None or b.progress <= a.progress:
        return None
    return (b.cpu_s - a.cpu_s) / (b.progress - a.progress)


def _funnel(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT stage, reason, COUNT(*) FROM outcomes GROUP BY 1, 2")
        return {f"{stage}:{reason}": n for stage, reason, n in rows}


def _fresh_dir(work: Path, case: E2eCase) -> Path:
    """``work/<case name>`` without the logs and stores of an earlier run."""
    out = work.resolve() / case.name
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.db*"):
        stale.unlink()
    return out


def run_e2e(case: E2eCase, work: Path, repo: Path = REPO) -> dict[str, Any]:
    """Run ``case`` once in ``work/<name>``; returns the measured numbers.

    ``repo`` is the source tree whose ``apigen run`` is measured (another checkout for an
    A/B comparison: ``python -m streamer`` imports from its working directory first).
    """
    out = _fresh_dir(work, case)
    with Endpoint(case.latency_ms, case.endpoint_limit, out) as endpoint:
        cfg = out / "apigen.toml"
        cfg.write_text(_config(case, endpoint, out))
        db = out / "dataset.db"
        cmd = [sys.executable, "-m", "streamer", "run", "--config", str(cfg)]
        stats0 = endpoint.stats()
        with InFlightProbe(endpoint) as probe:
            tree: TreeRun = run_tree(cmd, cwd=repo, progress=lambda: _verified(db), logs=out)
        stats1 = endpoint.stats()
    if tree.returncode != 0:
        raise RuntimeError(f"apigen run failed ({tree.returncode}): {tree.stderr[-2000:]}")
    funnel = _funnel(db)
    verified = funnel.get("semantic:pass", 0)
    busy = probe.busy_window()
    middle = busy[len(busy) // 10 : len(busy) - len(busy) // 10] if busy else []
    requests = stats1["requests"] - stats0["requests"]
    per_verified = tree.cpu_s / verified if verified else None
    steady = steady_slope(tree.samples)
    return {
        "case": case.name,
        "transport": "kafka" if case.kafka else "embedded",
        "samples": case.samples,
        "latency_ms": case.latency_ms,
        "endpoint_limit": case.endpoint_limit,
        "client_limit": case.client_limit,
        "verified": verified,
        "funnel": funnel,
        "wall_s": round(tree.wall_s, 3),
        "verified_per_s": round(verified / tree.wall_s, 2),
        "cpu_s": round(tree.cpu_s, 3),
        "cpu_ms_per_verified": round(per_verified * 1e3, 3) if per_verified else None,
        "steady_cpu_ms_per_verified": round(steady * 1e3, 3) if steady else None,
        "pss_peak_mb": round(tree.pss_peak_bytes / 2**20, 1),
        "pss_steady_mb": _steady_pss_mb(tree.samples),
        "processes": max((s.processes for s in tree.samples), default=0),
        "layout_processes": case.processes or 1,
        "partitions": case.partitions,
        "endpoint_requests": requests,
        "endpoint_mean_in_flight": round(statistics.fmean(busy), 2) if busy else 0.0,
        "endpoint_utilization": round(statistics.fmean(busy) / case.endpoint_limit, 4)
        if busy
        else 0.0,
        "endpoint_utilization_steady": round(statistics.fmean(middle) / case.endpoint_limit, 4)
        if middle
        else 0.0,
        "series": [
            {
                "t_s": round(s.t_s, 2),
                "pss_mb": round(s.pss_bytes / 2**20, 1),
                "cpu_s": round(s.cpu_s, 2),
                "verified": s.progress,
            }
            for s in tree.samples
        ],
        "in_flight_series": probe.samples[::4],
    }


def _steady_pss_mb(samples: list[Sample]) -> float:
    """Median summed PSS over the second half of the run (MiB)."""
    half = samples[len(samples) // 2 :]
    return round(statistics.median(s.pss_bytes for s in half) / 2**20, 1) if half else 0.0


def profile_e2e(case: E2eCase, work: Path) -> dict[str, Any]:
    """``case`` once more under py-spy (samples slow it; its numbers are not reported)."""
    from ._profile import profile_run, summarize

    out = _fresh_dir(work, case)
    with Endpoint(case.latency_ms, case.endpoint_limit, out) as endpoint:
        cfg = out / "apigen.toml"
        cfg.write_text(_config(case, endpoint, out))
        raw = profile_run([sys.executable, "-m", "streamer", "run", "--config", str(cfg)], out)
    if raw is None:
        return {"error": "py-spy is not available"}
    return {
        "case": case.name,
        "raw": str(raw),
        **summarize(raw),
        "steady": summarize(raw, steady=True),
    }
