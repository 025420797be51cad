"""`apigen run` as a user runs it, without a terminal: what the console says at the end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from streamer.dataset._store import DatasetStore


@pytest.mark.slow
def test_final_lines_stand_alone_and_say_how_many_duplicates_went(tmp_path: Path) -> None:
    out = tmp_path / "out"
    apigen = Path(sys.executable).with_name("apigen")
    done = subprocess.run(
        [str(apigen), "run", "--simulate", "--samples", "60", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        kept, duplicates = store.count(), store.duplicates()
    finally:
        store.close()
    assert f"{kept} verified records in {out}/" in lines  # a line of its own
    removed = sum(duplicates.values())
    said = [line for line in lines if "duplicate(s) removed" in line]
    if removed:
        assert len(said) == 1 and f"{removed} duplicate(s) removed" in said[0]
        assert f"{kept + removed} verified pairs" in said[0]
    else:
        assert said == []


@pytest.mark.slow
def test_simulated_judge_rejections_are_injected(tmp_path: Path) -> None:
    out = tmp_path / "out"
    apigen = Path(sys.executable).with_name("apigen")
    command = [str(apigen), "run", "--simulate", "--samples", "40", "--out", str(out)]
    done = subprocess.run(
        [*command, "--corrupt", "judge_reject=0.5"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        rejected = sum(r.count for r in store.funnel() if r.reason == "judge_rejected")
    finally:
        store.close()
    assert 5 <= rejected <= 35  # about half of 40, and not all: the rate reached the judge


def test_a_library_with_nothing_executable_says_what_to_do(tmp_path: Path) -> None:
    catalogue = tmp_path / "tools.jsonl"
    tool = {"category_name": "Data", "tool_name": "Quotes", "api_list": [
        {"api_name": "random quote", "api_description": "A random quote.", "method": "GET",
         "required_parameters": [{"name": "topic", "type": "STRING", "description": "Topic"}],
         "optional_parameters": []}]}  # fmt: skip
    catalogue.write_text(json.dumps(tool) + "\n", encoding="utf-8")
    apigen = Path(sys.executable).with_name("apigen")
    done = subprocess.run(
        [str(apigen), "run", "--simulate", "--samples", "2", "--apis", str(catalogue),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())
    assert "no executable API" in message and "--apis builtin" in message
