"""`apigen check` treats every dataset record as hostile: whatever a record holds, it gets
exactly one verdict (one per tool-calling turn of a conversation), no exception escapes,
the good record beside it still passes, and nothing in it makes the checker open a socket
or a file it was not told to.

Property tests mutate a good record of each format (xLAM, OpenAI chat, ShareGPT, Hermes,
BFCL) with hypothesis; byte-level mutations cover the decoder. Every crash class found so
far stays below as a regression case.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamer.check import (
    READ_REASONS,
    CheckResult,
    CheckSettings,
    DatasetFormatError,
    RecordFormat,
    open_checker,
    read_items,
    run_check,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

GCD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
GCD = {"name": "math_gcd", "description": "Greatest common divisor.", "parameters": GCD_SCHEMA}
CALL = {"name": "math_gcd", "arguments": {"a": 36, "b": 48}}
QUERY = "What is the greatest common divisor of 36 and 48?"

GOOD: dict[RecordFormat, dict[str, Any]] = {
    "xlam": {"id": "x", "query": QUERY, "tools": json.dumps([GCD]), "answers": json.dumps([CALL])},
    "openai": {
        "id": "o",
        "tools": [{"type": "function", "function": GCD}],
        "messages": [
            {"role": "user", "content": QUERY},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {**CALL, "arguments": '{"a": 36, "b": 48}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "12"},
        ],
    },
    "sharegpt": {
        "id": "s",
        "tools": json.dumps([GCD]),
        "conversations": [
            {"from": "human", "value": QUERY},
            {"from": "function_call", "value": json.dumps(CALL)},
            {"from": "observation", "value": "12"},
            {"from": "gpt", "value": "12."},
        ],
    },
    "hermes": {
        "id": "h",
        "conversations": [
            {"from": "system", "value": f"<tools> {json.dumps([GCD])} </tools>"},
            {"from": "human", "value": QUERY},
            {"from": "gpt", "value": f"<tool_call>\n{CALL!r}\n</tool_call>"},
            {"from": "tool", "value": "<tool_response>12</tool_response>"},
        ],
    },
    "bfcl": {
        "id": "simple_0",
        "question": [[{"role": "user", "content": QUERY}]],
        "function": [{**GCD, "parameters": {**GCD_SCHEMA, "type": "dict"}}],
    },
}
GOLD = {"id": "simple_0", "ground_truth": [{"math_gcd": {"a": [36], "b": [48]}}]}
KNOWN_REASONS = set(READ_REASONS)


def check_file(path: Path, fmt: RecordFormat, answers: Path | None = None) -> list[CheckResult]:
    results: list[CheckResult] = []

    async def main() -> None:
        async with open_checker(CheckSettings(stages=("format",))) as checker:
            items = read_items([path], fmt=fmt, answers=answers)
            await run_check(checker, items, results.append)

    anyio.run(main)
    return results


def line_of(result: CheckResult) -> int:
    return int(result.where.split("#", 1)[0].rsplit(":", 1)[1])


def write_case(directory: Path, fmt: RecordFormat, records: list[Any]) -> tuple[Path, Path | None]:
    """The records as JSON Lines (NaN allowed: hostile files hold it), and for BFCL the
    answer file beside them."""
    name = "BFCL_v4_simple.json" if fmt == "bfcl" else f"{fmt}.jsonl"
    path = directory / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    answers = None
    if fmt == "bfcl":
        answers = directory / "answers.json"
        answers.write_text(json.dumps(GOLD) + "\n")
    return path, answers


def assert_one_verdict_per_record(results: list[CheckResult], records: list[Any]) -> None:
    per_line = Counter(line_of(r) for r in results)
    assert set(per_line) == set(range(1, len(records) + 1)), per_line
    for line, record in enumerate(records, 1):
        turns = 1
        if isinstance(record, dict):
            for key in ("messages", "conversations"):
                if isinstance(record.get(key), list):
                    turns = max(1, len(record[key]))
        assert 1 <= per_line[line] <= turns, (record, per_line[line])
    for result in results:
        assert result.reason != "stage_error", result  # a reader or stage bug
        if result.stage is None and result.verdict == "fail":
            assert result.reason in KNOWN_REASONS, result
        assert "\n" not in result.message


# --- property: mutations of a good record of each format ------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["[", "{", "<tool_call>", "</tools>", "\udcff", '{"$ref": "http://x"}']),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def mutate(record: Any, data: st.DataObject) -> Any:
    """One structural mutation at a random place: replace, delete, stringify or wrap."""
    target = copy.deepcopy(record)
    path = data.draw(st.sampled_from(list(paths(target))))
    action = data.draw(st.sampled_from(["replace", "delete", "stringify", "wrap", "decode"]))
    if not path:
        return data.draw(JSON_VALUES) if action == "replace" else [target]
    parent = target
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    old = parent[key]
    if action == "replace":
        parent[key] = data.draw(JSON_VALUES)
    elif action == "delete":
        del parent[key]
    elif action == "stringify":
        parent[key] = json.dumps(old)
    elif action == "wrap":
        parent[key] = [old]
    elif isinstance(old, str):
        try:
            parent[key] = json.loads(old)
        except ValueError:
            parent[key] = old[: len(old) // 2]
    return target


@pytest.mark.parametrize("fmt", list(GOOD))
@FUZZ
@given(data=st.data())
def test_every_mutated_record_gets_one_verdict_and_the_good_one_passes(
    fmt: RecordFormat, data: st.DataObject
) -> None:
    good = GOOD[fmt]
    records = [mutate(good, data) for _ in range(data.draw(st.integers(1, 3)))] + [good]
    with tempfile.TemporaryDirectory() as directory:
        path, answers = write_case(Path(directory), fmt, records)
        results = check_file(path, fmt, answers)
    assert_one_verdict_per_record(results, records)
    last = [r for r in results if line_of(r) == len(records)]
    assert [r.verdict for r in last] == ["pass"], last


@pytest.mark.parametrize("fmt", list(GOOD))
@FUZZ
@given(data=st.data())
def test_byte_mutations_never_escape_the_decoder(fmt: RecordFormat, data: st.DataObject) -> None:
    lines = [json.dumps(GOOD[fmt]) for _ in range(3)]
    as_list = data.draw(st.booleans())
    text = ("[\n" + ",\n".join(lines) + "\n]\n" if as_list else "\n".join(lines) + "\n").encode()
    position = data.draw(st.integers(0, len(text)))
    action = data.draw(st.sampled_from(["truncate", "insert", "flip"]))
    blob = data.draw(st.binary(min_size=1, max_size=4))
    if action == "truncate":
        mutated = text[:position]
    elif action == "insert":
        mutated = text[:position] + blob + text[position:]
    else:
        mutated = text[:position] + blob + text[position + len(blob) :]
    with tempfile.TemporaryDirectory() as directory:
        path, answers = write_case(Path(directory), fmt, [])
        path.write_bytes(mutated)
        try:
            results = check_file(path, fmt, answers)
        except DatasetFormatError as exc:  # a file-level problem, named
            assert str(path) in str(exc)
            return
    for result in results:
        assert result.reason != "stage_error", result
        assert result.verdict in ("pass", "fail", "skip") and "\n" not in result.message
    # No runaway: every verdict stands for a line or an opening bracket of the file (a
    # broken record's fragments), plus at most a few notes about the list itself.
    assert len(results) <= max(len(mutated.splitlines()), mutated.count(b"{")) + 3


@pytest.mark.parametrize("indent", [None, 1])
@pytest.mark.parametrize("fmt", list(GOOD))
def test_one_bad_byte_in_a_list_costs_at_most_one_record(
    tmp_path: Path, fmt: RecordFormat, indent: int | None
) -> None:
    """A NUL byte at any of 40 places of a three-record list (one a line, or
    pretty-printed): the two records it does not touch still pass."""
    records = ",\n".join(json.dumps(GOOD[fmt], indent=indent) for _ in range(3))
    text = f"[\n{records}\n]\n".encode()
    path, answers = write_case(tmp_path, fmt, [])
    for position in range(1, len(text), len(text) // 40):
        path.write_bytes(text[:position] + b"\x00" + text[position + 1 :])
        results = check_file(path, fmt, answers)
        assert sum(r.verdict == "pass" for r in results) >= 2, (position, results)
        assert all(r.reason != "stage_error" for r in results)


# --- regression cases: every crash class found so far ----------------------------------------


def _tool_variants(fmt: RecordFormat, tool: Any) -> dict[str, Any]:
    record = copy.deepcopy(GOOD[fmt])
    if fmt in ("xlam", "sharegpt"):
        record["tools"] = json.dumps([tool])
    elif fmt == "openai":
        record["tools"] = [tool]
    elif fmt == "hermes":
        record["conversations"][0]["value"] = f"<tools> {json.dumps([tool])} </tools>"
    else:
        record["function"] = [tool]
    return record


def _schema(prop: Any) -> dict[str, Any]:
    properties = {"a": prop, "b": {"type": "integer"}}
    return {**GCD, "parameters": {"type": "object", "properties": properties}}


CRASHES: dict[str, tuple[Any, str]] = {
    "tool is a string": ("area", "invalid_tools"),
    "tool is a list": ([GCD], "invalid_tools"),
    "name is an object": ({**GCD, "name": {"x": 1}}, "invalid_tools"),
    "type list holds an object": (_schema({"type": ["integer", {"a": 1}]}), "invalid_schema"),
    "anyOf is an object": (_schema({"anyOf": {"type": "integer"}}), "invalid_schema"),
    "properties is a list": ({**GCD, "parameters": {"type": "object", "properties": []}}, ""),
    "required names nothing": ({**GCD, "parameters": {**GCD_SCHEMA, "required": [{"a": 1}]}}, ""),
    "enum is a string": (_schema({"type": "integer", "enum": "12"}), ""),
    "minimum is a string": (_schema({"type": "integer", "minimum": "zero"}), "invalid_schema"),
}


@pytest.mark.parametrize("case", list(CRASHES))
@pytest.mark.parametrize("fmt", list(GOOD))
def test_crash_classes_are_one_reject_each(tmp_path: Path, fmt: RecordFormat, case: str) -> None:
    tool, reason = CRASHES[case]
    records = [_tool_variants(fmt, tool), GOOD[fmt]]
    path, answers = write_case(tmp_path, fmt, records)
    results = check_file(path, fmt, answers)
    assert_one_verdict_per_record(results, records)
    first = [r for r in results if line_of(r) == 1]
    assert [r.verdict for r in first] == ["fail"], first
    if reason:
        assert first[0].reason == reason, first
    assert [r.verdict for r in results if line_of(r) == 2] == ["pass"]


@pytest.mark.parametrize("first", [[None, "\udcff"], ["\udcff"], [float("nan")]])
def test_a_first_line_list_orjson_refuses_is_still_one_json_lines_record(
    tmp_path: Path, first: list[Any]
) -> None:
    """Found by the property above: a first line that is a whole list, but with a lone
    surrogate's escape or NaN (orjson refuses both), made the file read as one JSON list,
    so the line gave two verdicts and the good record after it failed."""
    records = [first, GOOD["xlam"], GOOD["xlam"]]
    path, _ = write_case(tmp_path, "xlam", records)
    results = check_file(path, "xlam")
    assert_one_verdict_per_record(results, records)
    assert [r.verdict for r in results] == ["fail", "pass", "pass"]


def test_calls_that_are_not_calls_are_format_rejects(tmp_path: Path) -> None:
    answers = [
        [{"name": {"x": 1}, "arguments": {}}],
        [{"name": "math_gcd", "arguments": [36, 48]}],
        ["math_gcd(36, 48)"],
        {"name": "math_gcd"},
        [{"name": "math_gcd", "arguments": "{not json"}],
    ]
    records = [
        {**GOOD["xlam"], "id": f"a{i}", "answers": json.dumps(a)} for i, a in enumerate(answers)
    ]
    path, _ = write_case(tmp_path, "xlam", [*records, GOOD["xlam"]])
    results = check_file(path, "xlam")
    assert [(r.verdict, r.stage) for r in results[:-1]] == [("fail", "format")] * len(answers)
    assert results[-1].verdict == "pass"


# --- no retrieval driven by data -------------------------------------------------------------


def test_references_in_schemas_open_no_socket_and_no_file(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    fifo = tmp_path / "marker.json"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:  # returns only once somebody opens the FIFO for reading
        fd = os.open(fifo, os.O_WRONLY)
        opened.set()
        with os.fdopen(fd, "w") as out:
            out.write('{"type": "string"}')

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    refs = {
        "http": f"http://127.0.0.1:{port}/s.json",
        "file": fifo.as_uri(),
        "relative": "marker.json",
        "fragment-of-remote": f"http://127.0.0.1:{port}/s.json#/a",
    }
    records = [
        {**GOOD["xlam"], "id": name, "tools": json.dumps([_schema({"$ref": ref})])}
        for name, ref in refs.items()
    ]
    dynamic = _schema({"$dynamicRef": f"http://127.0.0.1:{port}/d.json"})
    records.append({**GOOD["xlam"], "id": "dynamic", "tools": json.dumps([dynamic])})
    local = _schema({"$ref": "#/$defs/n"})
    local["parameters"]["$defs"] = {"n": {"type": "integer"}}
    records.append({**GOOD["xlam"], "id": "local", "tools": json.dumps([local])})
    path, _ = write_case(tmp_path, "xlam", records)
    try:
        results = {r.id: r for r in check_file(path, "xlam")}
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
        assert not opened.is_set()  # nothing ever opened the marker file
    finally:
        listener.close()
        release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        thread.join(5)
        os.close(release)
    for name, ref in refs.items():
        assert (results[name].verdict, results[name].reason) == ("fail", "invalid_schema")
        assert ref in results[name].message
    assert results["dynamic"].reason == "invalid_schema"
    assert results["local"].verdict == "pass", results["local"]
