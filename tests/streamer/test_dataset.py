from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from streamer.dataset._export import export_dataset, funnel_table
from streamer.dataset._store import DatasetStore, normalize_query
from topics import EventMeta, Reject

from .factories import verified


def _reject(rid: str, stage: str, reason: str, model: str = "m") -> Reject:
    meta = EventMeta(id=rid, parent_id="p", sample_id="s", stage=stage, stage_version="v")
    return Reject(meta=meta, reason=reason, message="x", rejected={}, model=model, style="simple")


def test_writes_are_idempotent_and_survive_reopening(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "dataset.db")
    event = verified("What is the square root of 16?", sid="a")
    assert store.add(event)
    assert not store.add(event)
    assert store.add_reject(_reject("r1", "format", "type_mismatch"))
    assert not store.add_reject(_reject("r1", "format", "type_mismatch"))
    store.close()
    reopened = DatasetStore(tmp_path / "dataset.db")
    assert reopened.count() == 1
    assert not reopened.add(event)
    assert sum(r.count for r in reopened.funnel()) == 2


def test_exact_and_near_duplicates_are_kept_out(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0.6)
    store.add(verified("Convert 100 dollars to euros using today's exchange rate", sid="a"))
    store.add(verified("convert 100 DOLLARS to euros, using today's exchange rate!", sid="b"))
    store.add(verified("Please convert 100 dollars to euros using today's exchange rate", sid="c"))
    store.add(verified("How tall is Mount Everest in feet?", sid="d"))
    assert store.count() == 2
    assert store.count(include_duplicates=True) == 4
    assert store.duplicates() == {"exact": 1, "near": 1}
    assert normalize_query("A,  b!") == "a b"


def test_the_kept_duplicate_does_not_depend_on_arrival_order(tmp_path: Path) -> None:
    events = [verified("Convert 100 dollars to euros", sid=f"s{i}") for i in range(4)]
    kept = set()
    for name, order in (("a", events), ("b", events[::-1])):
        store = DatasetStore(tmp_path / f"{name}.db")
        for e in order:
            store.add(e)
        kept.add(tuple(r.id for r in store.records()))
        assert store.count() == 1 and store.duplicates() == {"exact": 3}
    assert len(kept) == 1


def test_export_writes_every_format_and_a_card_with_the_funnel(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    store.add(verified("What is f of 1?", sid="a", model="model-a"))
    store.add(verified("What is f of 2?", sid="b", model="model-b"))
    store.add_reject(_reject("r1", "format", "unknown_function", model="model-a"))
    store.add_reject(_reject("r2", "execution", "function_error", model="model-a"))
    paths = export_dataset(store, tmp_path / "out")

    rows = [orjson.loads(line) for line in paths["xlam"].read_bytes().splitlines()]
    assert [sorted(r) for r in rows] == [["answers", "id", "query", "tools"]] * 2
    assert orjson.loads(rows[0]["answers"]) == [{"name": "f", "arguments": {"x": 1}}]
    tools = orjson.loads(rows[0]["tools"])
    assert tools[0]["parameters"]["x"]["type"] == "float"

    chat = orjson.loads(paths["openai"].read_bytes().splitlines()[0])
    assert chat["messages"][1]["tool_calls"][0]["function"]["name"] == "f"
    assert chat["tools"][0]["type"] == "function"
    share = orjson.loads(paths["sharegpt"].read_bytes().splitlines()[0])
    assert "<tool_call>" in share["conversations"][2]["value"]
    assert pq.read_table(paths["parquet"]).num_rows == 2

    table = {row["model"]: row for row in funnel_table(store.funnel())}
    assert table["model-a"]["total"] == 3 and table["model-a"]["verified"] == 1
    assert table["all"]["fail_format"] == 1 and table["all"]["fail_execution"] == 1
    card = paths["card"].read_text()
    assert "| model-a | 3 | 0 | 1 | 1 | 0 | 1 | 33.33% |" in card
    assert "`unknown_function`" in card


def test_export_is_deterministic(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    events = [verified(f"query number {i} about things", sid=f"s{i}") for i in range(5)]
    for e in events:
        store.add(e)
    first = export_dataset(store, tmp_path / "a")["xlam"].read_bytes()
    other = DatasetStore(tmp_path / "e.db")
    for e in reversed(events):
        other.add(replace(e))
    assert export_dataset(other, tmp_path / "b")["xlam"].read_bytes() == first


def test_export_streams_pages_and_row_groups(tmp_path: Path) -> None:
    """More records than one page of the store and one parquet row group: nothing is lost,
    the order is the store's, and parquet keeps its column types."""
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    n = 2_500
    for i in range(n):
        store.add(verified(f"query {i} about things", sid=f"s{i:05d}"))
    paths = export_dataset(store, tmp_path / "out")
    ids = [r.id for r in store.records()]
    assert len(ids) == n == len(set(ids)) and ids == sorted(ids)
    assert len(paths["xlam"].read_bytes().splitlines()) == n
    table = pq.read_table(paths["parquet"])
    assert table.num_rows == n and table.column("event_id").to_pylist() == ids
    assert str(table.schema.field("id").type) == "int64"
    assert table.column("id").to_pylist() == list(range(n))
    assert f"- Records: **{n}**" in paths["card"].read_text()
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_card_says_none_when_nothing_was_rejected(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    store.add(verified("query about one thing", sid="s1"))
    card = export_dataset(store, tmp_path / "out")["card"].read_text()
    reasons = card.split("## Reject reasons", 1)[1].split("##", 1)[0]
    assert reasons.strip() == "None: no pair was rejected."
