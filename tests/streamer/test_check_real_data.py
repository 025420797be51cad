"""``bench/check_real_data.py``: its hand labels, the ToolAlpaca conversion and the sample.

The labels are the report's ground truth, so their file is checked for shape (every reject
read has a label, a reason and a why); the ToolAlpaca rows are checked against the real
file (argument names as the converter names them, non-JSON input left for the format
stage); the sample keeps unverified records apart from rejects and out of the stale list.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bench import check_real_data as report
from tests.shared_data import needs_shared

FIELDS = {"id", "dataset", "stage", "reason", "label", "why", "labelled"}


def test_every_label_is_one_read_record() -> None:
    rows = [json.loads(line) for line in report.LABELS_FILE.read_text().splitlines() if line]
    assert rows
    keys = Counter((r["id"], r["stage"], r["reason"]) for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []
    for row in rows:
        assert set(row) == FIELDS, row
        assert row["label"] in ("right", "wrong"), row
        assert row["dataset"] in ("bfcl", "glaive", "xlam", "toolalpaca"), row
        assert len(row["why"]) >= 20, row  # a reason, not a placeholder


@needs_shared("toolalpaca/eval_real.json")
def test_toolalpaca_rows_use_the_converters_names() -> None:
    rows = {r["id"]: r for r in report.toolalpaca_rows()}
    assert len(rows) == 114
    convert = rows["CurrencyBeacon#3"]
    [call] = convert["answers"]
    assert call["name"] == "convert_get"
    assert set(call["arguments"]) == {"api_key", "is_from", "to", "amount"}  # 'from' on the wire
    tool = next(t for t in convert["tools"] if t["function"]["name"] == "convert_get")
    assert "is_from" in tool["function"]["parameters"]["properties"]
    broken = rows["CurrencyBeacon#4"]["answers"][0]["arguments"]
    assert isinstance(broken, str) and '"symbols": "symbols"' in broken  # not JSON: kept


def _result(rid: str, verdict: str, stage: str, reason: str) -> dict[str, Any]:
    return {"id": rid, "verdict": verdict, "stage": stage, "reason": reason, "message": "m"}


def test_the_sample_keeps_unverified_apart() -> None:
    semantic = ("semantic", "ungrounded_arguments")
    runs = {
        "format+execution+semantic": {
            "bfcl": {
                "rejects": [
                    _result("live_multiple_984-215-8", "fail", *semantic),  # labelled right
                    _result("exec_multiple_45", "fail", "format", "unknown_argument"),
                    _result("no-such-record", "fail", "format", "type_mismatch"),
                ],
                "unverified": [_result("multiple_123", "unverified", *semantic)],
            }
        }
    }
    sample = report._sample(runs)
    assert (sample["right"], sample["wrong"]) == (2, 0)
    assert sample["unlabelled"] == {"format/type_mismatch": 1}
    [row] = sample["unverified"]
    assert (row["id"], row["label"]) == ("multiple_123", "wrong")  # a correct answer
    stale = {tuple(k) for k in sample["stale"]}
    assert ("multiple_123", *semantic) not in stale
    assert ("simple_python_112", *semantic) in stale  # labelled, absent from this run
    text = report._markdown(
        {"date": "d", "commit": "c", "dirty": False, "quick": True, "runs": {}, "sample": sample}
    )
    assert "2 rejects read one by one" in text
    assert "| bfcl | `multiple_123` | m | correct |" in text
