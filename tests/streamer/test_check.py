"""`apigen check` on real BFCL and xLAM data, corrupted variants of it, and OpenAI records."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from executors.converters import spec_from_xlam_tool
from streamer.check import (
    CheckResult,
    CheckSettings,
    DatasetFormatError,
    open_checker,
    parse_call_string,
    read_items,
    run_check,
)
from streamer.cli._app import app
from tests.shared_data import SHARED_DATA, needs_shared

BFCL = SHARED_DATA / "bfcl"
XLAM = SHARED_DATA / "xlam" / "xlam60k_sample.jsonl"
needs_bfcl = needs_shared("bfcl")
needs_xlam = needs_shared("xlam/xlam60k_sample.jsonl")
runner = CliRunner()


def check(paths: list[Path], **settings: Any) -> dict[str, CheckResult]:
    results: list[CheckResult] = []

    async def main() -> None:
        async with open_checker(CheckSettings(**settings)) as checker:
            await run_check(checker, read_items(paths), results.append)

    anyio.run(main)
    return {r.id: r for r in results}


def bfcl_files() -> list[Path]:
    return sorted(BFCL.glob("BFCL_v4_*.json")) + sorted((BFCL / "exec" / "question").glob("*"))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_lines(path: Path, records: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


@pytest.mark.slow
@needs_bfcl
def test_bfcl_gold_answers_pass_and_label_noise_is_reported() -> None:
    results = check(bfcl_files())
    assert len(results) == 3715  # every question of the ten AST and four exec categories
    table = Counter((r.verdict, r.stage, r.reason) for r in results.values())
    assert table[("skip", "execution", "not_executable")] == 105
    assert table[("fail", "format", "invalid_call")] == 2
    # The rest is BFCL's label noise as the format stage judges it (its rules, not the
    # reader's): a few dozen gold answers at most, each with a format reason.
    noise = {k: n for k, n in table.items() if k[0] == "fail" and k[2] != "invalid_call"}
    assert {stage for _, stage, _ in noise} == {"format"}
    assert {reason for _, _, reason in noise} <= {
        "enum_violation",
        "missing_required",
        "type_mismatch",
        "unknown_argument",
        "out_of_range",
    }
    assert sum(noise.values()) <= 40 and table[("pass", None, None)] >= 3570
    # The README's examples: an arithmetic expression, booleans for string enums, and
    # BFCL's own schema saying integer items for a matrix.
    assert results["exec_multiple_0"].reason == "invalid_call"
    assert "1/6" in results["exec_multiple_0"].message
    assert results["live_multiple_552-153-1"].reason in ("enum_violation", "type_mismatch")
    assert "True is not" in results["live_multiple_552-153-1"].message
    assert results["exec_parallel_31"].reason == "type_mismatch"
    # simple_python_307's boolean is a second alternative; the first says "omit".
    assert results["simple_python_307"].verdict == "pass"
    # A required parameter whose alternatives are ["", 25.0] takes 25.0 (BFCL's own checker
    # never accepts a required parameter left out); one whose only alternative is "" fails.
    assert results["simple_python_200"].verdict == "pass"
    assert results["live_multiple_507-149-4"].reason == "missing_required"


@needs_bfcl
def test_bfcl_exec_gold_calls_really_execute_and_web_only_ones_are_skipped() -> None:
    results = check(sorted((BFCL / "exec" / "question").glob("*")))
    executed = [r for r in results.values() if r.verdict == "pass"]
    assert len(executed) == 130
    assert all(r.stages == ("format", "execution") for r in executed)
    skipped = [r for r in results.values() if r.verdict == "skip"]
    assert len(skipped) == 105
    assert all(
        r.reason == "not_executable" and "needs a live web API" in r.message for r in skipped
    )
    assert "get_weather_data" in results["exec_parallel_multiple_0"].message
    # An AST category's same-named function is not ours to run: format only.
    assert check([BFCL / "BFCL_v4_parallel.json"])["parallel_4"].stages == ("format",)


def _simple_python() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    questions = lines(BFCL / "BFCL_v4_simple_python.json")[:60]
    answers = lines(BFCL / "possible_answer" / "BFCL_v4_simple_python.json")[:60]
    return questions, answers


def _first_call(answer: dict[str, Any]) -> tuple[str, dict[str, list[Any]]]:
    ((name, params),) = answer["ground_truth"][0].items()
    return name, params


@needs_bfcl
def test_corrupted_bfcl_answers_fail_with_the_right_reason(tmp_path: Path) -> None:
    questions, answers = _simple_python()
    by_id = {q["id"]: q for q in questions}

    def doc(answer: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = by_id[answer["id"]]["function"][0]["parameters"]
        return result

    def corrupt_name(a: dict[str, Any]) -> None:
        name, params = _first_call(a)
        a["ground_truth"] = [{name + "_nope": params}]

    def corrupt_argument(a: dict[str, Any]) -> None:
        _first_call(a)[1]["no_such_argument"] = [1]

    def corrupt_type(a: dict[str, Any]) -> None:
        params = _first_call(a)[1]
        name = next(p for p, s in doc(a)["properties"].items() if s["type"] == "integer")
        params[name] = ["ten"]

    def corrupt_required(a: dict[str, Any]) -> None:
        del _first_call(a)[1][doc(a)["required"][0]]

    def corrupt_enum(a: dict[str, Any]) -> None:
        name = next(p for p, s in doc(a)["properties"].items() if "enum" in s)
        _first_call(a)[1][name] = ["not-an-allowed-value"]

    def has_integer(a: dict[str, Any]) -> bool:
        return any(s["type"] == "integer" for s in doc(a)["properties"].values())

    def has_enum(a: dict[str, Any]) -> bool:
        return any("enum" in s for s in doc(a)["properties"].values())

    def anything(a: dict[str, Any]) -> bool:
        return True

    def has_required(a: dict[str, Any]) -> bool:
        return bool(doc(a).get("required"))

    Answer = dict[str, Any]
    plan: list[tuple[Callable[[Answer], None], Callable[[Answer], bool], str]] = [
        (corrupt_name, anything, "unknown_function"),
        (corrupt_argument, anything, "unknown_argument"),
        (corrupt_type, has_integer, "type_mismatch"),
        (corrupt_required, has_required, "missing_required"),
        (corrupt_enum, has_enum, "enum_violation"),
    ]
    expected: dict[str, str] = {}
    corrupted = copy.deepcopy(answers)
    for corrupt, fits, reason in plan:
        target = next(a for a in corrupted if a["id"] not in expected and fits(a))
        corrupt(target)
        expected[target["id"]] = reason
    name = "BFCL_v4_simple_python.json"
    write_lines(tmp_path / "possible_answer" / name, corrupted)
    bad_line = "this is {not JSON"
    write_lines(tmp_path / name, [*questions[:30], bad_line, *questions[30:]])

    results = check([tmp_path / name])
    assert len(results) == 61  # the bad line is reported, nothing else is lost
    invalid = [r for r in results.values() if r.reason == "invalid_record"]
    assert len(invalid) == 1 and invalid[0].verdict == "fail" and invalid[0].stage is None
    assert f"{name}:31" in invalid[0].where and f"{name}:31" in invalid[0].message
    for rid, reason in expected.items():
        assert (results[rid].verdict, results[rid].stage, results[rid].reason) == (
            "fail",
            "format",
            reason,
        ), results[rid]
    clean = [r for r in results.values() if r.id not in expected and r.reason != "invalid_record"]
    assert len(clean) == 55 and all(r.verdict == "pass" for r in clean)


@needs_bfcl
def test_exec_answers_are_parsed_as_data_and_out_of_domain_calls_fail(tmp_path: Path) -> None:
    name = "BFCL_v4_exec_simple.json"
    questions = lines(BFCL / "exec" / "question" / name)[:3]
    answers = lines(BFCL / "exec" / "possible_answer" / name)[:3]
    assert answers[0]["ground_truth"] == ["calc_binomial_probability(n=20, k=5, p=0.6)"]
    answers[0]["ground_truth"] = ["calc_binomial_probability(n=20, k=5, p=__import__('os'))"]
    answers[1]["ground_truth"] = ["calc_binomial_probability(n=5, k=9, p=0.5)"]  # k > n
    write_lines(tmp_path / "question" / name, questions)
    write_lines(tmp_path / "possible_answer" / name, answers)
    # The answer file itself may be given: its questions are found beside it.
    results = list(check([tmp_path / "possible_answer" / name]).values())
    assert (results[0].stage, results[0].reason) == ("format", "invalid_call")
    assert (results[1].stage, results[1].reason) == ("execution", "function_error")
    assert results[2].verdict == "pass" and results[2].stages == ("format", "execution")


def test_parse_call_string_accepts_literals_only() -> None:
    assert parse_call_string("m.f(1, b=[2, -3.5], c={'k': (1, None)}, d=True)") == (
        "m.f",
        [1],
        {"b": [2, -3.5], "c": {"k": [1, None]}, "d": True},
    )
    for text in ("f(x=1+1)", "f(x=open('/etc/passwd'))", "f(**kw)", "f(x=[i for i in y])", "x"):
        with pytest.raises(ValueError):
            parse_call_string(text)


@needs_xlam
def test_xlam_rows_pass_with_flat_and_openai_style_tools(tmp_path: Path) -> None:
    rows = lines(XLAM)
    openai_rows = copy.deepcopy(rows)
    for row in openai_rows:
        tools = json.loads(row["tools"])
        row["tools"] = json.dumps([spec_from_xlam_tool(t).to_openai_tool() for t in tools])
        row["id"] = f"openai-{row['id']}"
    broken = copy.deepcopy(rows[:3])
    broken[0]["answers"] = broken[0]["answers"][:-2]
    broken[1]["answers"] = json.dumps([{"name": "no_such_tool", "arguments": {}}])
    broken[2]["answers"] = json.dumps([{"name": json.loads(rows[2]["answers"])[0]["name"]}])
    for i, row in enumerate(broken):
        row["id"] = f"broken-{i}"
    path = write_lines(tmp_path / "xlam.jsonl", [*rows, *openai_rows, *broken])
    results = check([path])
    assert [r.verdict for r in results.values()][:6] == ["pass"] * 6
    assert all(r.stages == ("format",) for r in list(results.values())[:6])
    assert [results[f"broken-{i}"].reason for i in range(3)] == [
        "invalid_json",
        "unknown_function",
        "missing_field",
    ]


OPENAI_RECORDS: list[dict[str, Any]] = [
    {
        "id": "gcd",
        "messages": [
            {"role": "user", "content": "What is the greatest common divisor of 36 and 48?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_0",
                        "type": "function",
                        "function": {"name": "math_gcd", "arguments": '{"a": 36, "b": 48}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_0", "content": "12"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "math_gcd",
                    "description": "Greatest common divisor.",
                    "parameters": {
                        "type": "object",
                        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                        "required": ["a", "b"],
                    },
                },
            }
        ],
    }
]


def _openai_variants() -> list[dict[str, Any]]:
    good = OPENAI_RECORDS[0]
    records = [good]
    for rid, arguments in (("bad-json", '{"a": 36, "b": '), ("wrong-type", '{"a": "36", "b": 48}')):
        record = copy.deepcopy(good)
        record["id"] = rid
        record["messages"][1]["tool_calls"][0]["function"]["arguments"] = arguments
        records.append(record)
    domain = copy.deepcopy(good)
    domain["id"] = "k-above-n"
    domain["messages"][0]["content"] = "Probability of 9 successes in 5 trials with p 0.5?"
    call = domain["messages"][1]["tool_calls"][0]["function"]
    call["name"] = "calc_binomial_probability"
    call["arguments"] = '{"n": 5, "k": 9, "p": 0.5}'
    function = domain["tools"][0]["function"]
    function["name"] = "calc_binomial_probability"
    function["parameters"] = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "k": {"type": "integer"}, "p": {"type": "number"}},
        "required": ["n", "k", "p"],
    }
    records.append(domain)
    no_call = copy.deepcopy(good)
    no_call["id"] = "no-call"
    no_call["messages"] = [
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the divisor cross the road?"},
    ]
    records.append(no_call)
    unanswered = copy.deepcopy(no_call)
    unanswered["id"] = "unanswered"
    unanswered["messages"] = unanswered["messages"][:1]
    records.append(unanswered)
    return records


def test_openai_records_through_the_cli(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "chat.jsonl", _openai_variants())
    result = runner.invoke(app, ["check", str(path), "--summary-json"])
    assert result.exit_code == 1, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]  # stdout: JSON lines only
    summary = out.pop()["summary"]
    by_id = {r["id"]: r for r in out}
    keys = {"id", "verdict", "stage", "reason", "message", "where", "stages", "observed"}
    assert set(by_id["gcd"]) == keys
    assert by_id["gcd"]["observed"] == "agrees"  # the tool message says 12; so does execution
    assert by_id["gcd"]["message"] == ""  # math_gcd binds by name and signature: it ran
    assert by_id["gcd"]["verdict"] == "pass" and by_id["gcd"]["stages"] == ["format", "execution"]
    # The assistant answered in text: no call expected. No answer at all says nothing.
    assert by_id["no-call"]["verdict"] == "pass"
    assert (by_id["unanswered"]["stage"], by_id["unanswered"]["reason"]) == ("format", "no_call")
    assert (by_id["bad-json"]["stage"], by_id["bad-json"]["reason"]) == ("format", "invalid_json")
    assert by_id["wrong-type"]["reason"] == "type_mismatch"
    zero = by_id["k-above-n"]
    assert (zero["stage"], zero["reason"]) == ("execution", "function_error"), zero
    assert summary["records"] == 6 and summary["pass"] == 2 and summary["fail"] == 4
    assert {"verdict": "fail", "stage": "format", "reason": "invalid_json", "count": 1} in (
        summary["by_reason"]
    )


@needs_bfcl
@needs_xlam
def test_cli_exit_codes_and_summary_table(tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.jsonl", OPENAI_RECORDS)
    result = runner.invoke(app, ["check", str(good)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["verdict"] for line in result.stdout.splitlines()] == ["pass"]
    assert "apigen check: 1 records" in result.stderr
    unknown = write_lines(tmp_path / "other.jsonl", [{"hello": "world"}])
    result = runner.invoke(app, ["check", str(unknown)])
    assert result.exit_code == 2 and "other.jsonl" in result.stderr and not result.stdout
    for args in (["--stages", "execution"], ["--stages", "format,magic"], ["--format", "csv"]):
        assert runner.invoke(app, ["check", str(good), *args]).exit_code == 2
    assert runner.invoke(app, ["check", str(tmp_path / "missing.jsonl")]).exit_code == 2
    lonely = write_lines(
        tmp_path / "q" / "BFCL_v4_simple_python.json",
        lines(BFCL / "BFCL_v4_simple_python.json")[:1],
    )
    result = runner.invoke(app, ["check", str(lonely)])
    assert result.exit_code == 2 and "possible_answer" in result.stderr
    with pytest.raises(DatasetFormatError):
        read_items([lonely])
    # Skips are not failures unless --strict: xLAM's RapidAPI functions cannot run here.
    skipped = runner.invoke(app, ["check", str(XLAM), "--require-execution"])
    assert skipped.exit_code == 0
    format_only = runner.invoke(app, ["check", str(XLAM), "--strict", "--require-execution"])
    assert format_only.exit_code == 1
    assert {json.loads(x)["reason"] for x in format_only.stdout.splitlines()} == {"not_executable"}


@pytest.mark.slow
def test_semantic_stage_rules_and_simulated_judge(tmp_path: Path) -> None:
    ungrounded = copy.deepcopy(OPENAI_RECORDS[0])
    ungrounded["id"] = "ungrounded"
    ungrounded["messages"][0]["content"] = "Please compute a greatest common divisor for me."
    path = write_lines(tmp_path / "chat.jsonl", [OPENAI_RECORDS[0], ungrounded])
    results = check([path], stages=("format", "execution", "semantic"))
    assert results["gcd"].verdict == "pass"
    assert results["gcd"].stages == ("format", "execution", "semantic")
    assert (results["ungrounded"].stage, results["ungrounded"].reason) == (
        "semantic",
        "ungrounded_arguments",
    )
    result = runner.invoke(app, ["check", str(path), "--judge-simulated", "--summary-json"])
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["stages"] == ["format", "execution", "semantic"]
    assert out[0]["verdict"] == "pass", out[0]
    assert out[1]["reason"] == "ungrounded_arguments"
