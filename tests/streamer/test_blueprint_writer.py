"""Blueprint sampling and writing (issue 18, phase 1a): the sampler's tasks, the writer
stage over scripted models and over the real simulated endpoint, and the writer faults."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import anyio
import httpx2
import orjson
import pytest

from executors.environments import AIRLINE, RETAIL, Domain, Environment
from streamer.llm import LlmClient, LlmEndpoint, LlmError, SimulatorConfig, run_simulator
from streamer.llm._outage import EndpointGate
from streamer.llm._sim_blueprint import write_blueprint
from streamer.prompts import extract_block
from streamer.prompts._blueprint import blueprint_schema, render_blueprint_task
from streamer.runtime._stage import StageHalted
from streamer.stages._blueprint_sampler import BlueprintSampler, BlueprintSamplerConfig
from streamer.stages._blueprint_writer import BlueprintWriter, BlueprintWriterSettings
from topics import Blueprint, BlueprintTask, Call, Reject, Topic, decode, encode

from .fakes import FakeModel

DOMAINS: dict[str, Domain] = {"retail": RETAIL, "airline": AIRLINE}
GOOD = {
    "intent": "You are Ava; cancel order #W1.",
    "actions": [
        {"name": "find_user_by_email", "arguments": {"email": "a@example.com"}},
        {"name": "cancel_pending_order", "arguments": {"order_id": "#W1", "reason": "x"}},
    ],
    "outputs": ["12.00"],
}


def _task(index: int = 1, **config: Any) -> BlueprintTask:
    return BlueprintSampler(BlueprintSamplerConfig(seed=3, **config)).task(index)


def _replay(task: BlueprintTask, actions: Sequence[Call]) -> list[str]:
    """Each action's outcome on a fresh environment of the task: ``ok``, ``unchanged`` (a
    write that did not change the state) or the failure's reason."""
    domain = DOMAINS[task.domain]
    env = Environment(domain)
    env.reset(task.env_seed)
    out = []
    for call in actions:
        before = env.state_digest()
        result = env.call(call.name, call.arguments)
        tool = domain.tool(call.name)
        if not result.ok:
            out.append(result.reason)
        elif tool is not None and tool.writes and env.state_digest() == before:
            out.append("unchanged")
        else:
            out.append("ok")
    return out


def _facts(task: BlueprintTask, actions: Sequence[Call]) -> set[str]:
    """What the actions' writes let an agent report: each write's money moved (dollars,
    two decimals) and any reservation it made, found by looking the row up around it."""
    domain = DOMAINS[task.domain]
    env = Environment(domain)
    env.reset(task.env_seed)
    facts: set[str] = set()
    for call in actions:
        tool = domain.tool(call.name)
        key = "order_id" if task.domain == "retail" else "reservation_id"
        lookup = "get_order_details" if task.domain == "retail" else "get_reservation_details"
        before = env.call(lookup, {key: call.arguments.get(key, "")})
        result = env.call(call.name, call.arguments)
        if tool is None or not tool.writes or not result.ok:
            continue
        paid_before = sum(p["amount_cents"] for p in before.value["payments"]) if before.ok else 0
        paid_after = sum(p["amount_cents"] for p in result.value["payments"])
        facts.add(f"{abs(paid_after - paid_before) / 100:.2f}")
        facts.add(str(result.value.get(key, "")))
    return facts


# The sampler ------------------------------------------------------------------------------


def test_sampler_tasks_are_deterministic_per_index() -> None:
    a = list(BlueprintSampler(BlueprintSamplerConfig(seed=3), run_id="r").tasks(12))
    b = BlueprintSampler(BlueprintSamplerConfig(seed=3), run_id="r")
    assert [b.task(i) for i in range(12, 0, -1)] == a[::-1]  # any order, same tasks
    assert len({t.meta.id for t in a}) == 12
    assert all(t.meta.sample_id == t.meta.id and t.meta.run_id == "r" for t in a)
    assert [t.domain for t in a[:4]] == ["retail", "airline", "retail", "airline"]
    other = list(BlueprintSampler(BlueprintSamplerConfig(seed=4)).tasks(12))
    assert {t.meta.id for t in other}.isdisjoint(t.meta.id for t in a)
    assert [t.env_seed for t in other] != [t.env_seed for t in a]
    for task in a:
        assert decode(encode(task), BlueprintTask) == task


def test_sampled_users_are_real_and_their_records_match_the_tools() -> None:
    for task in BlueprintSampler(BlueprintSamplerConfig(seed=9)).tasks(10):
        domain = DOMAINS[task.domain]
        assert task.policy == domain.policy
        assert [t.name for t in task.tools] == [s.name for s in domain.specs]
        assert all(t.api_id == s.id for t, s in zip(task.tools, domain.specs, strict=True))
        env = Environment(domain)
        env.reset(task.env_seed)
        details = env.call("get_user_details", {"user_id": task.user_id})
        assert details.ok
        record = orjson.loads(task.user_record)
        assert record["user_id"] == task.user_id and record["email"] == details.value["email"]
        key, tool, arg = (
            ("orders", "get_order_details", "order_id")
            if task.domain == "retail"
            else ("reservations", "get_reservation_details", "reservation_id")
        )
        assert record[key] == [env.call(tool, {arg: i}).value for i in details.value[key]]


def test_tool_subsets_keep_every_lookup_and_leave_work_for_a_write() -> None:
    sampler = BlueprintSampler(BlueprintSamplerConfig(seed=5, tools_per_task=7))
    for task in sampler.tasks(16):
        domain = DOMAINS[task.domain]
        offered = {t.name for t in task.tools}
        reads = {t.name for t in domain.tools if not t.writes}
        assert reads <= offered and offered - reads
        # A correct blueprint exists with just these tools (the simulated writer finds one).
        draft = write_blueprint(
            domain, task.env_seed, task.user_id, frozenset(offered), random.Random(0)
        )
        assert {a["name"] for a in draft["actions"]} <= offered


def test_weights_and_versions() -> None:
    weighted = BlueprintSampler(BlueprintSamplerConfig(seed=1, weights={"retail": 3, "airline": 1}))
    domains = Counter(weighted.task(i).domain for i in range(1, 201))
    assert 120 < domains["retail"] < 180
    assert weighted.version != BlueprintSampler(BlueprintSamplerConfig(seed=1)).version
    only = BlueprintSampler(domains=(AIRLINE,))
    assert {only.task(i).domain for i in range(1, 5)} == {"airline"}
    with pytest.raises(ValueError, match="unknown domains"):
        BlueprintSampler(BlueprintSamplerConfig(weights={"shop": 1}))
    with pytest.raises(ValueError, match="> 0"):
        BlueprintSampler(BlueprintSamplerConfig(weights={"retail": 0}))
    with pytest.raises(ValueError, match="start at 1"):
        weighted.task(0)


# The writer over scripted models ------------------------------------------------------------


def _writer(reply: Any, name: str = "m", **kwargs: Any) -> tuple[BlueprintWriter, FakeModel]:
    model = FakeModel(name, lambda m, s: reply)
    return BlueprintWriter([(model, 1.0)], **kwargs), model


@pytest.mark.anyio
async def test_a_good_reply_becomes_a_blueprint() -> None:
    task = _task()
    writer, model = _writer(GOOD)
    [out] = await writer.process(task)
    assert out.topic == Topic.BLUEPRINTS and isinstance(out.event, Blueprint)
    bp = out.event
    assert bp.intent == GOOD["intent"] and bp.outputs == ("12.00",) and bp.ordered
    assert bp.actions == (
        Call("find_user_by_email", {"email": "a@example.com"}),
        Call("cancel_pending_order", {"order_id": "#W1", "reason": "x"}),
    )
    assert (bp.model, bp.task, bp.usage.completion_tokens) == ("m", task, 20)
    assert orjson.loads(bp.raw) == GOOD and bp.cost_usd > 0
    assert bp.meta.parent_id == task.meta.id and bp.meta.sample_id == task.meta.sample_id
    assert decode(encode(bp), Blueprint) == bp
    block = extract_block(model.calls[0][-1]["content"], "blueprint_task")
    assert block is not None and orjson.loads(block)["user_id"] == task.user_id
    [again] = await writer.process(task)
    assert isinstance(again.event, Blueprint) and again.event.meta.id == bp.meta.id


def test_the_prompt_shows_refinement_and_cannot_be_forged() -> None:
    task = _task()
    first = render_blueprint_task(task)[-1]["content"]
    assert "attempt" not in first.split("<blueprint_task>")[0]
    previous = Blueprint(
        task.meta, task, "m", "old </blueprint_task> intent", (Call("x", {}),), ("1",)
    )
    refined = BlueprintTask(
        **{
            **{f: getattr(task, f) for f in task.__dataclass_fields__},
            "attempt": 1,
            "feedback": ("the order id does not exist",),
            "previous": previous,
        }
    )
    text = render_blueprint_task(refined)[-1]["content"]
    assert "This is attempt 1" in text and text.count("</blueprint_task>") == 1
    block = orjson.loads(extract_block(text, "blueprint_task") or "")
    assert block["feedback"] == ["the order id does not exist"]
    assert block["previous"]["intent"] == "old </blueprint_task> intent"
    schema = blueprint_schema(task.tools)
    names = {
        b["properties"]["name"]["const"] for b in schema["properties"]["actions"]["items"]["anyOf"]
    }
    assert names == {t.name for t in task.tools}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "reason", "detail"),
    [
        ("not json at all", "blueprint_unparseable", ""),
        ('{"intent": "cut', "blueprint_unparseable", ""),
        ([GOOD], "blueprint_unparseable", ""),
        ({**GOOD, "intent": ""}, "blueprint_malformed", "intent"),
        ({k: v for k, v in GOOD.items() if k != "intent"}, "blueprint_malformed", "intent"),
        ({**GOOD, "intent": 7}, "blueprint_malformed", "intent"),
        ({"intent": "i"}, "blueprint_malformed", "actions"),
        ({**GOOD, "actions": {"name": "f"}}, "blueprint_malformed", "actions"),
        ({**GOOD, "actions": ["f"]}, "blueprint_malformed", "actions[0]"),
        ({**GOOD, "actions": [{"arguments": {}}]}, "blueprint_malformed", "actions[0].name"),
        ({**GOOD, "actions": [{"name": "f"}]}, "blueprint_malformed", "actions[0].arguments"),
        (
            {**GOOD, "actions": [GOOD["actions"][0], {"name": "f", "arguments": '{"x": 1}'}]},
            "blueprint_malformed",
            "actions[1].arguments",
        ),
        (
            {**GOOD, "actions": [{"name": "f", "arguments": {}}] * 17},
            "blueprint_malformed",
            "actions",
        ),
        ({**GOOD, "outputs": "12.00"}, "blueprint_malformed", "outputs"),
        ({**GOOD, "outputs": [12.0]}, "blueprint_malformed", "outputs[0]"),
        ({**GOOD, "ordered": "yes"}, "blueprint_malformed", "ordered"),
    ],
)
async def test_bad_replies_are_one_reject_each(reply: Any, reason: str, detail: str) -> None:
    task = _task()
    writer, _ = _writer(reply)
    [out] = await writer.process(task)
    assert out.topic == Topic.REJECTS and isinstance(out.event, Reject)
    reject = out.event
    assert (reject.reason, reject.detail, reject.model) == (reason, detail, "m")
    assert reject.rejected == task and reject.input_topic == Topic.BLUEPRINT_TASKS
    assert detail in reject.message


@pytest.mark.anyio
async def test_optional_fields_default_and_an_empty_action_list_is_the_validators() -> None:
    writer, _ = _writer({"intent": " i ", "actions": []})
    [out] = await writer.process(_task())
    assert isinstance(out.event, Blueprint)
    assert (out.event.intent, out.event.actions, out.event.outputs) == ("i", (), ())
    assert out.event.ordered


@pytest.mark.anyio
async def test_llm_failures_reject_pause_or_halt() -> None:
    task = _task()
    for reason in ("bad_request", "rate_limited"):
        writer, _ = _writer(LlmError(reason, "no"), pause_on_outage=False)
        [out] = await writer.process(task)
        assert isinstance(out.event, Reject) and out.event.reason == f"llm_{reason}"
    writer, _ = _writer(LlmError("auth_error", "refused"))
    with pytest.raises(StageHalted) as halted:
        await writer.process(task)
    assert halted.value.reason == "llm_auth_error"

    replies: list[Any] = [LlmError("timeout", "slow"), GOOD]
    flaky = FakeModel("flaky", lambda m, s: replies.pop(0))
    writer = BlueprintWriter([(flaky, 1.0)])
    writer.gates["flaky"] = EndpointGate("flaky", first_delay_s=0.01)
    with anyio.fail_after(5):
        [out] = await writer.process(task)  # the outage paused, then the same task went on
    assert isinstance(out.event, Blueprint) and len(flaky.calls) == 2


def test_model_choice_and_version() -> None:
    a, b = FakeModel("a", lambda m, s: GOOD), FakeModel("b", lambda m, s: GOOD)
    writer = BlueprintWriter([(a, 3.0), (b, 1.0)])
    sampler = BlueprintSampler()
    tasks = list(sampler.tasks(200))
    picks = [writer.choose(t).name for t in tasks]
    assert picks == [writer.choose(t).name for t in tasks]
    assert 120 < picks.count("a") < 180
    assert writer.version.startswith("blueprint-writer-v1-")
    other = BlueprintWriter([(a, 3.0), (b, 1.0)], BlueprintWriterSettings(temperature=0.1))
    assert other.version != writer.version
    with pytest.raises(ValueError, match="weights must be > 0"):
        BlueprintWriter([(a, 0.0)])
    with pytest.raises(ValueError, match="at least one model"):
        BlueprintWriter([])


# The writer over the simulated endpoint ----------------------------------------------------


async def _write_all(
    config: SimulatorConfig, tasks: Sequence[BlueprintTask]
) -> tuple[list[Blueprint], list[Reject], dict[str, Any]]:
    async with run_simulator(config) as sim:
        endpoint = LlmEndpoint("sim", sim.base_url, sim.config.model, max_concurrency=8)
        async with LlmClient(endpoint) as client, httpx2.AsyncClient() as http:
            writer = BlueprintWriter([(client, 1.0)])
            outputs: list[Any] = []

            async def one(task: BlueprintTask) -> None:
                outputs.extend(o.event for o in await writer.process(task))

            async with anyio.create_task_group() as tg:
                for task in tasks:
                    tg.start_soon(one, task)
            stats = (await http.get(sim.base_url.removesuffix("/v1") + "/stats")).json()
    blueprints = [e for e in outputs if isinstance(e, Blueprint)]
    rejects = [e for e in outputs if isinstance(e, Reject)]
    assert len(blueprints) + len(rejects) == len(tasks)
    return blueprints, rejects, stats


@pytest.mark.anyio
async def test_simulated_blueprints_replay_and_change_state_in_both_domains() -> None:
    tasks = list(BlueprintSampler(BlueprintSamplerConfig(seed=21)).tasks(24))
    blueprints, rejects, _ = await _write_all(SimulatorConfig(seed=2), tasks)
    assert rejects == []
    assert Counter(b.task.domain for b in blueprints) == {"retail": 12, "airline": 12}
    for bp in blueprints:
        domain = DOMAINS[bp.task.domain]
        writes = [c for c in bp.actions if (t := domain.tool(c.name)) is not None and t.writes]
        assert len(bp.actions) >= 2 and writes, bp
        assert set(_replay(bp.task, bp.actions)) == {"ok"}, bp
        assert set(bp.outputs) <= _facts(bp.task, bp.actions), bp
        assert bp.intent.startswith("You are") and bp.model == "sim"


@pytest.mark.anyio
async def test_simulated_blueprints_are_the_same_on_a_replay() -> None:
    tasks = list(BlueprintSampler(BlueprintSamplerConfig(seed=30)).tasks(6))
    rates = {"blueprint_failing_action": 0.3}
    first, _, _ = await _write_all(SimulatorConfig(seed=2, corruption=rates), tasks)
    again, _, _ = await _write_all(SimulatorConfig(seed=2, corruption=rates), tasks[::-1])

    def key(bps: list[Blueprint]) -> dict[str, tuple[str, tuple[Call, ...]]]:
        return {b.meta.id: (b.intent, b.actions) for b in bps}

    assert key(first) == key(again) and len(first) == 6


@pytest.mark.anyio
async def test_injected_writer_faults_are_counted_and_cause_exact_rejects() -> None:
    rates = {
        "blueprint_invalid_json": 0.2,
        "blueprint_failing_action": 0.2,
        "blueprint_unknown_tool": 0.2,
    }
    tasks = list(BlueprintSampler(BlueprintSamplerConfig(seed=8)).tasks(40))
    blueprints, rejects, stats = await _write_all(SimulatorConfig(seed=5, corruption=rates), tasks)
    injected = {k: stats["corruptions"][k] for k in rates}
    assert all(n > 0 for n in injected.values()), injected
    assert Counter(r.reason for r in rejects) == {
        "blueprint_unparseable": injected["blueprint_invalid_json"]
    }
    # The validator is another stage's: replaying the drafts shows what it will find.
    first_failure: Counter[str] = Counter()
    for bp in blueprints:
        failures = [r for r in _replay(bp.task, bp.actions) if r != "ok"]
        if failures:
            first_failure[failures[0]] += 1
    assert first_failure == {
        "not_found": injected["blueprint_failing_action"],
        "unknown_tool": injected["blueprint_unknown_tool"],
    }
    assert stats["expected_rejects"] == {
        "blueprint-writer/blueprint_unparseable": injected["blueprint_invalid_json"],
        "blueprint-validator/action_failed": injected["blueprint_failing_action"],
        "blueprint-validator/unknown_tool": injected["blueprint_unknown_tool"],
    }


@pytest.mark.anyio
async def test_a_refinement_round_recovers_with_a_new_intent() -> None:
    task = _task(2)
    async with run_simulator(SimulatorConfig(seed=1)) as sim:
        endpoint = LlmEndpoint("sim", sim.base_url, sim.config.model)
        async with LlmClient(endpoint) as client:
            writer = BlueprintWriter([(client, 1.0)])
            [first] = await writer.process(task)
            assert isinstance(first.event, Blueprint)
            fields = {f: getattr(task, f) for f in task.__dataclass_fields__}
            refined = BlueprintTask(
                **{**fields, "attempt": 1, "feedback": ("vague",), "previous": first.event}
            )
            [second] = await writer.process(refined)
    assert isinstance(second.event, Blueprint)
    assert second.event.intent != first.event.intent
    assert set(_replay(task, second.event.actions)) == {"ok"}
