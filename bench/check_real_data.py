"""Report: ``apigen check`` over the real glaive, xLAM and BFCL files in ``../shared/data``.

Runs the real CLI (``python -m streamer check ... --summary-json``) per dataset, once with
the format and execution stages and once with the semantic stage's rules too (no judge),
and writes the counts per stage and reason, the calls not run by cause, and a hand-checked
sample of rejects to ``bench/results/check_real_data.{json,md}``.

The sample: every reject below whose (id, stage, reason) is in
``bench/data/check_real_data_labels.jsonl`` — labels made by reading each record (query,
tools, answer) and deciding whether the checker was right to reject it. A labelled reject
the run no longer produces is listed as stale; a reject with no label is counted as
unlabelled (label it when a stage changes).

    .venv/bin/python bench/check_real_data.py           # every file (about half a minute)
    .venv/bin/python bench/check_real_data.py --quick   # glaive, xLAM, two BFCL files; prints
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"

RUNS = {
    "format+execution": "format,execution",
    "format+execution+semantic": "format,execution,semantic",
}

Key = tuple[str, str | None, str | None]

LABELS_FILE = ROOT / "bench" / "data" / "check_real_data_labels.jsonl"


def _labels(path: Path = LABELS_FILE) -> dict[Key, tuple[str, str]]:
    """(id, stage, reason) -> (right|wrong, why): one JSON line per reject read by hand
    (``id``, ``dataset``, ``stage``, ``reason``, ``label``, ``why``, ``labelled``). A label
    says whether the record really is wrong for the reason the checker gave; keyed by the
    reason too, so a reject that changes reason is unlabelled, and one the run no longer
    makes is stale."""
    out: dict[Key, tuple[str, str]] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if row["label"] not in ("right", "wrong"):
                raise SystemExit(f"{path}:{n}: label must be right or wrong, not {row['label']!r}")
            out[(row["id"], row["stage"], row["reason"])] = (row["label"], row["why"])
    return out


LABELS = _labels()


def _files(quick: bool) -> dict[str, list[Path]]:
    bfcl = DATA / "bfcl"
    if quick:
        chosen = [
            bfcl / "BFCL_v4_simple_python.json",
            bfcl / "exec/question/BFCL_v4_exec_simple.json",
        ]
    else:
        chosen = sorted(bfcl.glob("BFCL_v4_*.json")) + sorted(
            (bfcl / "exec/question").glob("*.json")
        )
    return {
        "glaive": [DATA / "glaive/glaive_toolcall_en_demo.json"],
        "xlam": [DATA / "xlam/xlam60k_sample.jsonl"],
        "bfcl": chosen,
    }


def _check(files: list[Path], stages: str) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    command = [sys.executable, "-m", "streamer", "check", *map(str, files)]
    command += ["--stages", stages, "--summary-json"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"apigen check failed ({done.returncode}): {done.stderr[-2000:]}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if not lines or "summary" not in lines[-1]:
        raise SystemExit(f"apigen check printed no summary: {done.stderr[-2000:]}")
    summary = lines.pop()["summary"]
    return lines, summary, seconds


def _commit() -> tuple[str, bool]:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    )
    return head.stdout.strip() or "unknown", bool(dirty.stdout.strip())


def _key(result: dict[str, Any]) -> Key:
    return (result["id"], result["stage"], result["reason"])


def _sample(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Labelled rejects (from the run with the semantic stage), accuracy per class."""
    seen: dict[Key, tuple[str, dict[str, Any]]] = {}
    unlabelled: Counter[str] = Counter()
    for group, run in runs["format+execution+semantic"].items():
        for result in run["rejects"]:
            if _key(result) in LABELS:
                seen[_key(result)] = (group, result)
            else:
                unlabelled[f"{result['stage']}/{result['reason']}"] += 1
    rows = []
    for key, (group, result) in sorted(
        seen.items(), key=lambda kv: (kv[1][0], kv[0][1] or "", kv[0][0])
    ):
        label, why = LABELS[key]
        rows.append(
            {
                "group": group,
                "id": key[0],
                "stage": key[1],
                "reason": key[2],
                "message": result["message"][:160],
                "label": label,
                "why": why,
            }
        )
    by_class: dict[str, Counter[str]] = {}
    for row in rows:
        cls = "format/reader" if row["stage"] in ("format", None) else str(row["stage"])
        by_class.setdefault(cls, Counter())[row["label"]] += 1
    right = sum(r["label"] == "right" for r in rows)
    return {
        "rows": rows,
        "right": right,
        "wrong": len(rows) - right,
        "by_class": {k: dict(v) for k, v in by_class.items()},
        "stale": sorted(list(k) for k in set(LABELS) - set(seen)),
        "unlabelled": dict(unlabelled),
    }


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _markdown(report: dict[str, Any]) -> str:
    out = [
        "# `apigen check` on real data: glaive, xLAM, BFCL",
        "",
        f"Run {report['date']} at commit `{report['commit']}`"
        + (" (working tree with uncommitted changes of parallel work)" if report["dirty"] else "")
        + (", quick mode" if report["quick"] else "")
        + ". `python bench/check_real_data.py` writes this file.",
        "",
        "The semantic stage runs its rules only (no judge). The hand-checked sample is read",
        "from `bench/data/check_real_data_labels.jsonl`.",
        "",
    ]
    for run_name, groups in report["runs"].items():
        out += [
            f"## {run_name}",
            "",
            "| data | records | pass | fail | skip | seconds |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for group, run in groups.items():
            s = run["summary"]
            counts = [f"{s[k]:,}" for k in ("records", "pass", "fail", "skip")]
            out.append(_row(group, *counts, f"{run['seconds']:.1f}"))
        out += [
            "",
            "| data | verdict | stage | reason | records |",
            "| --- | --- | --- | --- | ---: |",
        ]
        for group, run in groups.items():
            for row in run["summary"]["by_reason"]:
                stage = row["stage"] or "-"
                out.append(_row(group, row["verdict"], stage, row["reason"], f"{row['count']:,}"))
        out += ["", "Calls not run (execution asked for; cause: records):", ""]
        for group, run in groups.items():
            causes = ", ".join(f"{c} {n:,}" for c, n in run["summary"].get("not_run", {}).items())
            executed = run["executed"]
            seen = run["summary"].get("observed", {})
            compared = ", ".join(f"{k} {n:,}" for k, n in seen.items())
            line = f"- {group}: executed {executed:,}; not run: {causes or 'none'}"
            out.append(line + (f"; recorded outputs: {compared}" if compared else ""))
        out.append("")
    sample = report["sample"]
    total = sample["right"] + sample["wrong"]
    out += [
        "## Hand-checked rejects",
        "",
        f"{total} rejects read one by one (query, tools, answer): **{sample['right']} right, "
        f"{sample['wrong']} wrong** ({100 * sample['right'] / max(total, 1):.0f} % right).",
        "",
        "| class | right | wrong |",
        "| --- | ---: | ---: |",
    ]
    for cls, counts in sample["by_class"].items():
        out.append(f"| {cls} | {counts.get('right', 0)} | {counts.get('wrong', 0)} |")
    out += [
        "",
        "Every reject of the run is in the sample unless listed as unlabelled below. Format",
        "and reader rejects are right: on real data every one is a record that breaks its own",
        "schema (BFCL's and glaive's label noise), an expression where a gold call must hold",
        "data, or a required value the gold leaves out. The semantic rules' wrong rejects are",
        "correct gold answers resting on world knowledge no query or tool states (a deck's 52",
        "cards and 4 kings, the artist of a named song, 4.5 for 'a high rating'): left to a",
        "judge. Labels of rejects the run no longer makes are listed last as stale: the",
        "grounding now reads documented defaults and codes, city names, units, typos and",
        "ranges (`streamer/grounding/`), so the stage agrees with the rejects labelled wrong.",
        "",
        "Recorded outputs: where a glaive call ran, its result is compared with the",
        "conversation's `observation` (never changing the verdict). Of the differences,",
        "`generate_random_number` differs by nature; two `calculate_tip` calls pass",
        "`tip_percentage: 0.15`, which glaive's tool reads as a fraction (the observation",
        "says 7.5 on 50) and the library's `calculate_tip` as a percentage (0.075): same name",
        "and signature, another meaning. Binding by signature cannot see that; the recorded",
        "output can.",
        "",
        "| data | id | stage | reason | label | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in sample["rows"]:
        why = row["why"].replace("|", "/")
        cells = (row["group"], f"`{row['id']}`", row["stage"] or "-", row["reason"], row["label"])
        out.append(_row(*cells, why))
    if sample["unlabelled"]:
        out += [
            "",
            "Rejects not in the labelled sample: "
            + ", ".join(f"{k} {n}" for k, n in sorted(sample["unlabelled"].items())),
        ]
    if sample["stale"]:
        labels = Counter(LABELS[(k[0], k[1], k[2])][0] for k in sample["stale"])
        shown = ", ".join(f"`{k[0]}` {k[1]}/{k[2]}" for k in sample["stale"])
        out += [
            "",
            f"Labelled rejects this run no longer makes ({labels['wrong']} labelled wrong, "
            f"{labels['right']} right: the stage now passes them): {shown}",
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="glaive, xLAM and two BFCL files")
    args = parser.parse_args()
    groups = _files(args.quick)
    missing = [str(p) for paths in groups.values() for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"shared data missing: {missing}")
    runs: dict[str, dict[str, Any]] = {}
    for run_name, stages in RUNS.items():
        runs[run_name] = {}
        for group, files in groups.items():
            results, summary, seconds = _check(files, stages)
            runs[run_name][group] = {
                "files": [str(p.relative_to(DATA)) for p in files],
                "summary": summary,
                "seconds": round(seconds, 2),
                "executed": sum(
                    "execution" in r["stages"] and r["verdict"] != "skip" for r in results
                ),
                "rejects": [r for r in results if r["verdict"] == "fail"],
            }
            print(
                f"{run_name:28} {group:7} {summary['records']:5} records {seconds:5.1f} s",
                file=sys.stderr,
            )
    commit, dirty = _commit()
    report = {
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "dirty": dirty,
        "quick": args.quick,
        "runs": {
            name: {
                g: {k: v for k, v in run.items() if k != "rejects"} for g, run in groups_.items()
            }
            for name, groups_ in runs.items()
        },
        "sample": _sample(runs),
    }
    if args.quick:  # a smoke run: the committed report stays the full one
        print(_markdown(report))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "check_real_data.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "check_real_data.md").write_text(_markdown(report))
    print(f"wrote {RESULTS}/check_real_data.{{json,md}}", file=sys.stderr)


if __name__ == "__main__":
    main()
