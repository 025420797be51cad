"""Report: ``apigen check`` over the real glaive, xLAM and BFCL files in ``../shared/data``.

Runs the real CLI (``python -m streamer check ... --summary-json``) per dataset, once with
the format and execution stages and once with the semantic stage's rules too (no judge),
and writes the counts per stage and reason, the calls not run by cause, and a hand-checked
sample of rejects to ``bench/results/check_real_data.{json,md}``.

The sample: every reject below whose (id, stage, reason) is in :data:`LABELS` — labels made
by reading each record (query, tools, answer) and deciding whether the checker was right to
reject it. A labelled reject the run no longer produces is listed as stale; a reject with no
label is counted as unlabelled (label it when a stage changes).

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

# (id, stage, reason) -> (right|wrong, why). Made by reading each record on 2026-12-07.
LABELS: dict[Key, tuple[str, str]] = {
    # glaive
    ("glaive_toolcall_en_demo.json[259]", "format", "type_mismatch"): (
        "right",
        "calories_per_item is declared a number; the call passes a list (the record "
        "contradicts its own schema)",
    ),
    **{
        (f"glaive_toolcall_en_demo.json[{n}]#turn{k}", "semantic", "ungrounded_arguments"): (
            "wrong",
            "the ticker (AAPL/MSFT) is the right rendering of the company the user names",
        )
        for n in (64, 107, 109)
        for k in (1, 2)
    },
    **{
        (f"glaive_toolcall_en_demo.json[212]#turn{k}", "semantic", "ungrounded_arguments"): (
            "wrong",
            "the coordinates are the named cities' (New York/LA, Paris/Berlin); the tool "
            "takes coordinates, so the call is right",
        )
        for k in (1, 2)
    },
    # BFCL: format rejects of gold answers (label noise: the answer breaks its own schema)
    ("live_multiple_87-38-4", "format", "enum_violation"): (
        "right",
        "'openai' is not among the enum ['all', 'postgres', 'openapi', 'graphql']",
    ),
    ("live_multiple_750-169-5", "format", "enum_violation"): (
        "right",
        "genre 'Any' is not an allowed genre",
    ),
    ("live_multiple_756-169-11", "format", "enum_violation"): (
        "right",
        "'horror' is not 'Horror': the enum is case-sensitive",
    ),
    ("live_multiple_835-178-10", "format", "enum_violation"): (
        "right",
        "'Reggaeton' is not in the genre enum",
    ),
    ("live_multiple_871-182-8", "format", "enum_violation"): (
        "right",
        "genre 'Play' is not in the enum",
    ),
    ("live_multiple_947-197-0", "format", "enum_violation"): (
        "right",
        "'5 minutes' is not one of the allowed durations",
    ),
    ("live_parallel_multiple_2-2-0", "format", "enum_violation"): (
        "right",
        "the bedroom air-purifier command is not one of the three enum commands",
    ),
    ("exec_multiple_0", "format", "invalid_call"): (
        "right",
        "p=1/6 is an expression; gold calls are data and are never evaluated",
    ),
    ("exec_parallel_multiple_11", "format", "invalid_call"): (
        "right",
        "amount=500*500 is an expression, not a literal",
    ),
    ("live_multiple_507-149-4", "format", "missing_required"): (
        "right",
        "origin_airport is required and its only acceptable value is '' (omitted)",
    ),
    ("live_simple_106-63-0", "format", "missing_required"): (
        "right",
        "record() requires auto_loan_payment_start and bank_hours_start; the gold gives no value",
    ),
    ("live_simple_112-68-0", "format", "missing_required"): (
        "right",
        "five required fields of record() have no acceptable value in the gold",
    ),
    **{
        (rid, "format", "type_mismatch"): (
            "right",
            "a boolean/integer for a string parameter (the enum is 'True'/'False' or '1'/'2'/'3')",
        )
        for rid in (
            "live_multiple_552-153-1",
            "live_multiple_595-158-1",
            "live_multiple_596-158-2",
            "live_multiple_731-167-2",
            "live_multiple_733-167-4",
            "live_multiple_735-167-6",
        )
    },
    ("parallel_multiple_21", "format", "type_mismatch"): (
        "right",
        "the string \"data['sales']\" for an array parameter",
    ),
    ("parallel_multiple_94", "format", "type_mismatch"): (
        "right",
        "'apple' in a list the schema declares as integers (the schema is wrong, the record "
        "is inconsistent)",
    ),
    ("exec_parallel_31", "format", "type_mismatch"): (
        "right",
        "a matrix for a parameter BFCL declares as a list of integers (schema and answer disagree)",
    ),
    ("exec_parallel_multiple_31", "format", "type_mismatch"): (
        "right",
        "same mat_mul schema: rows where the schema says integers",
    ),
    ("live_multiple_189-83-0", "format", "unknown_argument"): (
        "right",
        "data declares param1/param2; the answer sends name/email",
    ),
    ("live_multiple_862-181-3", "format", "unknown_argument"): (
        "right",
        "Trains_1_FindTrains has no journey_start_time parameter",
    ),
    ("live_multiple_964-207-0", "format", "unknown_argument"): (
        "right",
        "transfer_to_human_agent takes statement, not question (and statement is required)",
    ),
    ("parallel_multiple_26", "format", "unknown_argument"): (
        "right",
        "bank.calculate_balance has no type parameter",
    ),
    ("exec_multiple_45", "format", "unknown_argument"): (
        "right",
        "book_room has no price parameter",
    ),
    # BFCL: semantic rule rejects of gold answers (every 4th of them, by id)
    ("parallel_multiple_66", "semantic", "missing_calls"): (
        "wrong",
        "the query numbers three requests and the answer makes those three calls",
    ),
    ("exec_multiple_7", "semantic", "ungrounded_arguments"): (
        "wrong",
        "22..80 in steps of 2 is exactly the series the query describes",
    ),
    ("live_multiple_1040-267-0", "semantic", "ungrounded_arguments"): (
        "right",
        "'Not specified' is a placeholder, and the university the user names is put in the "
        "type field instead",
    ),
    ("live_multiple_18-4-10", "semantic", "ungrounded_arguments"): (
        "wrong",
        "the typo 'airtificial' corrected and 2023.10.1-7 written as ISO dates",
    ),
    ("live_multiple_464-145-15", "semantic", "ungrounded_arguments"): (
        "wrong",
        "'Orlanda' is Orlando, FL",
    ),
    ("live_multiple_668-162-10", "semantic", "ungrounded_arguments"): (
        "wrong",
        "NY is New York, NY and 'Tuesday next week' from 2023-10-10 is 2023-10-17",
    ),
    ("live_multiple_875-183-0", "semantic", "ungrounded_arguments"): (
        "wrong",
        "SF is San Francisco, CA",
    ),
    ("live_multiple_927-191-15", "semantic", "ungrounded_arguments"): (
        "wrong",
        "4.5 is a fair reading of 'a high average rating' (BFCL accepts it)",
    ),
    ("live_multiple_971-212-0", "semantic", "ungrounded_arguments"): (
        "wrong",
        "4.0 for 'good rating' and province 1 = Bangkok as the tool documents",
    ),
    ("live_multiple_979-215-3", "semantic", "ungrounded_arguments"): (
        "wrong",
        "the ids are the tool's documented codes for Bangkok, cleaning and ironing",
    ),
    ("live_multiple_984-215-8", "semantic", "ungrounded_arguments"): (
        "right",
        "the query says only 'ID 3726'; nothing grounds province_id=1",
    ),
    ("live_simple_13-3-9", "semantic", "ungrounded_arguments"): (
        "wrong",
        "上海 is Shanghai, China (the query is in Chinese)",
    ),
    ("live_simple_149-95-6", "semantic", "ungrounded_arguments"): (
        "wrong",
        "'echo hi' is what 'say hi using the echo command' asks for",
    ),
    ("live_simple_180-105-0", "semantic", "ungrounded_arguments"): (
        "wrong",
        "service 2 = ironing and province 1 = Bangkok are the tool's documented codes",
    ),
    ("live_simple_235-124-0", "semantic", "ungrounded_arguments"): (
        "wrong",
        "'track:Friends artist:Marshmello' is the tool's documented query syntax for the request",
    ),
    ("live_simple_239-125-2", "semantic", "ungrounded_arguments"): (
        "wrong",
        "the added artist (Ed Sheeran) is correct; the call does what was asked",
    ),
    ("multiple_148", "semantic", "ungrounded_arguments"): (
        "wrong",
        "'detailed' is 'detail information'; Apple trades on NASDAQ",
    ),
    ("parallel_17", "semantic", "ungrounded_arguments"): (
        "wrong",
        "AAPL, GOOG, MSFT are the named companies' tickers",
    ),
    ("simple_python_116", "semantic", "ungrounded_arguments"): (
        "wrong",
        "a deck has 4 kings; rounding to 2 places is a documented default-like choice",
    ),
    ("simple_python_32", "semantic", "ungrounded_arguments"): (
        "wrong",
        "'dropped' means initial velocity 0; 9.8 is standard gravity",
    ),
    ("simple_python_42", "semantic", "ungrounded_arguments"): (
        "wrong",
        "50 mH = 0.05 H and 100 µF = 0.0001 F: unit conversions of the query's values",
    ),
}


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
        "The semantic stage runs its rules only (no judge); its grounding rule was being",
        "rewritten by parallel work when this was run, so its rows are a snapshot.",
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
        "Format and reader rejects are right: on real data every one is a record that breaks",
        "its own schema (BFCL's and glaive's label noise), an expression where a gold call must",
        "hold data, or a required value the gold leaves out. The wrong class is the semantic",
        "stage's rules (`ungrounded_arguments`, `missing_calls`) on correct gold answers: the",
        "rows below show translations, unit conversions, documented id codes, typo fixes and",
        "world knowledge (tickers, coordinates, city names) counted as ungrounded. Any shortfall",
        "from 90 % is that class; the format+execution verdicts stand on their own.",
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
