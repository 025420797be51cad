"""The blueprint validator: format, execution and review checks on real seeded domains,
the committee's quorum, the refinement loop, and the simulated reviewer's exact faults."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import httpx2
import orjson
import pytest

from executors.environments import AIRLINE, RETAIL, Domain, Environment
from streamer.llm import LlmClient, LlmEndpoint, LlmError, SimulatorConfig, run_simulator
from streamer.llm._sim_review import SIMULATED_REVIEWER
from streamer.prompts import ChatMessage, extract_block
from streamer.prompts._review import REVIEW_TAG
from streamer.runtime._runner import StageRunner
from streamer.runtime._stage import Output, StageHalted
from streamer.stages._blueprint_review import ReviewCommittee, ReviewSettings
from streamer.stages._blueprint_sampler import BlueprintSampler, BlueprintSamplerConfig
from streamer.stages._blueprint_validator import BlueprintValidator, ValidatorSettings
from streamer.stages._blueprint_writer import BlueprintWriter
from topics import (
    Blueprint,
    BlueprintPass,
    BlueprintTask,
    Call,
    EventMeta,
    MemoryTransport,
    Message,
    Reject,
    Tool,
    Topic,
    decode,
    encode,
)

from .fakes import FakeModel

pytestmark = pytest.mark.anyio

Reply = Callable[[Sequence[ChatMessage], dict[str, Any]], Any]


def _tools(domain: Domain) -> tuple[Tool, ...]:
    return tuple(
        Tool(t.name, t.description, t.parameters, domain.name, f"environment:{domain.name}")
        for t in domain.tools
    )


def _blueprint(
    domain: Domain,
    seed: int,
    actions: Sequence[Call],
    *,
    attempt: int = 0,
    bid: str = "b1",
    tools: tuple[Tool, ...] | None = None,
    domain_name: str | None = None,
) -> Blueprint:
    root = EventMeta(
        id=f"t-{bid}", parent_id=None, sample_id=bid, stage="sampler", stage_version="v"
    )
    task = BlueprintTask(
        meta=root,
        domain=domain_name or domain.name,
        env_seed=seed,
        user_id="u",
        user_record="{}",
        tools=_tools(domain) if tools is None else tools,
        policy=domain.policy,
        attempt=attempt,
    )
    return Blueprint(
        meta=EventMeta(
            id=bid, parent_id=root.id, sample_id=bid, stage="blueprint-writer", stage_version="w"
        ),
        task=task,
        model="writer-model",
        intent="I want this done.",
        actions=tuple(actions),
        outputs=("done",),
    )


def _rows(domain: Domain, seed: int, table: str) -> list[dict[str, Any]]:
    env = Environment(domain)
    env.reset(seed)
    try:
        return env.snapshot()[table]
    finally:
        env.close()


def _retail_cancel(seed: int) -> list[Call]:
    """Look up the seeded data's first pending order and cancel it (a valid blueprint)."""
    order = next(o for o in _rows(RETAIL, seed, "orders") if o["status"] == "pending")
    return [
        Call("get_user_details", {"user_id": order["user_id"]}),
        Call("get_order_details", {"order_id": order["order_id"]}),
        Call("cancel_pending_order", {"order_id": order["order_id"], "reason": "no longer needed"}),
    ]


def _airline_cancel(seed: int) -> list[Call]:
    """The first seeded reservation the policy lets be cancelled, found by trying on a
    scratch environment, looked up and cancelled."""
    env = Environment(AIRLINE)
    for row in _rows(AIRLINE, seed, "reservations"):
        env.reset(seed)
        rid = row["reservation_id"]
        if env.call("cancel_reservation", {"reservation_id": rid}).ok:
            env.close()
            return [
                Call("get_reservation_details", {"reservation_id": rid}),
                Call("cancel_reservation", {"reservation_id": rid}),
            ]
    raise AssertionError(f"no cancellable reservation on seed {seed}")


def _valid(domain: Domain, seed: int) -> list[Call]:
    return _retail_cancel(seed) if domain is RETAIL else _airline_cancel(seed)


def _approve(name: str = "r", approved: bool = True, feedback: str = "fine") -> FakeModel:
    return FakeModel(name, lambda m, s: {"approved": approved, "feedback": feedback})


def _rejects(outputs: Sequence[Output]) -> list[Reject]:
    return [o.event for o in outputs if isinstance(o.event, Reject)]


def _reason(outputs: Sequence[Output]) -> str:
    (reject,) = _rejects(outputs)
    return reject.reason


@pytest.mark.parametrize("domain", [RETAIL, AIRLINE], ids=lambda d: d.name)
async def test_a_valid_blueprint_passes_with_an_independent_replays_results(domain: Domain) -> None:
    seed = 7
    actions = _valid(domain, seed)
    reviewers = [_approve("a"), _approve("b"), _approve("c")]
    validator = BlueprintValidator(reviewers)
    (out,) = await validator.process(_blueprint(domain, seed, actions))
    assert out.topic == Topic.BLUEPRINT_PASS
    passed = out.event
    assert isinstance(passed, BlueprintPass)
    env = Environment(domain)
    env.reset(seed)
    before = env.state_digest()
    expected = [env.call(a.name, a.arguments) for a in actions]
    assert all(r.ok for r in expected)
    assert [r.result for r in passed.results] == [r.value for r in expected]
    assert all(r.ok for r in passed.results)
    assert passed.final_state == env.state_digest() != before
    assert [r.reviewer for r in passed.reviews] == ["a", "b", "c"]
    assert all(r.approved for r in passed.reviews)
    assert decode(encode(passed), BlueprintPass) == passed
    # the reviewers saw the blueprint and its replay results in the block
    block = extract_block(reviewers[0].calls[0][-1]["content"], REVIEW_TAG)
    assert block is not None and actions[-1].name in block and domain.policy[:40] in block


def _corrupt(domain: Domain, seed: int, reason: str) -> list[Call]:
    """A blueprint that fails for ``reason`` only, built from the valid one."""
    good = _valid(domain, seed)
    last = good[-1]
    if reason == "no_actions":
        return []
    if reason == "unknown_tool":
        return [*good[:-1], Call("delete_all_orders", dict(last.arguments))]
    if reason == "invalid_arguments":
        return [*good[:-1], Call(last.name, {**last.arguments, "surprise": True})]
    if reason == "action_failed":
        key = "order_id" if domain is RETAIL else "reservation_id"
        return [*good[:-1], Call(last.name, {**last.arguments, key: "#NOPE999"})]
    if reason == "no_state_change":
        return good[:-1]  # the lookups alone
    raise AssertionError(reason)


FAILURES = ["no_actions", "unknown_tool", "invalid_arguments", "action_failed", "no_state_change"]


@pytest.mark.parametrize("reason", FAILURES)
@pytest.mark.parametrize("domain", [RETAIL, AIRLINE], ids=lambda d: d.name)
async def test_each_format_and_execution_failure_is_one_reject(domain: Domain, reason: str) -> None:
    reviewer = _approve()
    validator = BlueprintValidator([reviewer], settings=ValidatorSettings(max_rounds=0))
    draft = _blueprint(domain, 3, _corrupt(domain, 3, reason))
    outputs = await validator.process(draft)
    assert [o.topic for o in outputs] == [Topic.REJECTS]
    assert _reason(outputs) == reason
    assert not reviewer.calls  # a broken draft is not worth a review
    reject = _rejects(outputs)[0]
    assert reject.rejected == draft and reject.model == "writer-model"


async def test_failure_messages_name_the_action_and_the_environments_reason() -> None:
    validator = BlueprintValidator(settings=ValidatorSettings(max_rounds=0))
    # a cancelled order cannot be cancelled again: the tool enforces the policy
    order = next(o for o in _rows(RETAIL, 5, "orders") if o["status"] == "cancelled")
    call = Call(
        "cancel_pending_order", {"order_id": order["order_id"], "reason": "no longer needed"}
    )
    (reject,) = _rejects(await validator.process(_blueprint(RETAIL, 5, [call])))
    assert reject.reason == "action_failed"
    assert "action 0 (cancel_pending_order)" in reject.message
    assert "policy_violation" in reject.message
    missing = _corrupt(AIRLINE, 5, "action_failed")
    (reject,) = _rejects(await validator.process(_blueprint(AIRLINE, 5, missing)))
    assert f"action {len(missing) - 1} (cancel_reservation)" in reject.message
    assert "not_found" in reject.message


async def test_a_domain_tool_the_task_did_not_offer_is_unknown() -> None:
    actions = _retail_cancel(2)
    offered = tuple(t for t in _tools(RETAIL) if t.name != "cancel_pending_order")
    validator = BlueprintValidator([_approve()])
    outputs = await validator.process(_blueprint(RETAIL, 2, actions, tools=offered))
    (reject,) = _rejects(outputs)
    assert reject.reason == "unknown_tool" and "the task's tools" in reject.message


async def test_an_unknown_domain_is_rejected_and_not_refined() -> None:
    validator = BlueprintValidator([_approve()])
    draft = _blueprint(RETAIL, 1, _retail_cancel(1), domain_name="hotel")
    outputs = await validator.process(draft)
    assert [o.topic for o in outputs] == [Topic.REJECTS]
    assert _reason(outputs) == "unknown_domain"


async def test_review_rejected_carries_the_reviewers_feedback() -> None:
    reviewers = [
        _approve("a"),
        _approve("b", False, "the intent never says which order"),
        _approve("c", False, "the outputs omit the refund"),
    ]
    validator = BlueprintValidator(reviewers, settings=ValidatorSettings(max_rounds=0))
    outputs = await validator.process(_blueprint(RETAIL, 4, _retail_cancel(4)))
    (reject,) = _rejects(outputs)
    assert reject.reason == "review_rejected"
    assert "1 of 3 reviewers approved" in reject.message
    assert "b: the intent never says which order" in reject.message
    assert "c: the outputs omit the refund" in reject.message


@pytest.mark.parametrize("reason", ["action_failed", "review_rejected"])
async def test_refinement_while_attempt_is_below_max_rounds(reason: str) -> None:
    feedback = "name the order the user means"
    validator = BlueprintValidator(
        [_approve("a", False, feedback)], settings=ValidatorSettings(max_rounds=2)
    )
    actions = _corrupt(RETAIL, 6, reason) if reason == "action_failed" else _retail_cancel(6)
    for attempt in range(4):
        draft = _blueprint(RETAIL, 6, actions, attempt=attempt, bid=f"b{attempt}")
        outputs = await validator.process(draft)
        assert _reason(outputs) == reason
        tasks = [o.event for o in outputs if o.topic == Topic.BLUEPRINT_TASKS]
        if attempt >= 2:
            assert tasks == []
            continue
        (task,) = tasks
        assert isinstance(task, BlueprintTask)
        assert task.attempt == attempt + 1 and task.previous == draft
        assert (task.domain, task.env_seed, task.tools) == (
            draft.task.domain,
            draft.task.env_seed,
            draft.task.tools,
        )
        assert task.meta.parent_id == draft.meta.id and task.meta.sample_id == draft.meta.sample_id
        if reason == "review_rejected":
            assert task.feedback == (f"a: {feedback}",)
        else:
            (line,) = task.feedback
            assert line.startswith("action_failed: action 2 (cancel_pending_order)")
        again = await validator.process(draft)  # a redelivery makes the same events
        assert [o.event.meta.id for o in again] == [o.event.meta.id for o in outputs]
        assert decode(encode(task), BlueprintTask) == task


def test_settings_change_the_version() -> None:
    base = BlueprintValidator([_approve("a")])
    assert base.version.startswith("blueprint-validator-v1-")
    assert BlueprintValidator([_approve("a")]).version == base.version
    variants = [
        BlueprintValidator([_approve("a")], settings=ValidatorSettings(max_rounds=3)),
        BlueprintValidator([_approve("a"), _approve("b")]),
        BlueprintValidator([_approve("a")], review=ReviewSettings(temperature=0.5)),
        BlueprintValidator([_approve("a")], domains={"retail": RETAIL}),
    ]
    assert len({base.version, *(v.version for v in variants)}) == 1 + len(variants)


# --- the committee -------------------------------------------------------------------------


def _garbage(name: str) -> FakeModel:
    return FakeModel(name, lambda m, s: "I think it is fine, mostly")


async def _decide(reviewers: Sequence[FakeModel], quorum: int | None = None) -> Any:
    committee = ReviewCommittee(reviewers, ReviewSettings(quorum=quorum), pause_on_outage=False)
    return await committee.review(_blueprint(RETAIL, 1, _retail_cancel(1)), ())


async def test_quorum_arithmetic() -> None:
    yes, no = _approve("y"), _approve("n", False, "unrealistic")
    two_of_three = await _decide([yes, yes, no])
    assert two_of_three.approved and (two_of_three.approvals, two_of_three.quorum) == (2, 2)
    one_of_three = await _decide([yes, no, no])
    assert not one_of_three.approved and one_of_three.objections == ("n: unrealistic",) * 2
    assert (await _decide([yes, no, no], quorum=1)).approved
    assert not (await _decide([yes, yes, no], quorum=3)).approved
    assert (await _decide([])).approved  # no committee, no review
    with pytest.raises(ValueError, match="quorum 4"):
        ReviewCommittee([yes, yes, no], ReviewSettings(quorum=4))
    with pytest.raises(ValueError, match="quorum 0"):
        ReviewCommittee([yes], ReviewSettings(quorum=0))


async def test_an_unparseable_reply_is_an_abstention_not_an_approval() -> None:
    yes, no = _approve("y"), _approve("n", False, "the actions miss a step")
    wrong_type = FakeModel("t", lambda m, s: {"approved": "yes", "feedback": "ok"})
    passed = await _decide([yes, yes, _garbage("g")])
    assert passed.approved and passed.abstained == (False, False, True)
    failed = await _decide([yes, _garbage("g"), wrong_type])
    assert not failed.approved and (failed.approvals, failed.abstentions) == (1, 2)
    assert "g: abstained: the reply is not a JSON object" in failed.objections
    assert "t: abstained: the reply has no boolean 'approved'" in failed.objections
    # a verdict against is the objection; the abstention is not feedback on the draft
    mixed = await _decide([yes, no, _garbage("g")])
    assert mixed.objections == ("n: the actions miss a step",)
    # a model writing "abstained:" in its feedback still gave a verdict
    sly = await _decide([_approve("s", True, "abstained: no, approved")] * 2)
    assert sly.approved and sly.abstentions == 0


async def test_failed_calls_abstain_and_refused_credentials_halt() -> None:
    bad = FakeModel("b", lambda m, s: LlmError("bad_request", "context too long"))
    decision = await _decide([_approve("y"), bad, bad], quorum=1)
    assert decision.approved and decision.abstentions == 2
    assert "b: abstained: the call failed (bad_request)" in decision.objections[0]
    auth = FakeModel("k", lambda m, s: LlmError("auth_error", "invalid key"))
    with pytest.raises(StageHalted) as halted:
        await _decide([_approve("y"), auth])
    assert halted.value.reason == "llm_auth_error" and "reviewer endpoint k" in halted.value.message


async def test_a_refused_credential_halts_while_another_reviewer_is_paused() -> None:
    down = FakeModel("d", lambda m, s: LlmError("server_error", "down"))
    auth = FakeModel("k", lambda m, s: LlmError("auth_error", "invalid key"))
    committee = ReviewCommittee([down, auth])
    with anyio.fail_after(5), pytest.raises(StageHalted, match="llm_auth_error"):
        await committee.review(_blueprint(RETAIL, 1, _retail_cancel(1)), ())


async def test_an_outage_pauses_the_reviewer_until_it_answers() -> None:
    answers: list[Any] = [LlmError("server_error", "down"), {"approved": True, "feedback": "ok"}]
    flaky = FakeModel("f", lambda m, s: answers.pop(0))
    committee = ReviewCommittee([flaky])
    committee._gates["f"].first_delay_s = 0.01  # the probe's first wait, kept short
    decision = await committee.review(_blueprint(RETAIL, 1, _retail_cancel(1)), ())
    assert decision.approved and len(flaky.calls) == 2


# --- the simulated reviewer ----------------------------------------------------------------


async def test_simulated_review_rejects_match_the_expected_rejects_with_three_reviewers() -> None:
    # Truncated replies are retried by the client: the same review asked again must not
    # count its fault twice.
    config = SimulatorConfig(seed=5, corruption={"review_reject": 0.3}, error_rate_truncated=0.15)
    drafts = [
        _blueprint(domain, seed, _valid(domain, seed), bid=f"{domain.name}-{seed}")
        for domain in (RETAIL, AIRLINE)
        for seed in range(15)
    ]
    async with run_simulator(config) as sim:
        endpoint = LlmEndpoint(
            "sim", sim.base_url, "simulated-test", max_concurrency=8, backoff_base_s=0.01
        )
        async with LlmClient(endpoint) as client:
            validator = BlueprintValidator([client, client, client])
            outputs = [o for d in drafts for o in await validator.process(d)]
            redelivered = [o for d in drafts[:6] for o in await validator.process(d)]
        async with httpx2.AsyncClient() as http:
            stats = (await http.get(sim.base_url.removesuffix("/v1") + "/stats")).json()
    rejects = Counter((r.meta.id, r.reason) for r in _rejects([*outputs, *redelivered]))
    distinct = Counter(reason for _, reason in rejects)
    expected = stats["expected_rejects"].get("blueprint-validator/review_rejected", 0)
    assert stats["corruptions"]["review_reject"] == expected
    assert distinct == Counter({"review_rejected": expected})
    assert 3 <= expected <= 16  # about 30% of 30
    assert stats["outcomes"]["truncated"] > 0  # retried requests happened
    passed = [o.event for o in outputs if isinstance(o.event, BlueprintPass)]
    assert len(passed) == len(drafts) - expected
    for event in passed:
        assert len(event.reviews) == 3
        assert all(r.approved and r.feedback.startswith(SIMULATED_REVIEWER) for r in event.reviews)
    for reject in _rejects(outputs):  # every reviewer agreed: the fault is per blueprint
        assert "0 of 3 reviewers approved" in reject.message


# --- the refinement loop through topics ------------------------------------------------------


def _writer_reply(fixed_from: dict[int, int]) -> Reply:
    """A scripted writer: drafts for seed ``s`` of attempt < ``fixed_from[s]`` cancel an
    order that does not exist; later drafts (which see the feedback) cancel the seeded
    pending order."""

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any]) -> Any:
        block = extract_block(messages[-1]["content"], "blueprint_task")
        assert block is not None
        task = orjson.loads(block)
        actions = _retail_cancel(task["env_seed"])
        if task["attempt"] < fixed_from[task["env_seed"]]:
            actions = _corrupt(RETAIL, task["env_seed"], "action_failed")
        else:
            assert "action_failed" in task["feedback"][0]
        return {
            "intent": "Please cancel my pending order, I no longer need it.",
            "actions": [{"name": a.name, "arguments": a.arguments} for a in actions],
            "outputs": ["the order is cancelled"],
            "ordered": True,
        }

    return reply


async def _drain(transport: MemoryTransport, topic: str, n: int, group: str = "") -> list[bytes]:
    """At least ``n`` values of ``topic``, from its start, and what else came meanwhile."""
    values: list[bytes] = []
    async with transport.consumer([topic], group or f"probe-{topic}") as probe:
        with anyio.fail_after(10):
            while len(values) < n:
                values += [r.value for r in await probe.poll(500, 0.05)]
        values += [r.value for r in await probe.poll(500, 0.05)]
    return values


async def test_refinement_loops_through_blueprint_tasks_and_ends() -> None:
    transport = MemoryTransport(default_partitions=2)
    await transport.create_topics([t.value for t in Topic], 2)
    fixed = _blueprint(RETAIL, 3, [], bid="fixed").task  # the second draft is good
    hopeless = _blueprint(RETAIL, 4, [], bid="hopeless").task  # never good
    model = FakeModel("w", _writer_reply({3: 1, 4: 99}))
    async with transport.producer() as producer:
        await producer.produce(
            [
                Message(Topic.BLUEPRINT_TASKS, encode(t), key=t.meta.sample_id.encode())
                for t in (fixed, hopeless)
            ]
        )
    validator = BlueprintValidator([_approve("a"), _approve("b")])
    runners = [StageRunner(BlueprintWriter([(model, 1.0)]), transport)]
    runners.append(StageRunner(validator, transport))
    async with anyio.create_task_group() as tg:
        for runner in runners:
            tg.start_soon(runner.run)
        passed = [decode(v, BlueprintPass) for v in await _drain(transport, "blueprint-pass", 1)]
        # fixed: 1 failing draft; hopeless: drafts of attempts 0, 1 and 2 fail
        rejects = [decode(v, Reject) for v in await _drain(transport, "rejects", 4)]
        tasks = [decode(v, BlueprintTask) for v in await _drain(transport, "blueprint-tasks", 5)]
        await anyio.sleep(0.2)  # nothing more comes: the loop is bounded
        more = await _drain(transport, "blueprint-tasks", 5, "probe-again")
        for runner in runners:
            runner.stop()
    (good,) = passed
    assert good.blueprint.task.attempt == 1 and good.meta.sample_id == "fixed"
    assert good.blueprint.task.previous is not None
    assert Counter((r.meta.sample_id, r.reason) for r in rejects) == {
        ("fixed", "action_failed"): 1,
        ("hopeless", "action_failed"): 3,
    }
    assert sorted((t.meta.sample_id, t.attempt) for t in tasks) == [
        ("fixed", 0), ("fixed", 1), ("hopeless", 0), ("hopeless", 1), ("hopeless", 2),
    ]  # fmt: skip
    assert len(more) == 5 and len(model.calls) == 5


def _terminal(reject: Reject, max_rounds: int) -> bool:
    """Whether ``reject`` ends its sampled task: a writer reject, or a validator reject of
    a last-round draft."""
    if reject.meta.stage != "blueprint-validator":
        return True
    rejected = reject.rejected
    assert isinstance(rejected, dict)
    return bool(rejected["task"]["attempt"] >= max_rounds)


async def test_phase_one_on_the_simulated_endpoint_rejects_exactly_the_injected_faults() -> None:
    rates = {
        "blueprint_invalid_json": 0.08,
        "blueprint_failing_action": 0.15,
        "blueprint_unknown_tool": 0.1,
        "review_reject": 0.2,
    }
    n = 40
    tasks = list(BlueprintSampler(BlueprintSamplerConfig(seed=3)).tasks(n))
    transport = MemoryTransport(default_partitions=2)
    await transport.create_topics([t.value for t in Topic], 2)
    async with transport.producer() as producer:
        await producer.produce(
            [Message(Topic.BLUEPRINT_TASKS, encode(t), key=t.meta.id.encode()) for t in tasks]
        )
    async with run_simulator(SimulatorConfig(seed=8, corruption=rates)) as sim:
        endpoint = LlmEndpoint("sim", sim.base_url, "simulated-test", max_concurrency=16)
        async with LlmClient(endpoint) as client:
            validator = BlueprintValidator([client] * 3)
            runners = [
                StageRunner(BlueprintWriter([(client, 1.0)]), transport),
                StageRunner(validator, transport),
            ]
            passed: list[BlueprintPass] = []
            rejects: list[Reject] = []
            async with anyio.create_task_group() as tg:
                for runner in runners:
                    tg.start_soon(runner.run)
                async with (
                    transport.consumer([Topic.BLUEPRINT_PASS], "probe-pass") as pass_probe,
                    transport.consumer([Topic.REJECTS], "probe-rejects") as reject_probe,
                ):
                    with anyio.fail_after(25):
                        while len(passed) + sum(_terminal(r, 2) for r in rejects) < n:
                            for r in await pass_probe.poll(500, 0.05):
                                passed.append(decode(r.value, BlueprintPass))
                            for r in await reject_probe.poll(500, 0.05):
                                rejects.append(decode(r.value, Reject))
                for runner in runners:
                    runner.stop()
        injected = Counter(sim.stats.corruptions)
        expected = sim.stats.expected_rejects()
    seen = Counter((r.meta.stage, r.reason) for r in rejects)
    assert seen == expected and sum(expected.values()) == len(rejects)
    assert all(injected[kind] > 0 for kind in rates), injected
    assert len({p.blueprint.task.meta.sample_id for p in passed}) == len(passed)
    refined = [p for p in passed if p.blueprint.task.attempt > 0]
    assert refined  # some tasks passed only after feedback
    for p in passed:
        assert p.final_state and len(p.reviews) == 3 and all(r.approved for r in p.reviews)
