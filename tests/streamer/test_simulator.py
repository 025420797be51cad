"""The simulated endpoint: schema-valid pairs per style, verdicts, faults and their counts."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import anyio
import httpx2
import jsonschema
import pytest
from typer.testing import CliRunner

from streamer.cli._app import app as cli_app
from streamer.llm import (
    CORRUPTIONS,
    SIMULATED_EXEC_FAILURE,
    Latency,
    LlmClient,
    LlmEndpoint,
    SimulatorConfig,
    run_simulator,
)
from streamer.llm._simdata import (
    EXPECTED_REJECTS,
    PAIR_CORRUPTIONS,
    SIMULATED_JUDGE,
    expected_rejects,
    grounded,
    judge_samples,
    sample_value,
)
from streamer.llm._simroles import role_corruptions
from streamer.prompts import JudgeItem, generation_schema, judge_schema, render_generation
from streamer.prompts import render_judge as render_judge_prompt
from topics import Call, CallResult, QueryStyle

from .llm_tools import TOOLS

pytestmark = pytest.mark.anyio

BY_NAME = {t.name: t for t in TOOLS}
FORMATS = jsonschema.FormatChecker()


def _endpoint(base_url: str) -> LlmEndpoint:
    return LlmEndpoint("sim", base_url, "simulated-test", max_concurrency=32)


async def _generate(
    client: LlmClient, style: QueryStyle, n_requests: int, pairs: int = 2
) -> list[Any]:
    """Parsed answers of ``n_requests`` distinct generation prompts, in request order."""
    out: list[Any] = [None] * n_requests

    async def one(i: int) -> None:
        messages = render_generation(TOOLS, [], style, pairs)
        messages[0]["content"] += f" #{i}"
        out[i] = (
            await client.complete_json(messages, generation_schema(TOOLS, style, pairs))
        ).parsed

    async with anyio.create_task_group() as tg:
        for i in range(n_requests):
            tg.start_soon(one, i)
    return out


@pytest.mark.parametrize("style", list(QueryStyle))
async def test_pairs_validate_and_honour_the_style(style: QueryStyle) -> None:
    async with (
        run_simulator(SimulatorConfig(seed=11)) as sim,
        LlmClient(_endpoint(sim.base_url)) as c,
    ):
        answers = await _generate(c, style, 20, pairs=3)
    schema = generation_schema(TOOLS, style, 3)
    for answer in answers:
        jsonschema.validate(answer, schema)
        for pair in answer["pairs"]:
            calls = pair["answers"]
            names = [call["name"] for call in calls]
            if style in (QueryStyle.SIMPLE, QueryStyle.MULTIPLE):
                assert len(calls) == 1
            elif style is QueryStyle.PARALLEL:
                assert len(calls) >= 2 and len(set(names)) == 1
            elif style is QueryStyle.PARALLEL_MULTIPLE:
                assert len(calls) >= 2 and len(set(names)) >= 2
            else:
                assert calls == []
            for call in calls:
                jsonschema.validate(
                    call["arguments"], BY_NAME[call["name"]].parameters, format_checker=FORMATS
                )
            assert grounded(pair["query"], calls) is None, pair


def test_values_respect_schema_constraints() -> None:
    rng = random.Random(0)
    schemas: list[dict[str, Any]] = [
        {"type": "integer", "minimum": 5, "maximum": 6},
        {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
        {"type": "number", "minimum": -1.5, "maximum": -1.0},
        {"type": "string", "enum": ["a", "b"]},
        {"type": "string", "minLength": 30, "maxLength": 31},
        {"type": "string", "format": "email"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "uuid"},
        {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4},
        {"type": ["null", "boolean"]},
        {"anyOf": [{"type": "integer"}, {"type": "string", "format": "date"}]},
        {"type": "object", "properties": {"x": {"const": 3}}, "required": ["x"]},
    ]
    for schema in schemas:
        for _ in range(20):
            jsonschema.validate(sample_value(schema, rng, "field"), schema, format_checker=FORMATS)


async def test_seeded_runs_are_reproducible_in_any_order() -> None:
    async def run(seed: int, order: list[int]) -> dict[int, Any]:
        config = SimulatorConfig(seed=seed, corruption={"wrong_type": 0.2, "invalid_json": 0.1})
        async with run_simulator(config) as sim, LlmClient(_endpoint(sim.base_url)) as c:
            results: dict[int, Any] = {}
            async with anyio.create_task_group() as tg:
                for i in order:

                    async def one(i: int = i) -> None:
                        messages = render_generation(TOOLS, [], QueryStyle.PARALLEL_MULTIPLE, 2)
                        messages[0]["content"] += f" #{i}"
                        schema = generation_schema(TOOLS, QueryStyle.PARALLEL_MULTIPLE, 2)
                        results[i] = (await c.complete_json(messages, schema)).text

                    tg.start_soon(one)
            return results

    forward = await run(7, list(range(12)))
    backward = await run(7, list(reversed(range(12))))
    other = await run(8, list(range(12)))
    assert forward == backward
    assert forward != other


async def test_identical_prompts_answer_by_request_seed_not_by_arrival_order() -> None:
    messages = render_generation(TOOLS, [], QueryStyle.SIMPLE, 1)
    schema = generation_schema(TOOLS, QueryStyle.SIMPLE, 1)

    async def run(order: list[int]) -> dict[int, str]:
        config = SimulatorConfig(seed=3)
        async with run_simulator(config) as sim, LlmClient(_endpoint(sim.base_url)) as c:
            results: dict[int, str] = {}
            for seed in order:  # the same prompt each time; only the seed differs
                completion = await c.complete_json(messages, schema, seed=seed)
                results[seed] = completion.text
            return results

    forward = await run([1, 2, 3, 4])
    assert forward == await run([4, 3, 2, 1])
    assert len(set(forward.values())) > 1


def _classify(call: dict[str, Any], query: str) -> str | None:
    """The corruption a call shows, judged independently of the simulator's bookkeeping."""
    tool = BY_NAME.get(call["name"])
    if tool is None:
        return "unknown_function"
    props = tool.parameters["properties"]
    if set(call["arguments"]) - set(props):
        return "unknown_argument"
    if set(tool.parameters["required"]) - set(call["arguments"]):
        return "missing_required"
    try:
        jsonschema.validate(call["arguments"], tool.parameters)
    except jsonschema.ValidationError:
        return "wrong_type"
    if SIMULATED_EXEC_FAILURE in call["arguments"].values():
        return "exec_failure"
    return None


async def test_corruption_counts_match_rates_and_the_output() -> None:
    rates = {kind: 0.06 for kind in PAIR_CORRUPTIONS}
    rates["invalid_json"] = 0.1
    config = SimulatorConfig(seed=3, corruption=rates)
    n_requests, pairs = 150, 4
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim.base_url)) as c:
        answers = await _generate(c, QueryStyle.PARALLEL_MULTIPLE, n_requests, pairs)
        injected = Counter(sim.stats.corruptions)
        async with httpx2.AsyncClient() as http:
            stats = (await http.get(sim.base_url.removesuffix("/v1") + "/stats")).json()
    assert stats["simulated"] is True and stats["corruptions"] == {
        k: injected.get(k, 0) for k in (*CORRUPTIONS, *role_corruptions())
    }
    assert stats["expected_rejects"] == {
        f"{stage}/{reason}": n for (stage, reason), n in expected_rejects(injected).items()
    }
    seen: Counter[str] = Counter()
    seen["invalid_json"] = sum(a is None for a in answers)
    for answer in answers:
        for pair in answer["pairs"] if answer is not None else ():
            kinds = {_classify(call, pair["query"]) for call in pair["answers"]} - {None}
            assert len(kinds) <= 1
            kind = kinds.pop() if kinds else None
            if kind is None and grounded(pair["query"], pair["answers"]) is not None:
                kind = "query_mismatch"
            if kind is not None:
                seen[kind] += 1
    # A broken response's pairs are not counted, so what was counted is exactly what shows.
    assert seen == +injected
    parsed_pairs = sum(len(a["pairs"]) for a in answers if a is not None)
    for kind, rate in rates.items():
        n = n_requests if kind == "invalid_json" else parsed_pairs
        tolerance = 4 * math.sqrt(rate * n * (1 - rate))
        assert abs(injected[kind] - rate * n) <= tolerance, (kind, injected[kind], rate * n)


async def test_judge_passes_grounded_samples_and_fails_mismatches() -> None:
    call = Call("get_weather", {"city": "Lisbon", "days": 3})
    ok = CallResult(ok=True, result={"temp": 21})
    items = [
        JudgeItem("What's the weather in Lisbon for 3 days?", (call,), (ok,)),
        JudgeItem("What's the weather in Osaka for 3 days?", (call,), (ok,)),
        JudgeItem("Weather in Lisbon, 3 days", (call,), (CallResult(ok=False, reason="timeout"),)),
        JudgeItem("Write a poem.", (), ()),
    ]
    async with run_simulator() as sim, LlmClient(_endpoint(sim.base_url)) as c:
        completion = await c.complete_json(render_judge_prompt(items), judge_schema(len(items)))
    jsonschema.validate(completion.parsed, judge_schema(len(items)))
    verdicts = completion.parsed["verdicts"]
    assert [v["passed"] for v in verdicts] == [True, False, False, True]
    assert [v["index"] for v in verdicts] == [0, 1, 2, 3]
    assert "Lisbon" in verdicts[1]["reasoning"]
    assert sim.stats.verdicts == {"passed": 2, "failed": 2}
    # Whatever it decides, it says it is a test double, not a judgement.
    assert all(v["reasoning"].startswith(SIMULATED_JUDGE) for v in verdicts)
    assert SIMULATED_JUDGE.startswith("[simulated judge") and "test double" in SIMULATED_JUDGE


@pytest.mark.parametrize(
    ("query", "arguments", "passed"),
    [
        ("I borrowed $200,000 at 5% for 30 years", {"loan": 200000, "rate": 0.05, "years": 30},
         True),
        ("I borrowed $200,000 at 5% for 30 years", {"loan": 20000, "rate": 0.05, "years": 30},
         False),
        ("Leave a 15% tip on $50", {"bill_amount": 50, "tip_percentage": 0.15}, True),
        ("Leave a 15% tip on $50", {"bill_amount": 50, "gratuity": 0.15}, False),  # no rate hint
        ("Convert 5000 Japanese Yen to British Pounds", {"amount": 5000, "from": "JPY",
         "to": "GBP"}, True),
        ("Convert 5000 Japanese Yen to Euros", {"amount": 5000, "from": "JPY", "to": "GBP"},
         False),
        ("Born on March 5th, 1990", {"birth_date": "1990-03-05"}, True),
        ("Born on March 5th, 1990", {"birth_date": "1990-05-03"}, False),
        ("Book two seats", {"seats": 2}, True),
        ("Book 20 seats", {"seats": 2}, False),
    ],
)  # fmt: skip
def test_simulated_judge_grounds_values_in_any_written_form(
    query: str, arguments: dict[str, Any], passed: bool
) -> None:
    sample = {"index": 0, "query": query, "calls": [{"name": "f", "arguments": arguments}]}
    [verdict] = judge_samples([sample])
    assert verdict["passed"] is passed, verdict["reasoning"]
    assert verdict["reasoning"].startswith(SIMULATED_JUDGE)


async def test_everything_is_labelled_simulated() -> None:
    async with run_simulator() as sim, httpx2.AsyncClient() as http:
        models = await http.get(f"{sim.base_url}/models")
        assert models.headers["x-simulated"] == "true"
        assert all(m["id"].startswith("simulated-") for m in models.json()["data"])
        messages = render_generation(TOOLS, [], QueryStyle.SIMPLE, 1)
        reply = await http.post(
            f"{sim.base_url}/chat/completions", json={"model": "gpt-4o", "messages": messages}
        )
        assert reply.headers["x-simulated"] == "true"
        assert reply.json()["model"] == "simulated-gpt-4o"
        unknown = await http.post(
            f"{sim.base_url}/chat/completions",
            json={"model": "x", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert unknown.status_code == 400 and "simulated" in unknown.json()["error"]["message"]
    with pytest.raises(ValueError, match="simulated-"):
        SimulatorConfig(model="gpt-4o")


async def test_latency_and_concurrency_bound() -> None:
    config = SimulatorConfig(latency=Latency("fixed", 100), max_concurrency=2)
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim.base_url)) as c:
        with anyio.fail_after(5):
            start = anyio.current_time()
            await _generate(c, QueryStyle.SIMPLE, 6, pairs=1)
            elapsed = anyio.current_time() - start
    assert elapsed >= 0.3  # 6 requests, 2 at a time, 100 ms each


def test_latency_parsing_and_sampling() -> None:
    rng = random.Random(1)
    assert Latency.parse("25") == Latency("fixed", 25)
    assert Latency.parse("uniform:10:20") == Latency("uniform", 10, 20)
    assert Latency.parse("lognormal:50:0.3") == Latency("lognormal", 50, sigma=0.3)
    samples = [Latency.parse("uniform:10:20").sample_s(rng) for _ in range(100)]
    assert all(0.01 <= s <= 0.02 for s in samples)
    median = sorted(Latency.parse("lognormal:50:0.3").sample_s(rng) for _ in range(401))[200]
    assert 0.04 < median < 0.06
    with pytest.raises(ValueError):
        Latency.parse("gaussian:1")


def test_config_validation_and_files() -> None:
    with pytest.raises(ValueError, match="unknown corruption"):
        SimulatorConfig(corruption={"typo": 0.1})
    with pytest.raises(ValueError, match="sum"):
        SimulatorConfig(error_rate_429=0.6, error_rate_500=0.6)
    config = SimulatorConfig.from_dict({"seed": 4, "latency": "uniform:1:2", "corruption": {}})
    assert config.latency == Latency("uniform", 1, 2) and config.seed == 4
    with pytest.raises(ValueError, match="unknown simulator settings"):
        SimulatorConfig.from_dict({"sed": 4})


def test_cli_rejects_bad_settings() -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["simulate-llm", "--corrupt", "wrong_type"])
    assert result.exit_code != 0 and "KIND=RATE" in result.output
    result = runner.invoke(cli_app, ["simulate-llm", "--model", "gpt-4o"])
    assert result.exit_code != 0 and "simulated-" in result.output


def test_cli_serves_a_labelled_simulator() -> None:
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamer", "simulate-llm", "--port", str(port), "--seed", "1",
         "--corrupt", "wrong_type=0.5", "--latency-ms", "uniform:1:2"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                reply = httpx2.get(f"http://127.0.0.1:{port}/stats", timeout=1)
                break
            except httpx2.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert reply.headers["x-simulated"] == "true" and reply.json()["requests"] == 0
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert b"SIMULATED" in err and b"wrong_type" in err


def test_judge_reject_is_decided_per_sample_whatever_the_batch() -> None:
    samples = [
        {"query": f"Add {i} and {i + 1}", "calls": [{"name": "add", "arguments": {"a": i}}]}
        for i in range(400)
    ]
    injected: Counter[str] = Counter()
    alone = [judge_samples([s], 0.25, 7, injected)[0]["passed"] for s in samples]
    batched = [v["passed"] for v in judge_samples(list(reversed(samples)), 0.25, 7)][::-1]
    assert alone == batched
    assert injected["judge_reject"] == alone.count(False)
    assert 60 <= injected["judge_reject"] <= 140  # about a quarter of 400
    assert expected_rejects(injected) == {("semantic", "judge_rejected"): alone.count(False)}
    assert set(EXPECTED_REJECTS) == set(CORRUPTIONS)
