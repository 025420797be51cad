"""apigen check --decontaminate on real data: BFCL-derived xLAM rows are caught with the
ids they came from; datasets that are not BFCL (xLAM rows, glaive) lose nothing."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from executors.converters.bfcl import bfcl_schema
from streamer.cli._app import app
from streamer.dataset import normalize_query
from streamer.decontamination import read_reference_set
from tests.shared_data import shared

runner = CliRunner()


def _bfcl_rows(limit: int) -> list[dict[str, Any]]:
    """xLAM rows made from BFCL v4 simple_python: its query, its tool (as JSON Schema) and
    the first accepted value of each gold argument."""
    questions = shared("bfcl/BFCL_v4_simple_python.json").read_text().splitlines()[:limit]
    answers = {
        (a := json.loads(line))["id"]: a["ground_truth"]
        for line in shared("bfcl/possible_answer/BFCL_v4_simple_python.json")
        .read_text()
        .splitlines()
    }
    rows = []
    for line in questions:
        q = json.loads(line)
        tools = [
            {
                "name": f["name"],
                "description": f.get("description", ""),
                "parameters": bfcl_schema(f["parameters"], where=q["id"], field="parameters"),
            }
            for f in q["function"]
        ]
        calls = [
            {"name": name, "arguments": {k: v[0] for k, v in args.items() if v and v[0] != ""}}
            for call in answers[q["id"]]
            for name, args in call.items()
        ]
        query = q["question"][0][0]["content"]
        rows.append({"id": q["id"], "query": query, "tools": json.dumps(tools),
                     "answers": json.dumps(calls)})  # fmt: skip
    return rows


def _check(path: Path, *options: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["check", str(path), *options])
    assert result.exit_code in (0, 1), result.output
    return [r for r in map(json.loads, result.stdout.splitlines()) if "verdict" in r]


def test_bfcl_derived_rows_are_contaminated_with_their_ids(tmp_path: Path) -> None:
    rows = _bfcl_rows(60)
    path = tmp_path / "bfcl_xlam.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    bfcl = str(shared("bfcl"))
    plain = Counter(r["verdict"] for r in _check(path, "--stages", "format"))
    assert plain["pass"] >= 55  # the rows are well formed: what fails below is contamination
    results = _check(path, "--stages", "format", "--decontaminate", bfcl)
    caught = [r for r in results if r["reason"] == "contaminated"]
    assert len(caught) >= 57
    assert all(r["stage"] == "semantic" and r["verdict"] == "fail" for r in caught)
    # Each names the item it came from, or one of another BFCL file that asks the very same
    # question (simple_python_4 is multiple_96, word for word).
    queries = {i.id: normalize_query(i.query) for i in read_reference_set(bfcl).items}
    by_row = {r["id"]: normalize_query(r["query"]) for r in rows}
    for r in caught:
        named = re.search(r"benchmark item '([^']+)'", r["message"])
        assert named is not None and bfcl in r["message"]
        assert named[1] == r["id"] or queries[named[1]] == by_row[r["id"]], r["message"]


def test_data_that_is_not_bfcl_loses_nothing() -> None:
    bfcl = str(shared("bfcl"))
    for dataset in ("xlam/xlam60k_sample.jsonl", "glaive/glaive_toolcall_en_demo.json"):
        results = _check(shared(dataset), "--stages", "format", "--decontaminate", bfcl)
        assert results
        assert not [r for r in results if r["reason"] == "contaminated"], dataset


def test_a_missing_reference_set_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("{}")
    result = runner.invoke(app, ["check", str(path), "--decontaminate", str(tmp_path / "no")])
    # the console wraps long lines (a long temporary path) where it likes
    assert result.exit_code == 2 and "no such file" in " ".join(result.output.split())
