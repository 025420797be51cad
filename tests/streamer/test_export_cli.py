"""`apigen export` on a real dataset store, and the exported files back through `apigen check`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from executors import ApiLibrary
from streamer.cli import _check as _cli_check
from streamer.cli._app import app as apigen
from streamer.dataset._store import DatasetStore
from streamer.stages import tool_from_spec
from topics import Call, CallResult, EventMeta, Judgement, QueryStyle, Sample, SemanticPass

runner = CliRunner()
# The commands as _cli_check registers them (independent of what else streamer.cli adds).
app = typer.Typer()
_cli_check.register(app)

CASES = [
    ("What is the greatest common divisor of 36 and 48?", "math_gcd", {"a": 36, "b": 48}, 12),
    ("What is the least common multiple of 12 and 18?", "math_lcm", {"a": 12, "b": 18}, 36),
    ("Give me the prime factors of 456.", "get_prime_factors", {"number": 456}, [2, 2, 2, 3, 19]),
]


def make_run_dir(path: Path) -> Path:
    """A run directory whose store holds three verified pairs over built-in functions."""
    library = ApiLibrary.builtin()
    store = DatasetStore(path / "dataset.db")
    for i, (query, name, arguments, result) in enumerate(CASES):
        meta = EventMeta(f"s{i}", None, f"s{i}", "sampler", "v")
        sample = Sample(meta, QueryStyle.SIMPLE, (tool_from_spec(library.get(name)),))
        store.add(
            SemanticPass(
                meta=meta.child("semantic", "v1"),
                sample=sample,
                model="simulated-test",
                pair_index=0,
                query=query,
                calls=(Call(name, arguments),),
                results=(CallResult(ok=True, result=result),),
                judgement=Judgement(passed=True, reasoning="ok"),
            )
        )
    store.close()
    return path


def test_export_every_format(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = dict(line.split("\t") for line in result.stdout.splitlines())
    assert set(written) == {"xlam", "openai", "sharegpt", "parquet", "card"}
    assert all(Path(p).parent == out and Path(p).is_file() for p in written.values())
    xlam = [json.loads(line) for line in (out / "xlam.jsonl").read_text().splitlines()]
    assert sorted(r["query"] for r in xlam) == sorted(c[0] for c in CASES)
    assert isinstance(xlam[0]["answers"], str) and isinstance(xlam[0]["tools"], str)
    assert pq.read_table(out / "dataset.parquet").num_rows == 3
    assert "- Records: **3**" in (out / "README.md").read_text()
    assert "exported 3 records" in result.stderr


def test_export_a_subset_into_the_run_dir(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), "--format", "openai", "--format", "xlam"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith("dataset.db")) == [
        "openai.jsonl",
        "xlam.jsonl",
    ]


def test_export_usage_errors(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), "--format", "csv"])
    assert result.exit_code == 2 and "csv" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["export", str(empty)])
    assert result.exit_code == 2 and "dataset.db" in result.stderr
    assert not (empty / "dataset.db").exists()  # no store is created by looking


def test_exported_files_pass_apigen_check_with_execution(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    assert runner.invoke(app, ["export", str(run)]).exit_code == 0
    result = runner.invoke(app, ["check", str(run / "openai.jsonl"), str(run / "xlam.jsonl")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 6 and {r["verdict"] for r in rows} == {"pass"}
    # OpenAI records carry the library's schemas verbatim, so their calls really run.
    assert [r["stages"] for r in rows[:3]] == [["format", "execution"]] * 3


@pytest.mark.slow
def test_simulated_run_export_check_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--simulate", "--samples", "12", "--out", str(out), "--no-feedback"]
    result = runner.invoke(apigen, args)
    assert result.exit_code == 0, result.output
    records = len((out / "openai.jsonl").read_text().splitlines())
    assert records > 0
    again = tmp_path / "again"
    assert runner.invoke(app, ["export", str(out), "--out", str(again)]).exit_code == 0
    assert (again / "openai.jsonl").read_text() == (out / "openai.jsonl").read_text()
    result = runner.invoke(app, ["check", str(again / "openai.jsonl"), "--summary-json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])["summary"]
    observed = summary.pop("observed", {})  # re-executed results vs the exported tool messages
    assert summary == {
        "records": records,
        "pass": records,
        "fail": 0,
        "skip": 0,
        "not_judged": 0,
        "by_reason": [],
    }
    assert set(observed) <= {"agrees"}, observed
    # The same run's live version, materialized from the retained topics, holds the same pairs.
    live = tmp_path / "live"
    args = ["export", "--version", "live", "--log", str(out / "log.db"), "--out", str(live)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output

    def ids(path: Path) -> set[str]:
        return {json.loads(line)["id"] for line in path.read_text().splitlines()}

    assert ids(live / "xlam.jsonl") == ids(out / "xlam.jsonl")


def test_export_version_needs_out_and_no_run_dir(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), "--version", "live", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--version" in result.stderr
    result = runner.invoke(app, ["export"])
    assert result.exit_code == 2 and "RUN_DIR" in result.stderr
