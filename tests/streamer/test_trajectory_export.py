"""The trajectory store, sink and exports (issue 18): exactly-once storage, export shapes,
round trips of the actions, and hostile text.

Trajectories are built by hand against the event types, with real tool results: every
call of a scripted conversation runs on a seeded environment (retail or airline)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from executors.environments import AIRLINE, RETAIL, Domain, Environment
from streamer.dataset._trajectory_export import (
    TRAJECTORY_FILES,
    export_apigen_mt,
    export_trajectories,
    jsonl_line,
    trajectory_summary,
)
from streamer.dataset._trajectory_store import (
    MALFORMED,
    TRAJECTORY_DB,
    UNENCODABLE,
    TrajectoryStore,
    trajectory_row,
)
from streamer.runtime._runner import StageRunner
from streamer.stages._trajectory_sink import TrajectorySink
from topics import (
    Blueprint,
    BlueprintPass,
    BlueprintTask,
    Call,
    CallResult,
    EventMeta,
    MalformedEvent,
    MemoryTransport,
    Message,
    Reject,
    Role,
    Tool,
    Topic,
    TopicPartition,
    Trajectory,
    TrajectoryPass,
    Turn,
    decode,
    encode,
)

pytestmark = pytest.mark.anyio

Step = tuple[str, str] | tuple[str, str, Sequence[tuple[str, dict[str, Any]]]]
"""``("user", text)`` or ``("assistant", text, [(tool, arguments), ...])``."""

RETAIL_SCRIPT: list[Step] = [
    ("user", "Hi, I want to cancel an order I placed by mistake."),
    ("assistant", "Sure. What is your email address?", []),
    ("user", "It is ava.novak1@example.com"),
    ("assistant", "", [("find_user_by_email", {"email": "ava.novak1@example.com"})]),
    ("assistant", "Thanks Ava. Which order?", []),
    ("user", "Order #W1026838."),
    ("user", "Sorry, I mean: the pending one."),
    (
        "assistant",
        "Let me look at both.",  # text beside calls: kept by OpenAI, not by ShareGPT
        [
            ("get_order_details", {"order_id": "#W1026838"}),
            ("get_user_details", {"user_id": "ava_novak_1151"}),
        ],
    ),
    ("assistant", "Order #W1026838 is pending. Cancel it? (yes/no)", []),
    ("user", "Yes."),
    (
        "assistant",
        "",
        [("cancel_pending_order", {"order_id": "#W1026838", "reason": "ordered by mistake"})],
    ),
    ("assistant", "Done: the order is cancelled and refunded.", []),
    ("user", "Thanks, bye. ###STOP###"),
]

AIRLINE_SCRIPT: list[Step] = [
    ("user", "Hello, I'd like to know about my reservation R100001."),
    ("assistant", "", [("get_reservation_details", {"reservation_id": "R100001"})]),
    ("assistant", "It is a one-way economy flight from SFO to BOS. Anything else?", []),
    ("user", "Can I check a flight that does not exist?"),
    ("assistant", "", [("get_reservation_details", {"reservation_id": "NOPE00"})]),
    ("assistant", "I could not find that reservation.", []),
    ("user", "OK, and my profile? I am ana_kim_100."),
    ("assistant", "", [("get_user_details", {"user_id": "ana_kim_100"})]),
    ("assistant", "You are a regular member.", []),
]


def _meta(sid: str) -> EventMeta:
    return EventMeta(
        id=f"task-{sid}", parent_id=None, sample_id=sid, stage="blueprint-sampler",
        stage_version="v", versions=(("blueprint-sampler", "v"),),
    )  # fmt: skip


def blueprint_pass(domain: Domain, seed: int, sid: str, *, model: str = "writer") -> BlueprintPass:
    tools = tuple(
        Tool(t.name, t.description, t.parameters, category=domain.name) for t in domain.tools
    )
    task = BlueprintTask(
        meta=_meta(sid), domain=domain.name, env_seed=seed, user_id="u", user_record="{}",
        tools=tools, policy=domain.policy,
    )  # fmt: skip
    bp = Blueprint(
        meta=task.meta.child("blueprint-writer", "v1"), task=task, model=model,
        intent="an intent", actions=(),
    )  # fmt: skip
    return BlueprintPass(
        meta=bp.meta.child("blueprint-validator", "v1"), blueprint=bp, results=(), final_state=""
    )


def play(
    bp: BlueprintPass,
    script: Sequence[Step],
    *,
    interplay: str = "interplay-v1",
    agent: str = "agent-model",
    user: str = "user-model",
) -> Trajectory:
    """The scripted conversation, each call run on a fresh environment of the blueprint's
    domain and seed (the tool turns carry the real results)."""
    task = bp.blueprint.task
    env = Environment(RETAIL if task.domain == RETAIL.name else AIRLINE)
    env.reset(task.env_seed)
    turns: list[Turn] = []
    actions: list[Call] = []
    for step in script:
        if step[0] == "user":
            turns.append(Turn(Role.USER, step[1]))
            continue
        assert len(step) == 3
        calls = tuple(Call(name, args) for name, args in step[2])
        turns.append(Turn(Role.ASSISTANT, step[1], calls=calls))
        for call in calls:
            out = env.call(call.name, call.arguments)
            result = CallResult(out.ok, out.value, out.reason, out.message)
            turns.append(Turn(Role.TOOL, name=call.name, result=result))
        actions += calls
    return Trajectory(
        meta=bp.meta.child("interplay", interplay), blueprint=bp, user_model=user,
        agent_model=agent, turns=tuple(turns), actions=tuple(actions),
        final_state=env.state_digest(), ended="user_done",
    )  # fmt: skip


def passed(trajectory: Trajectory, checker: str = "checker-v1") -> TrajectoryPass:
    return TrajectoryPass(
        meta=trajectory.meta.child("trajectory-checker", checker), trajectory=trajectory
    )


def actions_of(t: Trajectory) -> list[dict[str, Any]]:
    return [{"name": c.name, "arguments": c.arguments} for c in t.actions]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    assert all(isinstance(r, dict) for r in rows)
    return rows


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TrajectoryStore]:
    s = TrajectoryStore(tmp_path / TRAJECTORY_DB)
    yield s
    s.close()


@pytest.fixture
def two(store: TrajectoryStore) -> list[Trajectory]:
    """A retail and an airline trajectory, stored."""
    retail = play(blueprint_pass(RETAIL, 3, "r1"), RETAIL_SCRIPT)
    airline = play(blueprint_pass(AIRLINE, 3, "a1"), AIRLINE_SCRIPT, agent="agent-2")
    assert store.add_many([passed(retail), passed(airline)]) == [True, True]
    return [retail, airline]


def test_realistic_turns_carry_real_results() -> None:
    t = play(blueprint_pass(RETAIL, 3, "r1"), RETAIL_SCRIPT)
    results = [turn.result for turn in t.turns if turn.role == Role.TOOL]
    assert results[0] == CallResult(True, {"user_id": "ava_novak_1151"})
    assert all(r is not None and r.ok for r in results)
    failed = play(blueprint_pass(AIRLINE, 3, "a1"), AIRLINE_SCRIPT).turns[6].result
    assert failed is not None and failed.reason == "not_found"


def test_redelivered_and_replayed_passes_are_stored_once(store: TrajectoryStore) -> None:
    t = play(blueprint_pass(RETAIL, 3, "r1"), RETAIL_SCRIPT)
    first, replayed = passed(t), passed(t, checker="checker-v2")
    assert first.meta.id != replayed.meta.id  # a checker replay wraps it in a new pass
    assert store.add_many([first, first]) == [True, False]
    assert store.add(replayed) is False
    assert store.count(include_duplicates=True) == 1
    (stored,) = store.trajectories()
    assert (stored.id, stored.pass_id) == (t.meta.id, first.meta.id)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_one_trajectory_per_blueprint_whatever_the_order(
    tmp_path: Path, order: tuple[int, int]
) -> None:
    bp = blueprint_pass(RETAIL, 3, "r1")
    versions = [play(bp, RETAIL_SCRIPT, interplay=v) for v in ("interplay-v1", "interplay-v2")]
    keep = min(t.meta.id for t in versions)
    one = TrajectoryStore(tmp_path / "one.db")
    every = TrajectoryStore(tmp_path / "every.db", one_per_blueprint=False)
    for i in order:
        assert one.add(passed(versions[i])) and every.add(passed(versions[i]))
    assert [t.id for t in one.trajectories()] == [keep]
    assert (one.count(), one.duplicates(), one.count(include_duplicates=True)) == (1, 1, 2)
    assert (every.count(), every.duplicates()) == (2, 0)
    one.close()
    every.close()


async def test_sink_stores_concurrent_deliveries_once(store: TrajectoryStore) -> None:
    t = play(blueprint_pass(RETAIL, 3, "r1"), RETAIL_SCRIPT)
    seen: list[str] = []
    sink = TrajectorySink(store, on_trajectory=lambda e: seen.append(e.meta.id))
    outputs: list[object] = []

    async def deliver(event: TrajectoryPass) -> None:
        outputs.extend(await sink.process(event))

    async with anyio.create_task_group() as tg:
        for event in (passed(t), passed(t), passed(t, "checker-v2")):
            tg.start_soon(deliver, event)
    assert outputs == []
    assert store.count() == 1 and len(seen) == 1
    assert sink._commit.batches >= 1 and sink._commit.items == 3
    assert (sink.name, sink.input_topic, sink.input_type) == (
        "trajectory-sink",
        Topic.TRAJECTORY_PASS,
        TrajectoryPass,
    )
    other = TrajectorySink(TrajectoryStore(store.path, one_per_blueprint=False))
    assert sink.version.startswith("trajectory-sink-v1-") and other.version != sink.version


def test_exports_have_the_documented_shapes(
    store: TrajectoryStore, two: list[Trajectory], tmp_path: Path
) -> None:
    paths = export_trajectories(store, tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == TRAJECTORY_FILES
    sharegpt, openai, apigen = (read_jsonl(paths[k]) for k in ("sharegpt", "openai", "apigen-mt"))
    assert len(sharegpt) == len(openai) == len(apigen) == 2
    policies = {t.meta.id: t.blueprint.blueprint.task.policy for t in two}
    for row in sharegpt:
        assert set(row) == {"id", "conversations", "tools", "system", "domain", "env_seed"}
        assert row["conversations"][0] == {"from": "system", "value": policies[row["id"]]}
        assert row["system"] == policies[row["id"]]
        tools = json.loads(row["tools"])
        assert {t["name"] for t in tools} >= {"get_user_details"}
        assert all(set(t) == {"name", "description", "parameters"} for t in tools)
    for row in apigen:
        assert set(row) == {"conversations", "tools", "system"}  # the release's keys, only
        assert isinstance(row["tools"], str) and row["system"] in policies.values()
        assert row["conversations"][0]["from"] == "human"
        assert {e["from"] for e in row["conversations"]} <= {
            *("human", "gpt", "function_call", "observation")
        }
        assert all(set(e) == {"from", "value"} for e in row["conversations"])
    for row in openai:
        assert set(row) == {"id", "messages", "tools", "domain", "env_seed"}
        assert row["messages"][0] == {"role": "system", "content": policies[row["id"]]}
        assert {m["role"] for m in row["messages"]} == {"system", "user", "assistant", "tool"}
        for tool in row["tools"]:
            assert tool["type"] == "function"
            assert set(tool["function"]) == {"name", "description", "parameters"}
    # The retail conversation ends on a user turn: kept in the release shape, not for training.
    retail = two[0].meta.id
    assert next(r for r in sharegpt if r["id"] == retail)["conversations"][-1]["from"] == "gpt"
    assert [r["conversations"][-1]["value"] for r in apigen].count("Thanks, bye. ###STOP###") == 1
    joined = "Order #W1026838.\n\nSorry, I mean: the pending one."  # two user turns in a row
    assert sum(e["value"] == joined for r in apigen for e in r["conversations"]) == 1


def test_openai_tool_call_ids_match_their_tool_messages(
    store: TrajectoryStore, two: list[Trajectory], tmp_path: Path
) -> None:
    paths = export_trajectories(store, tmp_path, ["openai"])
    for row in read_jsonl(paths["openai"]):
        ids: list[str] = []
        pending: list[str] = []
        for message in row["messages"]:
            if message["role"] == "assistant" and "tool_calls" in message:
                assert not pending
                pending = [c["id"] for c in message["tool_calls"]]
                ids += pending
                assert all(c["type"] == "function" for c in message["tool_calls"])
                assert all(
                    isinstance(c["function"]["arguments"], str) for c in message["tool_calls"]
                )
            elif message["role"] == "tool":
                assert message["tool_call_id"] == pending.pop(0)
                assert isinstance(message["content"], str)
            else:
                assert not pending
        assert not pending and len(set(ids)) == len(ids)
        assert ids == [f"call_{i}" for i in range(len(ids))]
    again = export_trajectories(store, tmp_path / "again", ["openai"])["openai"]
    assert again.read_bytes() == paths["openai"].read_bytes()  # deterministic


def assert_alternates(conv: list[dict[str, str]]) -> None:
    """LLaMA-Factory's check (user side on even positions, agent side on odd ones), and
    every call followed by its result."""
    for i, entry in enumerate(conv):
        sides = ("human", "observation") if i % 2 == 0 else ("gpt", "function_call")
        assert entry["from"] in sides, (i, entry)
    for i, entry in enumerate(conv):
        if entry["from"] == "function_call":
            assert conv[i + 1]["from"] == "observation"
            assert set(json.loads(entry["value"])) == {"name", "arguments"}


def test_sharegpt_alternates_and_each_call_is_followed_by_its_observation(
    store: TrajectoryStore, two: list[Trajectory], tmp_path: Path
) -> None:
    paths = export_trajectories(store, tmp_path, ["sharegpt", "apigen-mt"])
    rows = [r["conversations"][1:] for r in read_jsonl(paths["sharegpt"])]
    rows += [r["conversations"] for r in read_jsonl(paths["apigen-mt"])]
    observed = {t.meta.id: [turn for turn in t.turns if turn.role == Role.TOOL] for t in two}
    for conv in rows:
        assert_alternates(conv)
    sharegpt = read_jsonl(paths["sharegpt"])
    for row in sharegpt:
        assert len(row["conversations"][1:]) % 2 == 0  # ends on the agent
        observations = [e["value"] for e in row["conversations"] if e["from"] == "observation"]
        results = [turn.result for turn in observed[row["id"]]]
        assert [json.loads(o) for o in observations] == [
            r.result if r.ok else {"error": r.reason, "message": r.message}
            for r in results
            if r is not None
        ]


def _actions(fmt: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    if fmt == "openai":
        return [
            {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
            for m in row["messages"]
            for c in m.get("tool_calls", [])
        ]
    return [json.loads(e["value"]) for e in row["conversations"] if e["from"] == "function_call"]


@pytest.mark.parametrize("fmt", list(TRAJECTORY_FILES))
def test_round_trip_recovers_the_actions(
    store: TrajectoryStore, two: list[Trajectory], tmp_path: Path, fmt: str
) -> None:
    path = export_trajectories(store, tmp_path, [fmt])[fmt]
    by_id = {t.meta.id: t for t in two}
    rows = read_jsonl(path)
    ordered = sorted(two, key=lambda t: t.meta.id)  # the store's stable order
    for t, row in zip(ordered, rows, strict=True):
        if "id" in row:
            assert by_id[row["id"]] is t
        assert _actions(fmt, row) == actions_of(t)
        assert len(actions_of(t)) >= 3


AWKWARD: list[Step] = [
    ("assistant", "Hi! How can I help you today?", []),  # a greeting before the user
    ("user", "Find me."),
    ("assistant", "", [("find_user_by_email", {"email": "ava.novak1@example.com"})]),
    ("user", "Hello? Also this order: #W1053016."),  # straight after a result
    ("assistant", "One moment.", []),
    ("assistant", "", []),  # an empty reply
    ("assistant", "Looking.", []),  # text in its own turn, then the calls
    ("assistant", "Both:", [("get_order_details", {"order_id": "#W1053016"})] * 2),
    ("assistant", "", []),
    ("user", "Thanks."),
]


@pytest.mark.parametrize("fmt", list(TRAJECTORY_FILES))
def test_unusual_turn_orders_still_alternate_and_keep_every_action(
    store: TrajectoryStore, tmp_path: Path, fmt: str
) -> None:
    t = play(blueprint_pass(RETAIL, 3, "w1"), AWKWARD)
    assert store.add(passed(t))
    (row,) = read_jsonl(export_trajectories(store, tmp_path, [fmt])[fmt])
    assert _actions(fmt, row) == actions_of(t) and len(t.actions) == 3
    if fmt == "openai":  # keeps every assistant message as it was
        texts = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        greeting = "Hi! How can I help you today?"
        assert texts == [greeting, None, "One moment.", None, "Looking.", "Both:", None]
        return
    conv = row["conversations"][1:] if fmt == "sharegpt" else row["conversations"]
    assert_alternates(conv)
    expected = [
        ("human", "Find me."),
        ("function_call", None),
        ("observation", None),
        ("gpt", ""),  # between a result and the user's next turn
        ("human", "Hello? Also this order: #W1053016."),
        *[("function_call", None), ("observation", None)] * 2,  # the text before is left out
        ("gpt", ""),
        *([("human", "Thanks.")] if fmt == "apigen-mt" else []),
    ]
    assert [(e["from"], None if e["from"] in ("function_call", "observation") else e["value"])
            for e in conv] == expected  # fmt: skip


def test_a_second_instance_on_disk_sees_the_same_store(
    store: TrajectoryStore, two: list[Trajectory]
) -> None:
    other = TrajectoryStore(store.path)
    assert other.count() == store.count() == 2
    assert other.domains() == store.domains()
    third = play(blueprint_pass(RETAIL, 4, "r2"), RETAIL_SCRIPT[:6])
    assert other.add(passed(third)) is True
    assert store.add(passed(third)) is False  # the first instance sees the other's write
    assert [t.id for t in store.trajectories()] == [t.id for t in other.trajectories()]
    assert trajectory_summary(store) == trajectory_summary(other)
    other.close()


def test_another_process_writes_and_reads_the_same_file(
    store: TrajectoryStore, two: list[Trajectory], tmp_path: Path
) -> None:
    third = passed(play(blueprint_pass(AIRLINE, 5, "a2"), AIRLINE_SCRIPT[:3]))
    (tmp_path / "event.json").write_bytes(encode(third))
    child = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from topics import TrajectoryPass, decode\n"
        "from streamer.dataset._trajectory_store import TrajectoryStore\n"
        "from streamer.dataset._trajectory_export import trajectory_summary\n"
        "store = TrajectoryStore(sys.argv[1])\n"
        "event = decode(Path(sys.argv[2]).read_bytes(), TrajectoryPass)\n"
        "print(json.dumps([store.add(event), store.add(event), trajectory_summary(store)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(store.path), str(tmp_path / "event.json")],
        capture_output=True, check=True, timeout=60, text=True,
    )  # fmt: skip
    added, again, summary = json.loads(done.stdout)
    assert (added, again) == (True, False)
    assert summary == trajectory_summary(store) and summary["trajectories"] == 3
    assert store.add(third) is False  # written by the other process: already stored


def test_summary_counts_domains_turns_actions_and_models(
    store: TrajectoryStore, two: list[Trajectory]
) -> None:
    summary = trajectory_summary(store)
    assert summary["trajectories"] == 2 and summary["duplicates"] == 0
    assert summary["domains"] == {
        "airline": {"trajectories": 1, "avg_user_turns": 3.0, "avg_actions": 3.0},
        "retail": {"trajectories": 1, "avg_user_turns": 6.0, "avg_actions": 4.0},
    }
    assert (summary["avg_user_turns"], summary["avg_actions"]) == (4.5, 3.5)
    assert summary["models"] == {
        "blueprint": ["writer"],
        "user": ["user-model"],
        "agent": ["agent-2", "agent-model"],
    }
    assert "trajectories=2" in repr(store)


def test_iteration_is_paged_and_ordered(store: TrajectoryStore) -> None:
    bp = blueprint_pass(AIRLINE, 3, "a1")
    base = play(bp, AIRLINE_SCRIPT[:3])
    rows = []
    for i in range(450):  # more than two pages
        meta = EventMeta(id=f"t{i:04d}-{(i * 7919) % 450}", parent_id=None, sample_id="a1",
                         stage="interplay", stage_version="v")  # fmt: skip
        t = Trajectory(
            meta=meta, blueprint=bp, user_model="u", agent_model="a", turns=base.turns,
            actions=base.actions, final_state="", ended="user_done",
        )  # fmt: skip
        rows.append(trajectory_row(passed(t)))
    TrajectoryStore(store.path, one_per_blueprint=False).add_rows(rows[::-1])
    ids = [t.id for t in TrajectoryStore(store.path, one_per_blueprint=False).trajectories()]
    assert ids == sorted(r.id for r in rows)


HOSTILE = [
    'line one\nline two\r\n"}\n{"from": "gpt", "value": "injected"}',
    "separators \u2028 and \u2029 and \x85 and \x1c\x1d\x1e\x0b\x0c",
    '{"role": "tool", "tool_call_id": "call_0"}',
    "\\u0000 \x00 nul and a tab\t",
]


def test_hostile_text_never_breaks_a_line(store: TrajectoryStore, tmp_path: Path) -> None:
    bp = blueprint_pass(RETAIL, 3, "h1")
    t = play(bp, [("user", HOSTILE[0]), ("assistant", HOSTILE[1], [])])
    hostile_result = CallResult(True, {"note": HOSTILE[2], "list": HOSTILE})
    turns = (
        *t.turns,
        Turn(Role.USER, HOSTILE[3]),
        Turn(Role.ASSISTANT, "", calls=(Call("list_products", {"category": HOSTILE[1]}),)),
        Turn(Role.TOOL, name="list_products", result=hostile_result),
        Turn(Role.ASSISTANT, HOSTILE[2]),
    )
    actions = (Call("list_products", {"category": HOSTILE[1]}),)
    hostile = replace(t, turns=turns, actions=actions)
    assert store.add(passed(hostile))
    paths = export_trajectories(store, tmp_path)
    for fmt, path in paths.items():
        data = path.read_bytes()
        assert data.count(b"\n") == 1 and len(data.decode().splitlines()) == 1, fmt
        (row,) = read_jsonl(path)
        text = json.dumps(row)
        assert all(json.dumps(h)[1:-1] in text for h in HOSTILE[:3]), fmt
        assert _actions(fmt, row) == actions_of(hostile)
    (row,) = read_jsonl(paths["apigen-mt"])
    assert row["conversations"][0]["value"] == HOSTILE[0]
    observation = next(e for e in row["conversations"] if e["from"] == "observation")
    assert json.loads(observation["value"]) == hostile_result.result
    assert jsonl_line({"x": "\u2028"}) == b'{"x":"\\u2028"}'


async def test_a_lone_surrogate_is_one_reject_and_spares_its_batch(
    store: TrajectoryStore,
) -> None:
    # The log never carries one (the serde refuses it both ways) ...
    with pytest.raises(MalformedEvent):
        decode(b'{"meta": {"id": "\\ud800"}}', TrajectoryPass)
    # ... but a sink called in process may see it: one reject, the batch still commits.
    good = passed(play(blueprint_pass(RETAIL, 3, "g1"), RETAIL_SCRIPT[:4]))
    bad_user = play(blueprint_pass(RETAIL, 3, "b1"), [("user", "odd \ud800 text")])
    bad_model = play(blueprint_pass(RETAIL, 3, "b2"), RETAIL_SCRIPT[:2], agent="m\udfff")
    sink = TrajectorySink(store)
    outs: dict[str, list[Any]] = {}

    async def deliver(event: TrajectoryPass) -> None:
        outs[event.meta.id] = list(await sink.process(event))

    base = play(blueprint_pass(RETAIL, 3, "b3"), RETAIL_SCRIPT[:4])
    failed = CallResult(False, None, "not_found", "no user \ud800")
    bad_result = replace(
        base, turns=(*base.turns[:4], Turn(Role.TOOL, name="find_user_by_email", result=failed))
    )
    events = [good, passed(bad_user), passed(bad_model), passed(bad_result)]
    async with anyio.create_task_group() as tg:
        for event in events:
            tg.start_soon(deliver, event)
    assert outs[good.meta.id] == [] and store.count() == 1
    for event in events[1:]:
        (out,) = outs[event.meta.id]
        assert out.topic == Topic.REJECTS and isinstance(out.event, Reject)
        assert out.event.reason == UNENCODABLE and out.event.meta.stage == "trajectory-sink"
    assert sink.rejected == 3


async def test_under_the_runner_redeliveries_are_stored_once_and_bad_input_rejected(
    store: TrajectoryStore,
) -> None:
    retail = play(blueprint_pass(RETAIL, 3, "r1"), RETAIL_SCRIPT)
    airline = play(blueprint_pass(AIRLINE, 3, "a1"), AIRLINE_SCRIPT)
    broken = replace(retail, turns=(Turn(Role.USER, "hi"), Turn(Role.TOOL, name="x")))
    events = [passed(retail), passed(airline), passed(retail), passed(retail, "checker-v2")]
    events.append(passed(replace(broken, meta=replace(broken.meta, id="broken"))))
    messages = [Message(Topic.TRAJECTORY_PASS, encode(e), key=e.meta.sample_id.encode())
                for e in events]  # fmt: skip
    messages.append(Message(Topic.TRAJECTORY_PASS, b"\xffnot json", key=b"x"))
    transport = MemoryTransport(default_partitions=2)
    async with transport.producer() as producer:
        await producer.produce(messages)
    runner = StageRunner(TrajectorySink(store), transport)
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        rejects: list[Reject] = []
        async with transport.consumer([Topic.REJECTS], "probe") as probe:
            with anyio.fail_after(10):
                while len(rejects) < 2:
                    rejects += [decode(r.value, Reject) for r in await probe.poll(10, 0.1)]
                while store.count() < 2 or runner.stats.consumed < len(messages):
                    await anyio.sleep(0.01)
        runner.stop()
    assert sorted(r.reason for r in rejects) == ["malformed_event", MALFORMED]
    assert {t.id for t in store.trajectories()} == {retail.meta.id, airline.meta.id}
    async with transport.consumer([Topic.TRAJECTORY_PASS], runner.group) as consumer:
        tps = [TopicPartition(Topic.TRAJECTORY_PASS, p) for p in range(2)]
        committed = [await consumer.committed(tp) for tp in tps]
    assert sum(c or 0 for c in committed) == len(messages)


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        ((Turn(Role.USER, "hi"), Turn(Role.TOOL, name="x")), "answers no call"),
        ((Turn(Role.USER, "hi"), Turn(Role.ASSISTANT, calls=(Call("f", {}),))), "has no result"),
        ((Turn(Role.ASSISTANT, "hello"),), "no user turn"),
        ((Turn(Role.ASSISTANT, calls=(Call("f", {}),)), Turn(Role.TOOL)), "before any user"),
        (
            (
                Turn(Role.USER, "hi"),
                Turn(Role.ASSISTANT, calls=(Call("f", {}), Call("g", {}))),
                Turn(Role.TOOL, name="f"),
                Turn(Role.USER, "and?"),
            ),
            "comes before the result of 'g'",
        ),
        (
            (
                Turn(Role.USER, "hi"),
                Turn(Role.ASSISTANT, calls=(Call("f", {}),)),
                Turn(Role.TOOL, name="g"),
            ),
            "result of 'g' where 'f' was called",
        ),
    ],
)
async def test_malformed_conversations_are_rejected(
    store: TrajectoryStore, turns: tuple[Turn, ...], problem: str
) -> None:
    t = play(blueprint_pass(RETAIL, 3, "m1"), [("user", "x")])
    event = passed(replace(t, turns=turns))
    (out,) = await TrajectorySink(store).process(event)
    assert isinstance(out.event, Reject) and out.event.reason == MALFORMED
    assert problem in out.event.message
    assert store.count(include_duplicates=True) == 0


def test_exports_are_atomic_and_empty_stores_export_empty_files(
    store: TrajectoryStore, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    path = export_apigen_mt(store, out)
    assert path.read_bytes() == b""
    assert [p.name for p in out.iterdir()] == ["apigen-mt.jsonl"]  # no temporary file left
    with pytest.raises(ValueError, match="unknown trajectory formats"):
        export_trajectories(store, out, ["sharegpt", "csv"])
    assert not (out / TRAJECTORY_FILES["sharegpt"]).exists()
