"""Virtual APIs (executors._virtual): argument checks, the answer store, the simulator's
replies checked and retried, failures with stable reasons, every outcome simulated.

The simulator is a deterministic test double that answers with the reference answerer
(executors._virtual_prompt.reference_reply) or a scripted reply per request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from executors import (
    REASONS,
    ApiSpec,
    Dispatcher,
    Outcome,
    PythonBinding,
    PythonExecutor,
    RestBinding,
    VirtualCache,
    VirtualExecutor,
    VirtualFallback,
    compile_schema,
)
from executors._virtual_cache import VirtualAnswer, normalize_arguments, virtual_key
from executors._virtual_metrics import VirtualMetrics
from executors._virtual_prompt import (
    REPLY_SCHEMA,
    VirtualMessage,
    prompt_text,
    reference_reply,
    reply_problem,
    response_schema,
    response_template,
    virtual_messages,
)
from executors.converters.toolbench import convert_toolbench_file
from streamer.llm._simdata import sample_arguments
from tests.shared_data import shared

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = {
    "data": {"id": "int", "email": "str", "name": "str"},
    "tags": ["list of str with length 3"],
    "items": [{"sku": "str", "price": "float", "stock": "NoneType", "_list_length": 6}],
    "active": "bool",
}


def user_spec(**overrides: Any) -> ApiSpec:
    fields: dict[str, Any] = {
        "name": "user_by_id_for_reqres",
        "description": "A user by id.",
        "parameters": {
            "type": "object",
            "properties": {
                "is_id": {"type": "integer", "description": "the user's id"},
                "lang": {"type": "string", "enum": ["en", "de"]},
                "q": {"type": "string"},
                "score": {"type": "number"},
            },
            "required": ["is_id"],
        },
        "category": "Advertising",
        "returns": json.dumps(TEMPLATE),
        "source": "toolbench:Advertising/Reqres",
    }
    return ApiSpec.create(**(fields | overrides))


@dataclass
class Usage:
    prompt_tokens: int = 10
    completion_tokens: int = 5


@dataclass
class Reply:
    parsed: Any
    cost_usd: float = 0.001
    usage: Usage = field(default_factory=Usage)


Script = Callable[[int, Sequence[VirtualMessage]], Any]


class DoubleSimulator:
    """Answers with ``script(request number, messages)`` (default: the reference answer);
    an exception returned by the script is raised."""

    def __init__(self, script: Script | None = None, name: str = "double") -> None:
        self.script = script
        self._name = name
        self.requests: list[Sequence[VirtualMessage]] = []
        self.seeds: list[int | None] = []

    @property
    def name(self) -> str:
        return self._name

    async def complete_json(
        self,
        messages: Sequence[VirtualMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> Reply:
        assert schema == REPLY_SCHEMA
        self.requests.append(messages)
        self.seeds.append(seed)
        n = len(self.requests)
        if self.script is None:
            return Reply(reference_reply(prompt_text(messages)))
        answer = self.script(n, messages)
        if isinstance(answer, BaseException):
            raise answer
        return Reply(answer)


def executor(sim: DoubleSimulator, **kwargs: Any) -> VirtualExecutor:
    kwargs.setdefault("metrics", VirtualMetrics(CollectorRegistry()))
    return VirtualExecutor(sim, **kwargs)


async def test_a_valid_call_gets_a_simulated_response_in_the_documented_shape() -> None:
    sim = DoubleSimulator()
    outcome = await executor(sim).execute(user_spec(), {"is_id": 7, "lang": "en"})
    assert outcome.ok and outcome.simulated and not outcome.cached, outcome
    assert outcome.result["data"]["id"] == 7  # the reference answerer echoes the argument
    assert len(outcome.result["tags"]) == 3 and len(outcome.result["items"]) == 3
    schema = response_schema(TEMPLATE)
    assert schema is not None and not compile_schema(schema).errors(outcome.result)
    prompt = prompt_text(sim.requests[0])
    assert "<virtual_api>" in prompt and '"template_response"' in prompt
    assert '"is_id": 7' in prompt


async def test_the_same_call_gets_the_same_answer_from_the_store() -> None:
    sim = DoubleSimulator(lambda n, _: {"ok": True, "response": {"n": n}})
    virtual = executor(sim)
    spec = user_spec(returns="")
    first = await virtual.execute(spec, {"is_id": 1, "score": 2, "lang": "de"})
    again = await virtual.execute(spec, {"lang": "de", "score": 2.0, "is_id": 1})  # 2.0 is 2
    other = await virtual.execute(spec, {"is_id": 2})
    assert first.result == again.result == {"n": 1}
    assert again.cached and again.simulated and again.latency_s == 0
    assert other.result == {"n": 2} and not other.cached
    assert len(sim.requests) == 2
    assert virtual.stats.cache_hits == 1 and virtual.stats.simulated == 2
    assert "hits=1" in repr(virtual) and "simulator='double'" in repr(virtual)


async def test_concurrent_identical_calls_are_simulated_once() -> None:
    release = anyio.Event()

    class Slow(DoubleSimulator):
        async def complete_json(self, *args: Any, **kwargs: Any) -> Reply:
            await release.wait()
            return await super().complete_json(*args, **kwargs)

    sim = Slow()
    virtual = executor(sim)
    outcomes: list[Outcome] = []

    async def call() -> None:
        outcomes.append(await virtual.execute(user_spec(), {"is_id": 3}))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert len(sim.requests) == 1
    assert len({json.dumps(o.result, sort_keys=True) for o in outcomes}) == 1
    assert sum(o.cached for o in outcomes) == 4


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "missing required argument(s) ['is_id']"),
        ({"is_id": 1, "city": "x"}, "unknown argument(s) ['city']"),
        ({"is_id": "seven"}, "is_id: 'seven' is not of type 'integer'"),
        ({"is_id": 1, "lang": "fr"}, "lang: 'fr' is not one of ['en', 'de']"),
        ({"is_id": float("nan")}, "is_id:"),
    ],
)
async def test_invalid_arguments_fail_like_a_real_api_without_simulating(
    arguments: dict[str, Any], expected: str
) -> None:
    sim = DoubleSimulator()
    outcome = await executor(sim).execute(user_spec(), arguments)
    assert not outcome.ok and outcome.simulated
    assert outcome.reason == "invalid_arguments" and outcome.reason in REASONS
    assert expected in outcome.message and outcome.message.startswith("virtual API: ")
    assert sim.requests == []


async def test_a_call_that_makes_no_sense_gets_the_apis_error_and_keeps_it() -> None:
    sim = DoubleSimulator(lambda n, _: {"ok": False, "error": "User 404 does not exist"})
    virtual = executor(sim)
    outcome = await virtual.execute(user_spec(), {"is_id": 404})
    assert (outcome.ok, outcome.reason) == (False, "virtual_api_error")
    assert "User 404 does not exist" in outcome.message and outcome.simulated
    again = await virtual.execute(user_spec(), {"is_id": 404})
    assert again.cached and again.reason == "virtual_api_error" and len(sim.requests) == 1


async def test_the_reference_answerer_refuses_a_blank_required_string() -> None:
    spec = user_spec(
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
        returns="",
    )
    outcome = await executor(DoubleSimulator()).execute(spec, {"query": "  "})
    assert outcome.reason == "virtual_api_error" and "query: must not be empty" in outcome.message


async def test_unusable_replies_are_asked_again_saying_what_was_wrong() -> None:
    replies: list[Any] = [
        None,  # not JSON
        {
            "ok": True,
            "response": {"data": {"id": "seven"}, "tags": [], "items": [], "active": True},
        },
        {"ok": True, "response": {"data": {}, "tags": [], "items": [], "active": True}},
    ]
    sim = DoubleSimulator(lambda n, _: replies[n - 1])
    virtual = executor(sim)
    outcome = await virtual.execute(user_spec(), {"is_id": 1})
    assert outcome.ok and outcome.result["active"] is True
    assert len(sim.requests) == 3 and virtual.stats.bad_replies == 2
    second, third = (prompt_text(r) for r in sim.requests[1:])
    assert "not usable: the reply must be a JSON object, not NoneType" in second
    assert "does not fit the documented template: data.id: 'seven' is not of type" in third
    assert len({s for s in sim.seeds}) == 1  # the call's own seed, every attempt


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ({"response": 1}, "no boolean 'ok'"),
        ({"ok": True}, "must carry the API's 'response'"),
        ({"ok": False, "error": ""}, "must carry the API's 'error' message"),
        (
            {"ok": True, "response": {"tags": []}},
            "template: active: required key is missing; data: required key is missing; items:",
        ),
        ({"ok": True, "response": "x" * 70_000}, "over the 65536-byte cap"),
        ([1], "must be a JSON object, not list"),
    ],
)
async def test_replies_that_stay_unusable_end_in_virtual_bad_response(
    reply: Any, problem: str
) -> None:
    sim = DoubleSimulator(lambda n, _: reply)
    virtual = executor(sim, max_attempts=2)
    outcome = await virtual.execute(user_spec(), {"is_id": 1})
    assert (outcome.ok, outcome.reason, outcome.simulated) == (False, "virtual_bad_response", True)
    assert problem in outcome.message and "2 simulator replies were unusable" in outcome.message
    assert len(sim.requests) == 2
    # Kept, so a replay of the call reproduces the verdict without asking again.
    assert (await virtual.execute(user_spec(), {"is_id": 1})).cached
    assert len(sim.requests) == 2


class LlmDown(Exception):
    reason = "connection_error"


async def test_a_failing_simulator_fails_the_call_and_is_asked_again_next_time() -> None:
    sim = DoubleSimulator(
        lambda n, _: LlmDown("endpoint refused") if n == 1 else {"ok": True, "response": {"n": n}}
    )
    virtual = executor(sim)
    spec = user_spec(returns="")
    outcome = await virtual.execute(spec, {"is_id": 1})
    assert (outcome.ok, outcome.reason, outcome.simulated) == (False, "simulator_error", True)
    assert "LlmDown (connection_error): endpoint refused" in outcome.message
    assert "simulator double" in outcome.message
    retried = await virtual.execute(spec, {"is_id": 1})
    assert retried.ok and not retried.cached and retried.result == {"n": 2}


async def test_a_simulator_that_hangs_times_out() -> None:
    class Hangs(DoubleSimulator):
        async def complete_json(self, *args: Any, **kwargs: Any) -> Reply:
            await anyio.sleep_forever()
            raise AssertionError

    outcome = await executor(Hangs(), timeout_s=0.05).execute(user_spec(), {"is_id": 1})
    assert outcome.reason == "simulator_error" and "no reply within 0.05 s" in outcome.message


async def test_answers_persist_and_are_shared_with_another_process(tmp_path: Path) -> None:
    path = tmp_path / "virtual.db"
    spec = user_spec(returns="")
    child = f"""
import anyio, sys
sys.path.insert(0, {str(ROOT)!r})
from executors import VirtualCache, VirtualExecutor
from tests.executors.test_virtual import DoubleSimulator, user_spec
async def main():
    sim = DoubleSimulator(lambda n, _: {{"ok": True, "response": {{"from": "child"}}}})
    virtual = VirtualExecutor(sim, cache=VirtualCache({str(path)!r}))
    outcome = await virtual.execute(user_spec(returns=""), {{"is_id": 5}})
    print(outcome.result["from"], outcome.cached)
anyio.run(main)
"""
    with anyio.fail_after(120):
        done = await anyio.run_process([sys.executable, "-c", child], check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["child", "False"]
    sim = DoubleSimulator(lambda n, _: {"ok": True, "response": {"from": "parent"}})
    virtual = executor(sim, cache=VirtualCache(path))
    outcome = await virtual.execute(spec, {"is_id": 5})
    assert outcome.result == {"from": "child"} and outcome.cached and sim.requests == []
    await virtual.aclose()


def test_the_first_writer_wins_and_a_damaged_row_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "virtual.db"
    one, two = VirtualCache(path), VirtualCache(path)
    first = VirtualAnswer(True, {"a": 1}, simulator="s1")
    assert one.put_first("k", "api", first) == first
    assert two.put_first("k", "api", VirtualAnswer(True, {"a": 2})) == first
    assert two.get("k") == first and len(two) == 1
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("UPDATE answers SET answer = ? WHERE key = 'k'", (b"not json",))
    assert one.get("k") is None
    replacement = VirtualAnswer(False, None, "virtual_api_error", "m")
    assert one.put_first("k", "api", replacement) == replacement
    assert "entries=1" in repr(one)
    one.close()
    two.close()


def test_keys_normalize_arguments_and_follow_the_documentation() -> None:
    spec = user_spec()
    assert normalize_arguments({"a": [1.0, 2.5, {"b": 3.0}]}) == {"a": [1, 2.5, {"b": 3}]}
    assert virtual_key(spec, {"is_id": 1, "q": "x"}) == virtual_key(spec, {"q": "x", "is_id": 1.0})
    assert virtual_key(spec, {"is_id": 1}) != virtual_key(spec, {"is_id": 2})
    redocumented = user_spec(description="Another text, another API.")
    assert virtual_key(spec, {"is_id": 1}) != virtual_key(redocumented, {"is_id": 1})
    assert virtual_key(spec, {"is_id": {1, 2}}) is None


def test_templates_become_schemas_and_prose_documents_nothing() -> None:
    schema = response_schema(TEMPLATE)
    assert schema is not None
    validator = compile_schema(schema)
    good = {"data": {"id": 1, "email": None}, "tags": ["a"], "items": [], "active": False}
    assert not validator.errors(good)
    assert validator.errors({"data": {}, "tags": [1], "items": [], "active": True})
    assert validator.errors({"tags": []})  # the template's top-level keys are required
    prose = user_spec(returns="The user, with their email address.")
    assert response_template(prose) is None
    nested_text = user_spec(returns=json.dumps(json.dumps({"id": "int"})))
    assert response_template(nested_text) == {"id": "int"}
    deep: Any = "str"
    for _ in range(200):
        deep = {"k": deep}
    deep_schema = response_schema(deep)
    assert deep_schema is not None  # bounded: levels past the cap accept anything
    assert reply_problem({"ok": True, "response": None}) == ""


async def test_deep_templates_are_checked_to_a_depth_and_huge_ones_not_at_all() -> None:
    deep: Any = "int"
    for _ in range(200):
        deep = {"k": deep}
    response: Any = "anything below the cap"
    for _ in range(30):
        response = {"k": response}
    sim = DoubleSimulator(lambda n, _: {"ok": True, "response": response})
    outcome = await executor(sim).execute(user_spec(returns=json.dumps(deep)), {"is_id": 1})
    assert outcome.ok and outcome.result == response
    huge = {f"field_{i}": "int" for i in range(30_000)}  # past the schema compiler's bounds
    sim = DoubleSimulator(lambda n, _: {"ok": True, "response": {"whatever": 1}})
    outcome = await executor(sim).execute(user_spec(returns=json.dumps(huge)), {"is_id": 1})
    assert outcome.ok and outcome.result == {"whatever": 1}
    assert len(prompt_text(sim.requests[0])) < 10_000  # the template is cut in the prompt


def test_the_prompt_escapes_blocks_and_carries_examples() -> None:
    spec = user_spec(
        description="Ends the block </virtual_api> early?",
        examples=({"arguments": {"is_id": 1}, "response": {"data": {"id": 1}}},),
    )
    messages = virtual_messages(spec, {"q": "</virtual_call><virtual_api>"})
    user = messages[1]["content"]
    assert user.count("</virtual_api>") == 1 and user.count("<virtual_call>") == 1
    assert '"examples"' in user
    assert reference_reply(user) is not None
    assert reference_reply("no blocks here") is None
    with pytest.raises(ValueError, match="not JSON"):
        reference_reply("<virtual_api>{oops</virtual_api>")


async def test_metrics_count_hits_misses_requests_and_failures() -> None:
    registry = CollectorRegistry()
    replies: list[Any] = [None, {"ok": True, "response": {"data": {}, "tags": [], "items": [],
                                                         "active": True}}]  # fmt: skip
    sim = DoubleSimulator(lambda n, _: replies[min(n, 2) - 1])
    virtual = VirtualExecutor(sim, metrics=VirtualMetrics(registry))
    await virtual.execute(user_spec(), {"is_id": 1})
    await virtual.execute(user_spec(), {"is_id": 1})
    await virtual.execute(user_spec(), {"is_id": "x"})

    def value(name: str, **labels: str) -> float:  # summed over stages (none here)
        return sum(
            s.value
            for family in registry.collect()
            for s in family.samples
            if s.name == name and labels.items() <= s.labels.items()
        )

    assert value("apigen_virtual_api_calls_total", outcome="ok") == 2
    assert value("apigen_virtual_api_calls_total", outcome="invalid_arguments") == 1
    assert value("apigen_virtual_api_cache_requests_total", result="hit") == 1
    assert value("apigen_virtual_api_cache_requests_total", result="miss") == 1
    assert value("apigen_virtual_api_simulator_requests_total") == 2
    assert value("apigen_virtual_api_simulator_failures_total", cause="bad_reply") == 1
    assert value("apigen_virtual_api_simulator_duration_seconds_count") == 2
    assert virtual.stats.cost_usd == pytest.approx(0.002)
    assert virtual.stats.prompt_tokens == 20


async def test_the_fallback_executes_bound_specs_for_real_and_the_rest_virtually() -> None:
    bound = ApiSpec.create(
        name="add",
        description="Adds two numbers.",
        parameters={
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
        binding=PythonBinding(module="tests.executors.sample_functions", function="add"),
        source="python:test",
    )
    rest = user_spec(binding=RestBinding(base_url="https://api.example.com", method="GET",
                                         path="/u"))  # fmt: skip
    sim = DoubleSimulator()
    python = PythonExecutor(workers=1, allowed_modules={"tests.executors.sample_functions"})
    async with VirtualFallback(Dispatcher(python=python), executor(sim)) as fallback:
        real = await fallback.execute(bound, {"a": 2, "b": 3})
        unbound = await fallback.execute(user_spec(), {"is_id": 1})
        no_executor = await fallback.execute(rest, {"is_id": 2})
        assert "VirtualFallback" in repr(fallback)
    assert real.ok and real.result == 5 and not real.simulated
    assert unbound.ok and unbound.simulated
    assert no_executor.ok and no_executor.simulated  # no REST executor here: virtual
    assert len(sim.requests) == 2


async def test_toolbench_apis_answer_through_virtual_apis() -> None:
    """Every ToolBench API with a template, called with arguments its schema allows, is
    answered in its documented shape by the reference answerer, and cached after."""
    import random

    report = convert_toolbench_file(shared("toolbench/tools.jsonl"))
    specs = [s for s in report.specs if response_template(s) is not None]
    assert len(specs) > 1000
    rng = random.Random(7)
    sim = DoubleSimulator()
    virtual = executor(sim)
    outcomes = [await virtual.execute(s, sample_arguments(s.parameters, rng)) for s in specs]
    failed = [(s.id, o.reason, o.message) for s, o in zip(specs, outcomes, strict=True) if not o.ok]
    # Drawn arguments may break a pattern or a blank required string: a handful at most.
    assert len(failed) <= len(specs) // 50, failed[:5]
    assert all(o.simulated for o in outcomes)
    assert virtual.stats.simulated + virtual.stats.invalid_arguments == len(specs)
    assert virtual.stats.bad_replies == 0 and virtual.stats.simulator_errors == 0


def test_the_metrics_exposition_passes_promtool_lint() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    registry = CollectorRegistry()
    metrics = VirtualMetrics(registry)
    metrics.calls["virtual_bad_response"].inc()
    metrics.cache_miss.inc()
    metrics.simulator_requests.inc()
    metrics.simulator_error.inc()
    metrics.simulator_duration.observe(0.25)
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=generate_latest(registry).decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
