"""A/B end to end: the same case on two source trees, interleaved, medians compared.

    .venv/bin/python -m bench.ab --base /tmp/base --samples 1500 --rounds 3
    .venv/bin/python -m bench.ab --base /tmp/base --latency-ms 200 --samples 1500

``--base`` is another checkout of the project (e.g. ``git archive <commit> | tar -x -C
DIR``); the other side is this checkout unless ``--this`` names another. Runs alternate
base, this, base, this, ... so load from other work on the machine falls on both sides
alike. Prints per-run numbers and the
medians of CPU ms per verified pair (total and steady), verified pairs/s and endpoint
utilization; ``--out`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from ._e2e import E2eCase, run_e2e
from ._endpoint import REPO

__all__ = ["main"]

KEYS = (
    "cpu_ms_per_verified",
    "steady_cpu_ms_per_verified",
    "verified_per_s",
    "endpoint_utilization_steady",
    "pss_peak_mb",
)


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--base", type=Path, required=True, help="the other source tree")
    parser.add_argument("--this", type=Path, default=REPO, help="this side (default: here)")
    parser.add_argument("--samples", type=int, default=1500, help="tasks per run")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="endpoint latency (ms)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".work" / "ab")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    base, this = args.base.resolve(), args.this.resolve()
    for flag, tree in (("--base", base), ("--this", this)):
        if not (tree / "streamer" / "__init__.py").is_file():
            parser.error(f"{flag} {tree}: not a checkout of this project (no streamer/)")
    case = E2eCase(f"ab-{args.latency_ms:g}ms", args.samples, args.latency_ms)
    sides: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
    for i in range(args.rounds):
        for side, repo in (("base", base), ("this", this)):
            result = run_e2e(case, args.work / side, repo=repo)
            result.pop("series", None)
            result.pop("in_flight_series", None)
            sides[side].append(result)
            brief = ", ".join(f"{k}={result.get(k)}" for k in KEYS)
            print(f"[{i + 1}/{args.rounds}] {side}: {brief}", file=sys.stderr, flush=True)
    summary = {side: {k: _median(runs, k) for k in KEYS} for side, runs in sides.items()}
    for side, medians in summary.items():
        print(f"{side} (median of {args.rounds}): {json.dumps(medians)}")
    if args.out is not None:
        payload = {"case": case.name, "samples": args.samples, "summary": summary, **sides}
        args.out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
