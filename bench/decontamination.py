"""Benchmark: what decontamination costs (issue 22) — index build and per-pair match.

Indexes the BFCL v4 reference set in ``../shared/data/bfcl`` (questions and gold answers),
then matches queries of three kinds against it: BFCL's own questions (every one a hit),
the glaive conversations' user turns and the xLAM sample rows (misses). Reports the build
time, the items indexed and the median, p95 and max time per match per kind, over
``--repeat`` rounds, with the load average beside them. Writes
``bench/results/decontamination.{json,md}``.

    .venv/bin/python bench/decontamination.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from streamer.decontamination import ContaminationIndex, read_reference_set

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"


def _queries() -> dict[str, list[str]]:
    bfcl = [i.query for i in read_reference_set(DATA / "bfcl").items]
    glaive = [
        turn["value"]
        for record in json.loads((DATA / "glaive" / "glaive_toolcall_en_demo.json").read_text())
        for turn in record.get("conversations", [])
        if turn.get("from") == "human"
    ]
    xlam = [
        json.loads(line)["query"]
        for line in (DATA / "xlam" / "xlam60k_sample.jsonl").read_text().splitlines()
    ]
    return {"bfcl (hits)": bfcl, "glaive (misses)": glaive, "xlam (misses)": xlam}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds over every query")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    reference = read_reference_set(DATA / "bfcl")
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    index = ContaminationIndex([reference])
    build_s = time.perf_counter() - started
    kinds: dict[str, Any] = {}
    for kind, queries in _queries().items():
        times: list[float] = []
        hits = 0
        for _ in range(args.repeat):
            for query in queries:
                t = time.perf_counter()
                hits += index.match(query) is not None
                times.append((time.perf_counter() - t) * 1e6)
        kinds[kind] = {
            "queries": len(queries),
            "hit_share": round(hits / (len(queries) * args.repeat), 4),
            "median_us": round(statistics.median(times), 1),
            "p95_us": round(_percentile(times, 0.95), 1),
            "max_us": round(max(times), 1),
        }
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_1min": round(load, 2),
        "cpus": os.cpu_count(),
        "items": index.items,
        "read_s": round(read_s, 3),
        "build_s": round(build_s, 3),
        "repeat": args.repeat,
        "kinds": kinds,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "decontamination.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Decontamination: index build and per-pair cost (issue 22)",
        "",
        f"Measured {result['when']} by `bench/decontamination.py` ({result['cpus']} cores, "
        f"load average {result['load_1min']}). Reference set: BFCL v4 "
        f"(`../shared/data/bfcl`), {index.items:,} items; read in {read_s:.2f} s, indexed "
        f"in {build_s:.2f} s (once per process). Each query matched {args.repeat} times.",
        "",
        "| Queries | Count | Matched | Median | p95 | Max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, k in kinds.items():
        lines.append(
            f"| {kind} | {k['queries']:,} | {k['hit_share']:.0%} | {k['median_us']} µs | "
            f"{k['p95_us']} µs | {k['max_us']} µs |"
        )
    (RESULTS / "decontamination.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
