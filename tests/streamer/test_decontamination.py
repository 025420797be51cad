"""Decontamination: reference sets in every shape, and what the index matches and does not."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.decontamination import (
    ContaminationIndex,
    ReferenceError,
    ReferenceSet,
    read_reference_set,
)
from streamer.pipeline._decontamination import DecontaminationConfig, contamination_index
from streamer.pipeline._model_config import ConfigError
from tests.shared_data import shared

TRIANGLE = "Find the area of a triangle with a base of 10 units and height of 5 units."


def _lines(path: Path, records: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records))
    return path


@pytest.fixture
def bfcl_dir(tmp_path: Path) -> Path:
    """A BFCL-shaped folder: questions and their possible answers, as v4 lays them out."""
    root = tmp_path / "bfcl"
    (root / "possible_answer").mkdir(parents=True)
    question = [[{"role": "user", "content": TRIANGLE}]]
    _lines(
        root / "BFCL_v4_simple.json",
        [
            {"id": "simple_0", "question": question, "function": []},
            {"id": "simple_1", "question": [[{"role": "user", "content": "Factorial of 5?"}]]},
            "not json {",
        ],
    )
    _lines(
        root / "possible_answer" / "BFCL_v4_simple.json",
        [
            {
                "id": "simple_0",
                "ground_truth": [
                    {"triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}
                ],
            },
            {"id": "simple_1", "ground_truth": [{"math.factorial": {"number": [5]}}]},
        ],
    )
    return root


def test_a_bfcl_folder_reads_questions_with_their_gold_calls(bfcl_dir: Path) -> None:
    ref = read_reference_set(bfcl_dir)
    assert [i.id for i in ref.items] == ["simple_0", "simple_1"]
    assert ref.items[0].query == TRIANGLE
    assert ref.items[0].calls[0].arguments["unit"] == ("units", "")
    assert ref.skipped == 1  # the line that is not JSON: counted, not fatal


def test_every_dataset_shape_is_read(tmp_path: Path) -> None:
    answers = json.dumps([{"name": "f", "arguments": {"x": 1}}])
    call = {"type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    path = _lines(
        tmp_path / "mixed.jsonl",
        [
            {"id": 7, "query": "xlam query", "answers": answers, "tools": "[]"},
            {
                "messages": [
                    {"role": "user", "content": "openai q"},
                    {"role": "assistant", "tool_calls": [call]},
                ]
            },
            {
                "conversations": [
                    {"from": "human", "value": "sharegpt q"},
                    {"from": "gpt", "value": "x"},
                ]
            },
            '"a plain query"',  # a JSON string
            {"unrelated": True},
            [1, 2],
        ],
    )
    ref = read_reference_set(path)
    assert [i.query for i in ref.items] == ["xlam query", "openai q", "sharegpt q", "a plain query"]
    assert ref.items[0].id == "7" and ref.items[1].id == "mixed.jsonl:2"
    assert ref.items[0].calls[0].arguments == {"x": (1,)}
    assert ref.items[1].calls[0].arguments == {"x": (1,)}
    assert ref.skipped == 2
    (tmp_path / "q.txt").write_text("first query\n\nsecond query\n")
    assert [i.query for i in read_reference_set(tmp_path / "q.txt").items] == [
        "first query",
        "second query",
    ]
    (tmp_path / "arr.json").write_text(json.dumps([{"query": "in an array", "answers": []}]))
    assert read_reference_set(tmp_path / "arr.json").items[0].query == "in an array"


def test_a_missing_set_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="nope"):
        read_reference_set(tmp_path / "nope")


@pytest.fixture
def index(bfcl_dir: Path) -> ContaminationIndex:
    return ContaminationIndex([read_reference_set(bfcl_dir)])


def test_queries_match_exactly_nearly_and_by_embedded_runs(index: ContaminationIndex) -> None:
    exact = index.match(TRIANGLE.upper().replace(".", " !"))
    assert exact is not None and (exact.kind, exact.item_id) == ("exact", "simple_0")
    near = index.match(
        "Could you find the area of a triangle with a base of 10 units and height of 5 "
        "units, please?"
    )
    assert near is not None and near.kind == "near" and near.score >= index.near_threshold
    embedded = index.match(
        "I have homework. " + TRIANGLE + " Then tell me how to explain the formula to a child "
        "who has never heard of geometry before, in simple words."
    )
    assert embedded is not None and embedded.kind in ("near", "ngram")
    assert "simple_0" in embedded.message() and "reference set" in embedded.message()


def test_a_different_query_does_not_match(index: ContaminationIndex) -> None:
    assert index.match("Find the area of a circle with a radius of 3 meters.") is None
    assert index.match("What is the capital of France?") is None
    assert index.match("") is None


def test_calls_match_the_gold_answer_by_value(index: ContaminationIndex) -> None:
    hit = index.match("area please", [("triangle_area", {"base": 10.0, "height": 5})])
    assert hit is not None and (hit.kind, hit.item_id) == ("calls", "simple_0")
    with_unit = index.match("x", [("triangle_area", {"base": 10, "height": 5, "unit": "Units"})])
    assert with_unit is not None
    assert index.match("x", [("triangle_area", {"base": 11, "height": 5})]) is None
    assert index.match("x", [("triangle_area", {"base": 10})]) is None  # height is required
    extra = {"base": 10, "height": 5, "colour": "red"}
    assert index.match("x", [("triangle_area", extra)]) is None
    assert index.match("x", [("other", {"base": 10, "height": 5})]) is None


def test_the_digest_names_what_the_index_holds(bfcl_dir: Path, tmp_path: Path) -> None:
    one = ContaminationIndex([read_reference_set(bfcl_dir)])
    again = ContaminationIndex([read_reference_set(bfcl_dir)])
    other = ContaminationIndex([ReferenceSet("other", ())])
    assert one.digest == again.digest != other.digest
    assert one.items == 2


def test_bfcl_queries_are_caught_and_unrelated_rows_are_not() -> None:
    """On the real data: every BFCL v4 question with words in its query matches its own set
    (two live_irrelevance items are a control character and a slash); the xLAM sample rows
    (another dataset) match none."""
    bfcl = read_reference_set(shared("bfcl"))
    index = ContaminationIndex([bfcl])
    assert index.items > 3000
    missed = [item.id for item in bfcl.items if index.match(item.query) is None]
    assert len(missed) <= 2 and all(i.startswith("live_irrelevance") for i in missed)
    rows = [
        json.loads(line) for line in shared("xlam/xlam60k_sample.jsonl").read_text().splitlines()
    ]
    for row in rows:
        calls = [(a["name"], a["arguments"]) for a in json.loads(row["answers"])]
        assert index.match(row["query"], calls) is None, row["query"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_any_bytes_are_read_or_skipped_never_raised(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.jsonl"
        path.write_bytes(b"\n".join(lines))
        ref = read_reference_set(path)
        index = ContaminationIndex([ref])
        for item in ref.items:
            index.match(item.query, [(c.name, {k: v[0] for k, v in c.arguments.items() if v})
                                     for c in item.calls])  # fmt: skip


def test_deeply_nested_and_hostile_records_are_skipped(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    path = tmp_path / "hostile.jsonl"
    path.write_text(
        "\n".join(
            [
                deep,
                json.dumps({"query": 5, "answers": "not json ["}),
                json.dumps({"question": [["x"]], "id": {"a": 1}}),
                json.dumps({"messages": [{"role": "user", "content": ["not", "text"]}]}),
                json.dumps({"query": "kept", "answers": [{"name": 1}, "x", {"name": "f"}]}),
            ]
        )
    )
    ref = read_reference_set(path)
    assert [i.query for i in ref.items] == ["kept"] and ref.skipped == 4
    assert ref.items[0].calls[0].name == "f"


def test_a_set_with_nothing_usable_names_itself(tmp_path: Path) -> None:
    utf16 = tmp_path / "queries.jsonl"
    utf16.write_bytes(json.dumps({"query": "q"}).encode("utf-16"))
    with pytest.raises(ConfigError, match=r"queries\.jsonl.*no record of a known shape"):
        contamination_index(DecontaminationConfig(references=(utf16,)))
