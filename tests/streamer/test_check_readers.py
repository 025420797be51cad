"""`apigen check`'s readers: every malformed record is its own `fail`, the good ones around
it still pass, decode errors say what and where, no-call answers count only where the record
says so, tools bind to library functions by signature, and the conversation readers
(ShareGPT/glaive, Hermes, OpenAI multi-turn) give one case per tool-calling turn."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from streamer.check import (
    CheckCase,
    InvalidRecord,
    ReadSettings,
    TrajectoryCase,
    detect_format,
    read_dataset,
)
from streamer.cli._app import app
from tests.shared_data import shared
from tests.streamer.test_check import OPENAI_RECORDS

runner = CliRunner()

AREA_TOOL = {
    "name": "circle_area",
    "description": "Area of a circle.",
    "parameters": {"radius": {"type": "float", "description": "Radius in metres."}},
}
GOOD = {
    "id": "good",
    "query": "What is the area of a circle of radius 3?",
    "tools": json.dumps([AREA_TOOL]),
    "answers": json.dumps([{"name": "circle_area", "arguments": {"radius": 3.0}}]),
}
GCD_TOOL: dict[str, Any] = OPENAI_RECORDS[0]["tools"][0]  # math_gcd(a, b), OpenAI-wrapped


def row(rid: str, **fields: Any) -> dict[str, Any]:
    return {**GOOD, "id": rid, **fields}


def openai_tool(properties: dict[str, Any]) -> str:
    schema = {"type": "object", "properties": properties}
    return json.dumps(
        [{"type": "function", "function": {"name": "circle_area", "parameters": schema}}]
    )


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def deep_tools(levels: int) -> str:
    """A tools string whose one parameter schema nests ``levels`` objects deep (written
    by hand: json.dumps itself refuses such depths)."""
    inner = (
        '{"type": "object", "properties": {"x": ' * levels + '{"type": "number"}' + "}}" * levels
    )
    head = '[{"type": "function", "function": {"name": "circle_area", "parameters": '
    return head + '{"type": "object", "properties": {"radius": ' + inner + "}}}}]"


def write(path: Path, records: list[Any]) -> Path:
    lines = (r if isinstance(r, str) else json.dumps(r) for r in records)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def cli(*args: str) -> tuple[int, dict[str, dict[str, Any]], dict[str, Any], str]:
    """(exit code, results by id, summary, stderr) of `apigen check ... --summary-json`."""
    result = runner.invoke(app, ["check", *args, "--summary-json", "--stages", "format"])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    summary = lines.pop()["summary"] if lines and "summary" in lines[-1] else {}
    return result.exit_code, {r["id"]: r for r in lines}, summary, result.stderr


def outcome(result: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return result["verdict"], result["stage"], result["reason"]


def test_each_malformed_record_fails_alone_with_its_reason(tmp_path: Path) -> None:
    records: list[Any] = [
        row("good-first"),
        row("tool-is-a-string", tools=json.dumps(["area"])),
        row("tools-is-an-object", tools=json.dumps({"name": "circle_area"})),
        row("tools-not-json", tools="[{broken"),
        row("tool-without-name", tools=json.dumps([{"description": "x", "parameters": {}}])),
        row("name-is-an-object", answers=json.dumps([{"name": {"x": 1}, "arguments": {}}])),
        row("type-list-with-object", tools=openai_tool({"radius": {"type": ["number", {}]}})),
        row("anyof-not-a-list", tools=openai_tool({"radius": {"anyOf": {"type": "number"}}})),
        row("nested-1000-deep", tools=deep_tools(500)),
        row("nested-5000-deep", tools=deep_tools(2500)),
        row("remote-ref", tools=openai_tool({"radius": {"$ref": "http://127.0.0.1:9/s.json"}})),
        "this is {not JSON",
        '{"id": "nan", "query": "q", "answers": "[]", "tools": [], "x": NaN}',
        ["a", "list", "not", "a", "record"],
        {"id": "unknown-shape", "hello": "world"},
        row("good-last"),
    ]
    path = write(tmp_path / "mixed.jsonl", records)
    code, results, summary, stderr = cli(str(path))
    assert code == 1
    assert outcome(results["good-first"]) == outcome(results["good-last"]) == ("pass", None, None)
    expected = {
        "tool-is-a-string": (None, "invalid_tools"),
        "tools-is-an-object": (None, "invalid_tools"),
        "tools-not-json": (None, "invalid_tools"),
        "tool-without-name": (None, "invalid_tools"),
        "name-is-an-object": ("format", "missing_field"),
        "type-list-with-object": (None, "invalid_schema"),
        "anyof-not-a-list": (None, "invalid_schema"),
        "nested-1000-deep": (None, "limit_exceeded"),
        "nested-5000-deep": (None, "limit_exceeded"),
        "remote-ref": (None, "invalid_schema"),
        "unknown-shape": (None, "invalid_record"),
    }
    for rid, (stage, reason) in expected.items():
        assert outcome(results[rid]) == ("fail", stage, reason), results[rid]
    by_line = {r["where"].rsplit(":", 1)[1]: r for r in results.values()}
    for line in ("12", "13", "14"):  # no id of their own: named by file and line
        assert outcome(by_line[line]) == ("fail", None, "invalid_record"), by_line[line]
        assert f"mixed.jsonl:{line}" in by_line[line]["message"]
    assert "not JSON" in by_line["12"]["message"]
    assert "127.0.0.1:9" in results["remote-ref"]["message"]
    assert "tools[0]" in results["tool-is-a-string"]["message"]
    assert all("\n" not in r["message"] for r in results.values())
    assert summary["records"] == len(records) and summary["pass"] == 2
    assert "apigen check" not in stderr  # --summary-json: no table, no traceback


def test_limits_are_configurable_and_name_the_limit(tmp_path: Path) -> None:
    many_tools = [dict(AREA_TOOL, name=f"area_{i}") for i in range(5)]
    calls = [{"name": "circle_area", "arguments": {"radius": float(i)}} for i in range(5)]
    records = [
        row("good"),
        row("many-tools", tools=json.dumps(many_tools)),
        row("many-calls", answers=json.dumps(calls)),
        row("big", query="x" * 5000),
        row("deep", extra=nested(10)),
    ]
    path = write(tmp_path / "limits.jsonl", records)
    args = [
        "--max-tools",
        "4",
        "--max-calls",
        "4",
        "--max-record-bytes",
        "4000",
        "--max-depth",
        "8",
    ]
    code, results, _, _ = cli(str(path), *args)
    assert code == 1 and results["good"]["verdict"] == "pass"
    results["big"] = results.pop("limits.jsonl:4")  # too big to be read: named by its line
    for rid, words in (
        ("many-tools", "5 tools; the limit is 4"),
        ("many-calls", "5 calls; the limit is 4"),
        ("big", "the limit is 4,000"),
        ("deep", "more than 8 levels"),
    ):
        assert outcome(results[rid]) == ("fail", None, "limit_exceeded"), results[rid]
        assert words in results[rid]["message"]
    code, results, _, _ = cli(str(path))  # the defaults are generous
    assert [rid for rid, r in results.items() if r["reason"] == "limit_exceeded"] == []
    assert runner.invoke(app, ["check", str(path), "--max-tools", "0"]).exit_code == 2


def test_decode_errors_say_what_and_where(tmp_path: Path) -> None:
    good = json.dumps(row("good")).encode()
    (tmp_path / "bad-utf8.jsonl").write_bytes(
        good + b"\n" + json.dumps(row("latin1")).encode().replace(b"area", b"\xe1rea", 1) + b"\n"
    )
    code, results, _, _ = cli(str(tmp_path / "bad-utf8.jsonl"))
    assert code == 1 and results["good"]["verdict"] == "pass"
    bad = next(r for r in results.values() if r["reason"] == "invalid_encoding")
    assert "invalid UTF-8 byte 0xe1 at line 2" in bad["message"]

    text = json.dumps([row("first"), row("second"), row("third")], indent=1)
    cut = text.index('"third"') + 3
    (tmp_path / "truncated.json").write_text(text[:cut])
    code, results, summary, _ = cli(str(tmp_path / "truncated.json"))
    assert outcome(results["first"]) == outcome(results["second"]) == ("pass", None, None)
    broken = [r for r in results.values() if r["verdict"] == "fail"]
    assert len(broken) == 1 and broken[0]["reason"] == "invalid_record"
    assert (
        f"truncated JSON list at line {text[:cut].count(chr(10)) + 1} (byte {cut})"
        in (broken[0]["message"])
    )
    assert summary["records"] == 3

    # A broken record inside a list costs that record only (even a broken quote, which
    # misleads bracket matching); a missing comma is named.
    text = json.dumps([row("a"), row("b"), row("c"), row("d")], indent=1)
    text = text.replace('},\n {\n  "id": "b"', '}\n {\n  "id": "b"')
    text = text.replace('"id": "c", "query": "', '"id": "c", "query": ', 1)
    text = text.replace('"id": "c",\n  "query": "', '"id": "c",\n  "query": ', 1)
    (tmp_path / "broken.json").write_text(text)
    code, results, summary, _ = cli(str(tmp_path / "broken.json"))
    assert [results[rid]["verdict"] for rid in "abd"] == ["pass"] * 3
    messages = [r["message"] for r in results.values() if r["verdict"] == "fail"]
    assert len(messages) == 2 and summary["records"] == 5
    assert "missing ','" in messages[0] and "not JSON" in messages[1]


def test_utf16_and_bom_files_are_decoded(tmp_path: Path) -> None:
    records = "\n".join(json.dumps(row(f"r{i}")) for i in range(3)) + "\n"
    (tmp_path / "utf16.jsonl").write_bytes(records.encode("utf-16"))  # with its BOM
    (tmp_path / "utf16be.json").write_bytes(json.dumps([row("be")]).encode("utf-16-be"))
    marked = "\n".join(json.dumps(row(f"s{i}")) for i in range(3))
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + marked.encode())
    for name, ids in (
        ("utf16.jsonl", {"r0", "r1", "r2"}),
        ("utf16be.json", {"be"}),
        ("bom.jsonl", {"s0", "s1", "s2"}),
    ):
        code, results, _, _ = cli(str(tmp_path / name))
        assert code == 0 and set(results) == ids, (name, results)


def test_a_file_nothing_can_be_read_from_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "junk.jsonl").write_bytes(b"\xc3\x28 not text\n")
    result = runner.invoke(app, ["check", str(tmp_path / "junk.jsonl")])
    assert result.exit_code == 2 and "junk.jsonl" in result.stderr and not result.stdout
    forced = runner.invoke(app, ["check", str(tmp_path / "junk.jsonl"), "--format", "xlam"])
    assert forced.exit_code == 1  # forced: the line is read, and fails on its own
    assert json.loads(forced.stdout.splitlines()[0])["reason"] == "invalid_encoding"


def test_no_call_is_expected_only_where_the_record_says_so(tmp_path: Path) -> None:
    two_tools = json.dumps([AREA_TOOL, dict(AREA_TOOL, name="square_area")])
    records = [
        row("empty", answers="[]"),
        row("empty-two-tools", answers="[]", tools=two_tools),
        row("declared", answers="[]", style="irrelevance"),
        row("category", answers="[]", category="live_irrelevance"),
        row("declared-but-called", style="irrelevance"),
    ]
    path = write(tmp_path / "nocall.jsonl", records)
    code, results, _, _ = cli(str(path))
    assert code == 1
    for rid in ("empty", "empty-two-tools"):
        assert results[rid]["stage"] == "format"
        assert results[rid]["reason"] == "no_call", results[rid]
    assert results["declared"]["verdict"] == results["category"]["verdict"] == "pass"
    assert outcome(results["declared-but-called"])[:2] == ("fail", "format")
    _, allowed, _, _ = cli(str(path), "--allow-no-call")
    assert allowed["empty"]["verdict"] == allowed["empty-two-tools"]["verdict"] == "pass"


def _age_record(rid: str, parameters: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    function = {
        "name": "calculate_age",
        "description": "Age from a birth date.",
        "parameters": parameters,
    }
    return {
        "id": rid,
        "conversations": [
            {"from": "human", "value": "I was born on 1990-05-15. How old am I on 2024-05-15?"},
            {
                "from": "function_call",
                "value": json.dumps({"name": "calculate_age", "arguments": arguments}),
            },
            {"from": "observation", "value": '{"age": 34}'},
            {"from": "gpt", "value": "You are 34."},
        ],
        "tools": json.dumps([function]),
    }


def test_tools_bind_to_library_functions_by_signature(tmp_path: Path) -> None:
    date = {"type": "string", "description": "YYYY-MM-DD"}
    glaive = {"type": "object", "properties": {"birth_date": date}, "required": ["birth_date"]}
    full = {
        "type": "object",
        "properties": {"birth_date": date, "on_date": date},
        "required": ["birth_date", "on_date"],
    }
    typed = {
        "type": "object",
        "properties": {"birth_date": {"type": "integer"}, "on_date": date},
        "required": ["birth_date", "on_date"],
    }
    records = [
        _age_record("glaive", glaive, {"birth_date": "1990-05-15"}),
        _age_record("same", full, {"birth_date": "1990-05-15", "on_date": "2024-05-15"}),
        _age_record("other-type", typed, {"birth_date": 19900515, "on_date": "2024-05-15"}),
    ]
    path = tmp_path / "age.json"
    path.write_text(json.dumps(records))
    result = runner.invoke(app, ["check", str(path), "--summary-json"])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    summary = lines.pop()["summary"]
    by_id = {r["id"]: r for r in lines}
    assert result.exit_code == 0, result.output
    assert by_id["same"]["stages"] == ["format", "execution"] and "not_run" not in by_id["same"]
    glaive_age = by_id["glaive"]
    assert glaive_age["verdict"] == "pass" and glaive_age["stages"] == ["format"]
    assert glaive_age["not_run"] == "signature_mismatch"
    assert "requires ['on_date']" in glaive_age["message"]
    assert by_id["other-type"]["not_run"] == "signature_mismatch"
    assert "birth_date is ['integer'] here" in by_id["other-type"]["message"]
    assert summary["not_run"] == {"signature_mismatch": 2}
    required = runner.invoke(app, ["check", str(path), "--require-execution", "--strict"])
    verdicts = Counter(json.loads(x)["verdict"] for x in required.stdout.splitlines())
    assert required.exit_code == 1 and verdicts == {"pass": 1, "skip": 2}
    assert "calls not run" in required.stderr and "signature_mismatch" in required.stderr


def _items(path: Path, **settings: Any) -> list[CheckCase | InvalidRecord | TrajectoryCase]:
    return list(read_dataset(path, settings=ReadSettings(**settings))[1])


def _cases(path: Path) -> dict[str, CheckCase]:
    items = _items(path)
    assert all(isinstance(i, CheckCase) for i in items), items
    return {i.id: i for i in items if isinstance(i, CheckCase)}


def test_sharegpt_conversations_give_one_case_per_calling_turn(tmp_path: Path) -> None:
    system = (
        "SYSTEM: You are a helpful assistant with access to the following functions. Use "
        "them if required -\n" + json.dumps(GCD_TOOL["function"], indent=4) + "\n"
    )
    conversation = {
        "system": system,
        "conversations": [
            {"from": "human", "value": "GCD of 36 and 48?"},
            {
                "from": "function_call",
                "value": '{"name": "math_gcd", "arguments": {"a": 36, "b": 48}}',
            },
            {"from": "observation", "value": '{"result": 12}'},
            {"from": "gpt", "value": "It is 12."},
            {"from": "human", "value": "And of 10 and 4, and of 9 and 6?"},
            {
                "from": "function_call",
                "value": '{"name": "math_gcd", "arguments": {"a": 10, "b": 4}}',
            },
            {
                "from": "function_call",
                "value": '{"name": "math_gcd", "arguments": "{\\"a\\": 9, \\"b\\": 6}"}',
            },
            {"from": "observation", "value": "2"},
            {"from": "observation", "value": "3"},
            {"from": "gpt", "value": "2 and 3."},
        ],
    }
    chat = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]}
    path = tmp_path / "glaive.json"
    path.write_text(json.dumps([conversation, chat]))
    assert read_dataset(path)[0] == "sharegpt"
    cases = _cases(path)
    assert set(cases) == {"glaive.json[0]#turn1", "glaive.json[0]#turn2", "glaive.json[1]"}
    first, second = cases["glaive.json[0]#turn1"], cases["glaive.json[0]#turn2"]
    assert [t.name for t in first.tools] == ["math_gcd"]  # from the system prompt
    assert first.query == "GCD of 36 and 48?" and first.observed == ({"result": 12},)
    assert second.query == "GCD of 36 and 48?\nAnd of 10 and 4, and of 9 and 6?"
    assert isinstance(second.answers, list) and len(second.answers) == 2
    assert second.observed == (2, 3)
    assert second.style == "parallel" and second.where.endswith("glaive.json:1#conversations[5]")
    assert cases["glaive.json[1]"].style == "irrelevance"  # answered in text: no call wanted
    code, results, _, _ = cli(str(path))
    assert code == 0 and len(results) == 3


def test_hermes_transcripts_with_python_reprs(tmp_path: Path) -> None:
    tools = repr([GCD_TOOL])  # Python syntax: single quotes
    record = {
        "id": "h1",
        "conversations": [
            {
                "from": "system",
                "value": "You are a function calling AI model. <tools> " + tools + " </tools> "
                "Use <tool_call> {'arguments': <args-dict>, 'name': <name>} </tool_call>.",
            },
            {"from": "human", "value": "GCD of 8 and 12, and of 9 and 6."},
            {
                "from": "gpt",
                "value": "<tool_call>\n{'arguments': {'a': 8, 'b': 12}, 'name': 'math_gcd'}\n"
                '</tool_call>\n<tool_call>\n{"name": "math_gcd", "arguments": {"a": 9, "b": 6}}\n'
                "</tool_call>",
            },
            {"from": "tool", "value": "<tool_response>\n{'result': 4}\n</tool_response>"},
            {"from": "gpt", "value": "4 and 3."},
        ],
    }
    evil = json.loads(json.dumps(record))
    evil["id"] = "h2"
    evil["conversations"][2]["value"] = "<tool_call>{'name': __import__('os').getpid()}</tool_call>"
    messages = {
        "id": "h3",
        "messages": [
            {"role": "system", "content": f"<tools>{json.dumps(GCD_TOOL)}</tools>"},
            {"role": "user", "content": "GCD of 5 and 10?"},
            {
                "role": "assistant",
                "content": "<tool_call>"
                + json.dumps({"name": "math_gcd", "arguments": {"a": 5, "b": 10}})
                + "</tool_call>",
            },
        ],
    }
    path = write(tmp_path / "hermes.jsonl", [record, evil, messages])
    assert read_dataset(path)[0] == "hermes"
    cases = _cases(path)
    answers = cases["h1"].answers
    assert isinstance(answers, list)
    assert [c["arguments"] for c in answers] == [{"a": 8, "b": 12}, {"a": 9, "b": 6}]
    assert cases["h1"].observed == ("{'result': 4}",)
    _, results, _, _ = cli(str(path))
    assert outcome(results["h1"]) == outcome(results["h3"]) == ("pass", None, None)
    assert outcome(results["h2"]) == ("fail", "format", "invalid_json")  # data, never run
    assert "nor a Python literal" in results["h2"]["message"]


def test_openai_multi_turn_and_forced_formats(tmp_path: Path) -> None:
    def call(cid: str, a: int, b: int) -> dict[str, Any]:
        arguments = json.dumps({"a": a, "b": b})
        return {
            "id": cid,
            "type": "function",
            "function": {"name": "math_gcd", "arguments": arguments},
        }

    record = {
        "id": "chat",
        "tools": [GCD_TOOL],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "GCD of 4 and 6?"}]},
            {"role": "assistant", "content": None, "tool_calls": [call("c1", 4, 6)]},
            {"role": "tool", "tool_call_id": "c1", "content": "2"},
            {"role": "assistant", "content": "2."},
            {"role": "user", "content": "Now 9 and 12."},
            {"role": "assistant", "tool_calls": [call("c2", 9, 12)]},
            {"role": "tool", "tool_call_id": "c2", "content": "3"},
        ],
    }
    path = write(tmp_path / "chat.jsonl", [record])
    cases = _cases(path)
    assert list(cases) == ["chat#turn1", "chat#turn2"]
    assert cases["chat#turn1"].query == "GCD of 4 and 6?" and cases["chat#turn1"].observed == (2,)
    assert cases["chat#turn2"].query.endswith("Now 9 and 12.")
    code, results, _, _ = cli(str(path))
    assert code == 0 and len(results) == 2
    code, results, _, _ = cli(str(path), "--format", "sharegpt")
    assert code == 1 and outcome(results["chat"]) == ("fail", None, "invalid_record")
    assert "not a ShareGPT record" in results["chat"]["message"]


def test_detection_names_each_format() -> None:
    assert detect_format(GOOD) == "xlam"
    assert detect_format({"messages": [], "tools": []}) == "openai"
    assert detect_format({"conversations": []}) == "sharegpt"
    hermes = {"conversations": [{"from": "system", "value": "<tools>[]</tools>"}]}
    assert detect_format(hermes) == "hermes"
    assert detect_format({"id": "simple_0", "question": [], "function": []}) == "bfcl"
    assert detect_format(["not", "a", "record"]) is None


def test_the_real_glaive_file_gets_a_verdict_for_every_assistant_call() -> None:
    path = shared("glaive/glaive_toolcall_en_demo.json")
    conversations = json.loads(path.read_text())
    calling_turns = 0
    for conversation in conversations:
        speakers = [t["from"] for t in conversation["conversations"]]
        starts = [
            i
            for i, s in enumerate(speakers)
            if s == "function_call" and (i == 0 or speakers[i - 1] != "function_call")
        ]
        calling_turns += max(1, len(starts))
    _, results, summary, _ = cli(str(path))
    assert summary["records"] == len(results) == calling_turns
    unread = [r for r in results.values() if r["verdict"] == "fail" and r["stage"] is None]
    assert not unread  # every record was read
    answered = [r for r in results.values() if "#conversations[" in r["where"]]
    assert len(answered) == 211  # every function_call turn of the file, none merged
    assert len({r["where"].split(":")[-1].split("#")[0] for r in results.values()}) == 300
    assert summary["pass"] >= 0.9 * summary["records"], summary


def test_executed_results_are_compared_with_the_recorded_outputs(tmp_path: Path) -> None:
    def record(rid: str, observed: str) -> dict[str, Any]:
        call = json.dumps({"name": "math_gcd", "arguments": {"a": 36, "b": 48}})
        return {
            "id": rid,
            "tools": json.dumps([GCD_TOOL["function"]]),
            "conversations": [
                {"from": "human", "value": "GCD of 36 and 48?"},
                {"from": "function_call", "value": call},
                {"from": "observation", "value": observed},
                {"from": "gpt", "value": "12."},
            ],
        }

    records = [
        record("same", '{"gcd": 12}'),
        record("other", '{"gcd": 13}'),
        record("text", "twelve"),
    ]
    path = write(tmp_path / "observed.jsonl", records)
    result = runner.invoke(app, ["check", str(path), "--summary-json"])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    summary = lines.pop()["summary"]
    by_id = {r["id"]: r for r in lines}
    assert result.exit_code == 0, result.output  # a differing output never fails the record
    assert by_id["same"]["observed"] == "agrees" and by_id["same"]["message"] == ""
    assert by_id["other"]["observed"] == "differs" and by_id["other"]["verdict"] == "pass"
    assert "the dataset shows {'gcd': 13}, execution gave 12" in by_id["other"]["message"]
    assert by_id["text"]["observed"] == "differs"
    assert summary["observed"] == {"agrees": 1, "differs": 2}


def test_the_public_surface_of_streamer_check_changes_only_on_purpose() -> None:
    import streamer.check

    assert sorted(streamer.check.__all__) == [
        "BadRecord",
        "Binder",
        "Binding",
        "CHECK_STAGES",
        "CheckCase",
        "CheckResult",
        "CheckSettings",
        "CheckSummary",
        "Checker",
        "DatasetFormatError",
        "ENVIRONMENTS",
        "EnvironmentChoice",
        "FORMAT_NAMES",
        "InvalidRecord",
        "Item",
        "NOT_EXECUTABLE_CAUSES",
        "READ_REASONS",
        "ReadLimits",
        "ReadSettings",
        "RecordFormat",
        "ReplaySettings",
        "TRAJECTORY_REASONS",
        "TRAJECTORY_STAGE",
        "TrajectoryCase",
        "TrajectoryOutcome",
        "TrajectoryStep",
        "detect_format",
        "open_checker",
        "parse_call_string",
        "parse_environment",
        "parse_literal",
        "read_dataset",
        "read_items",
        "replay",
        "run_check",
    ]
    assert set(streamer.check.READ_REASONS) == {
        "invalid_encoding",
        "invalid_record",
        "invalid_tools",
        "invalid_schema",
        "limit_exceeded",
    }
