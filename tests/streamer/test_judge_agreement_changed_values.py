"""The two changed-value corruptions of ``bench/data/judge_labels.jsonl`` that the semantic
rules stopped catching after the grounding read documented defaults and time zones
(a91fdd9): the corrupted value itself must stay ungrounded; only the correct values beside
it became grounded, which brought the ungrounded share under ``max_ungrounded`` 0.5.

If grounding ever accepts the corrupted value ('Mr. X' for Nikola Tesla, 'afternoon' for
3pm), these fail: that would be a too-lenient rule, not the documented behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamer.grounding._grounding import Mentions, groundable

LABELS = Path(__file__).resolve().parents[2] / "bench" / "data" / "judge_labels.jsonl"

# record id -> {(argument, value): grounded}
EXPECTED: dict[str, dict[tuple[str, Any], bool]] = {
    "changed_value:parallel_multiple_39": {
        ("name", "Nikola Tesla"): True,
        ("name", "Mr. X"): False,  # the corruption
        ("discovery_order", 1): True,  # "default": 1 in the schema
    },
    "changed_value:multiple_189": {
        ("time", "afternoon"): False,  # the corruption ('3pm' in the query)
        ("from_timezone", "America/New_York"): True,  # "New York time zone"
        ("to_timezone", "Europe/London"): True,  # "London time zone"
    },
}


def _record(record_id: str) -> dict[str, Any]:
    for line in LABELS.read_text().splitlines():
        row: dict[str, Any] = json.loads(line)
        if row["id"] == record_id:
            return row
    raise AssertionError(f"{record_id} not in {LABELS}")


@pytest.mark.parametrize("record_id", sorted(EXPECTED))
def test_corrupted_value_stays_ungrounded(record_id: str) -> None:
    row = _record(record_id)
    assert row["label"] == "incorrect"
    props = {
        t["function"]["name"]: t["function"]["parameters"].get("properties", {})
        for t in json.loads(row["tools"])
    }
    mentions = Mentions(row["query"])
    seen: dict[tuple[str, Any], bool] = {}
    for call in json.loads(row["answers"]):
        for name, value in call["arguments"].items():
            for v, hint in groundable(value, props[call["name"]].get(name, {}), name):
                seen[(name, v)] = mentions.grounds(v, hint)
    assert seen == EXPECTED[record_id]
