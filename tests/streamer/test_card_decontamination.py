"""The card counts the pairs removed as contaminated per reference set (issue 22)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from streamer.dataset._export import export_dataset
from streamer.dataset._store import DatasetStore, contaminating_reference
from streamer.decontamination import ContaminationIndex, ReferenceItem, ReferenceSet
from streamer.stages._decontaminate import Decontaminating
from topics import Call, CallResult, EventMeta, ExecPass, QueryStyle, Reject

from .factories import sample, tool, verified

_SECTION = "## Decontamination: removed per reference set"


def _reject(rid: str, reason: str, message: str) -> Reject:
    meta = EventMeta(id=rid, parent_id="p", sample_id=rid, stage="semantic", stage_version="v")
    return Reject(meta=meta, reason=reason, message=message, rejected={}, model="g", style="s")


def _contaminated(rid: str, reference: str, item: str = "simple_1") -> Reject:
    message = f"the same query as benchmark item {item!r} of reference set {reference}"
    return _reject(rid, "contaminated", message)


def _section(card: str) -> list[str]:
    lines = card.splitlines()
    start = lines.index(_SECTION)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    return lines[start:end]


def test_the_card_counts_removed_pairs_per_reference_set(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    store.add(verified("What is f of 1?", sid="a", model="g"))
    store.add_rejects(
        [
            _contaminated("r1", "../shared/data/bfcl"),
            _contaminated("r2", "../shared/data/bfcl", item="a of reference set b"),
            _contaminated("r3", "/data/api_bank.jsonl"),
            _contaminated("r1", "/data/api_bank.jsonl"),  # re-delivered: counted once
            _reject("r4", "invalid_json", "bad of reference set nope"),
            _reject("r5", "contaminated", "no set named"),
        ]
    )
    assert store.contaminated() == {
        "../shared/data/bfcl": 2,
        "/data/api_bank.jsonl": 1,
        "unknown": 1,
    }
    section = _section(export_dataset(store, tmp_path / "out")["card"].read_text())
    assert "| `../shared/data/bfcl` | 2 |" in section
    assert "| `/data/api_bank.jsonl` | 1 |" in section
    assert "| **all** | 4 |" in section
    store.close()


def test_a_card_without_contamination_says_none(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    store.add(verified("What is f of 1?", sid="a", model="g"))
    section = _section(export_dataset(store, tmp_path / "out")["card"].read_text())
    assert "None: no pair was removed as contaminated." in section
    store.close()


def test_hostile_reference_names_stay_in_one_table_cell(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    store.add_reject(_contaminated("r1", "a|b`c\nd"))
    section = _section(export_dataset(store, tmp_path / "out")["card"].read_text())
    assert r"| `a\|b'c d` | 1 |" in section
    for message in ("", " of reference set ", "x" * 100_000 + " of reference set " + "y" * 5000):
        reference = contaminating_reference(_reject("x", "contaminated", message))
        assert reference is None or len(reference) <= 1000
    store.close()


def test_a_store_from_before_the_detail_column_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE outcomes (id TEXT PRIMARY KEY, stage TEXT NOT NULL, reason TEXT NOT NULL,"
        " model TEXT NOT NULL, style TEXT NOT NULL, sample_id TEXT NOT NULL,"
        " pair_index INTEGER NOT NULL);"
        "INSERT INTO outcomes VALUES ('old', 'semantic', 'contaminated', 'g', 's', 'old', 0);"
    )
    db.commit()
    db.close()
    store = DatasetStore(path, near_threshold=0)
    store.add_reject(_contaminated("new", "bench.jsonl"))
    assert store.contaminated() == {"unknown": 1, "bench.jsonl": 1}
    assert DatasetStore(path, near_threshold=0).contaminated()["bench.jsonl"] == 1
    store.close()


@pytest.mark.anyio
async def test_the_stage_names_the_reference_set_in_the_rejects_detail(tmp_path: Path) -> None:
    """The set comes from the stage's own field, not from reading its message back."""
    query = "What is the greatest common divisor of 36 and 48?"
    reference = ReferenceSet("bench/BFCL_v4_simple.json", (ReferenceItem("simple_0", query),))

    class Inner:
        name, version, input_topic, input_type = "semantic", "v1", "exec-pass", ExecPass

        async def process(self, event: ExecPass) -> list[Any]:
            raise AssertionError("a contaminated pair must not reach the checker")

    s = sample(QueryStyle.SIMPLE, tool("math_gcd"))
    pair = ExecPass(
        meta=s.meta.child("execution", "v1", "0"), sample=s, model="g", pair_index=0,
        query=query, calls=(Call("math_gcd", {"a": 36, "b": 48}),),
        results=(CallResult(ok=True, result=12),),
    )  # fmt: skip
    [out] = await Decontaminating(Inner(), ContaminationIndex([reference])).process(pair)
    reject = out.event
    assert isinstance(reject, Reject) and reject.reason == "contaminated"
    assert reject.detail == "bench/BFCL_v4_simple.json"
    store = DatasetStore(tmp_path / "d.db")
    store.add_rejects([replace(reject, message="message names no set")])
    assert store.contaminated() == {"bench/BFCL_v4_simple.json": 1}
    store.close()
