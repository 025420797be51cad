"""``apigen check`` on multi-turn conversations (issue 18): every tool-calling turn of our
three trajectory exports is checked against the row's tools, and a conversation that names
a built-in environment (its ``domain``/``env_seed`` fields or ``--environment``) is
replayed as one trajectory whose every result must equal the recorded output.

The exports come from a real ``apigen run --multi-turn --simulate --samples 6``; the
tampered records are those files with one thing changed, and the conversations built here
are recorded from a real :class:`~executors.environments.Environment` through the real
exporter, so nothing is mocked."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from executors.environments import AIRLINE, RETAIL, Domain, Environment
from streamer.check import (
    ENVIRONMENTS,
    READ_REASONS,
    TRAJECTORY_REASONS,
    EnvironmentChoice,
    InvalidRecord,
    ReadLimits,
    ReadSettings,
    ReplaySettings,
    TrajectoryCase,
    parse_environment,
    read_dataset,
    replay,
)
from streamer.cli._app import app
from streamer.dataset._trajectory_export import openai_trajectory_row, sharegpt_trajectory_row
from streamer.dataset._trajectory_store import StoredTrajectory, observation_text
from topics import CallResult

runner = CliRunner()
DOMAINS: dict[str, Domain] = {"retail": RETAIL, "airline": AIRLINE}
Row = dict[str, Any]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("multi-turn") / "run"
    args = ["run", "--multi-turn", "--simulate", "--samples", "6", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def rows(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, records: list[Any]) -> Path:
    lines = (r if isinstance(r, str) else json.dumps(r) for r in records)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def cli(*args: str | Path) -> tuple[int, dict[str, Row], dict[str, Any]]:
    """(exit code, results by id, summary) of ``apigen check ... --summary-json``."""
    result = runner.invoke(app, ["check", *map(str, args), "--summary-json"])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    summary = lines.pop()["summary"]
    by_id = {r["id"]: r for r in lines}
    assert len(by_id) == len(lines)  # ids are unique: per-turn ones and #trajectory ones
    return result.exit_code, by_id, summary


def trajectories(results: dict[str, Row]) -> dict[str, Row]:
    return {k: r for k, r in results.items() if k.endswith("#trajectory")}


def outcome(result: Row) -> tuple[str, str | None, str | None]:
    return result["verdict"], result["stage"], result["reason"]


def tool_calls(row: Row) -> Iterator[tuple[int, Row]]:
    """(calling turn from 1, tool call) of an OpenAI row, in order."""
    turn = 0
    for message in row["messages"]:
        if message.get("tool_calls"):
            turn += 1
            for call in message["tool_calls"]:
                yield turn, call


# --- our exports, as a real simulated run writes them ----------------------------------


@pytest.mark.parametrize("name", ["trajectories.openai.jsonl", "trajectories.sharegpt.jsonl"])
def test_our_exports_pass_turn_by_turn_and_replayed_from_their_own_fields(
    run_dir: Path, name: str
) -> None:
    exported = rows(run_dir / name)
    assert len(exported) == 6
    assert {r["domain"] for r in exported} == {"retail", "airline"}
    assert all(isinstance(r["env_seed"], int) for r in exported)
    code, results, summary = cli(run_dir / name)
    assert code == 0
    replayed = trajectories(results)
    assert sorted(replayed) == sorted(f"{r['id']}#trajectory" for r in exported)
    for row in exported:
        verdict = replayed[f"{row['id']}#trajectory"]
        assert outcome(verdict) == ("pass", None, None)
        assert verdict["stages"] == ["trajectory"]
        assert f"on {row['domain']} (seed {row['env_seed']})" in verdict["message"]
    turns = {k: r for k, r in results.items() if k not in replayed}
    calling = sum(1 for r in exported for _ in _calling_turns(r))
    assert len(turns) == calling >= 12  # one verdict per tool-calling turn
    assert all(r["verdict"] == "pass" and r["stages"][0] == "format" for r in turns.values())
    assert summary["trajectories"] == {"pass": 6, "fail": 0, "skip": 0}
    assert summary["records"] == calling + 6 and summary["pass"] == calling + 6


def _calling_turns(row: Row) -> Iterator[int]:
    if "messages" in row:
        yield from (i for i, m in enumerate(row["messages"]) if m.get("tool_calls"))
        return
    entries = row["conversations"]
    for i, entry in enumerate(entries):
        if entry["from"] == "function_call" and entries[i - 1]["from"] != "function_call":
            yield i


def test_each_tool_calling_turn_is_checked_against_the_rows_tools(run_dir: Path) -> None:
    row = rows(run_dir / "trajectories.openai.jsonl")[0]
    called = next(call for _, call in tool_calls(row))["function"]["name"]
    row["tools"] = [t for t in row["tools"] if t["function"]["name"] != called]
    path = write(run_dir.parent / "no-tool.jsonl", [row])
    code, results, _ = cli(path)
    assert code == 1
    failed = [r for r in results.values() if r["verdict"] == "fail"]
    assert failed and all(outcome(r) == ("fail", "format", "unknown_function") for r in failed)
    # The environment still has the tool: the replay itself agrees with every output.
    assert outcome(results[f"{row['id']}#trajectory"]) == ("pass", None, None)


def test_apigen_mt_rows_replay_with_the_environment_option_only(
    run_dir: Path, tmp_path: Path
) -> None:
    released = rows(run_dir / "apigen-mt.jsonl")
    assert all(set(r) == {"conversations", "tools", "system"} for r in released)
    code, results, summary = cli(run_dir / "apigen-mt.jsonl")
    assert code == 0 and not trajectories(results) and "trajectories" not in summary
    # The exports list the store in one order: row i of each is the same trajectory.
    sources = rows(run_dir / "trajectories.openai.jsonl")
    for i, (row, source) in enumerate(zip(released, sources, strict=True)):
        one = write(tmp_path / f"row{i}.jsonl", [row])
        choice = f"{source['domain']}:{source['env_seed']}"
        code, results, _ = cli(one, "--environment", choice)
        assert code == 0
        (verdict,) = trajectories(results).values()
        assert outcome(verdict) == ("pass", None, None), verdict


def test_a_domain_without_a_seed_is_checked_for_format_only(run_dir: Path) -> None:
    path = run_dir / "apigen-mt.jsonl"
    domains = [r["domain"] for r in rows(run_dir / "trajectories.openai.jsonl")]
    code, results, summary = cli(path, "--environment", "airline")
    assert code == 0  # a skip is not a failure...
    skipped = list(trajectories(results).values())
    assert len(skipped) == 6
    for verdict, domain in zip(skipped, domains, strict=True):
        if domain == "airline":
            assert outcome(verdict) == ("skip", "trajectory", "no_seed")
            assert "format only" in verdict["message"] and "not guessed" in verdict["message"]
        else:  # the row's system prompt is the retail policy
            assert outcome(verdict) == ("skip", "trajectory", "domain_mismatch")
            assert "retail policy" in verdict["message"]
    assert summary["trajectories"] == {"pass": 0, "fail": 0, "skip": 6}
    assert cli(path, "--environment", "airline", "--strict")[0] == 1  # ...unless --strict


def test_the_environment_option_overrides_seeds_and_refuses_other_domains(
    run_dir: Path,
) -> None:
    path = run_dir / "trajectories.openai.jsonl"
    exported = {r["id"]: r for r in rows(path)}
    code, results, _ = cli(path, "--environment", "retail:1")
    assert code == 1
    for rid, verdict in trajectories(results).items():
        row = exported[rid.removesuffix("#trajectory")]
        if row["domain"] == "airline":
            assert outcome(verdict) == ("skip", "trajectory", "domain_mismatch")
        else:  # seed 1 has other users: the first lookup finds nobody
            assert outcome(verdict) == ("fail", "trajectory", "action_failed")
            assert "turn 1" in verdict["message"] and "not_found" in verdict["message"]


@pytest.mark.parametrize(
    "bad", ["telecom", "retail:", "retail:-1", "retail:x", f"airline:{2**63}", "../etc:1"]
)
def test_an_environment_option_outside_the_built_ins_is_a_usage_error(
    run_dir: Path, bad: str
) -> None:
    result = runner.invoke(app, ["check", str(run_dir / "apigen-mt.jsonl"), "--environment", bad])
    assert result.exit_code == 2, result.output
    with pytest.raises(ValueError):
        parse_environment(bad)


def test_replay_is_execution_so_format_only_turns_it_off(run_dir: Path) -> None:
    path = run_dir / "trajectories.openai.jsonl"
    code, results, summary = cli(path, "--stages", "format")
    assert code == 0 and not trajectories(results) and "trajectories" not in summary
    stages = ["--stages", "format", "--environment", "retail:1"]
    assert runner.invoke(app, ["check", str(path), *stages]).exit_code == 2


# --- tampered exports ------------------------------------------------------------------


def _tamper_value(text: str) -> str:
    """The observation with its first string leaf changed (still valid JSON)."""
    value = json.loads(text)

    def change(node: Any) -> tuple[Any, bool]:
        if isinstance(node, str):
            return node + " (edited)", True
        if isinstance(node, dict):
            for key, item in node.items():
                node[key], done = change(item)
                if done:
                    return node, True
        if isinstance(node, list):
            for i, item in enumerate(node):
                node[i], done = change(item)
                if done:
                    return node, True
        return node, False

    changed, done = change(value)
    assert done, text
    return json.dumps(changed)


def test_a_tampered_observation_fails_naming_its_turn(run_dir: Path, tmp_path: Path) -> None:
    openai = rows(run_dir / "trajectories.openai.jsonl")
    sharegpt = rows(run_dir / "trajectories.sharegpt.jsonl")
    openai_of = {r["id"]: r for r in openai}
    for row in openai:  # the last tool message of each conversation
        last = max(i for i, m in enumerate(row["messages"]) if m["role"] == "tool")
        row["messages"][last]["content"] = _tamper_value(row["messages"][last]["content"])
    for row in sharegpt:  # the first observation of each conversation
        first = next(i for i, e in enumerate(row["conversations"]) if e["from"] == "observation")
        row["conversations"][first]["value"] = _tamper_value(row["conversations"][first]["value"])
    for name, tampered in (("openai", openai), ("sharegpt", sharegpt)):
        code, results, summary = cli(write(tmp_path / f"{name}.jsonl", tampered))
        assert code == 1
        for row in tampered:
            verdict = results[f"{row['id']}#trajectory"]
            assert outcome(verdict) == ("fail", "trajectory", "observation_mismatch")
            assert "(edited)" in verdict["message"]
            # openai: the last calling turn of each row was tampered; sharegpt: turn 1.
            turn = max(t for t, _ in tool_calls(openai_of[row["id"]])) if name == "openai" else 1
            assert verdict["message"].startswith(f"turn {turn} "), verdict["message"]
        assert summary["trajectories"] == {"pass": 0, "fail": 6, "skip": 0}


def _first_write(row: Row) -> tuple[int, Row]:
    domain = DOMAINS[row["domain"]]
    for turn, call in tool_calls(row):
        tool = domain.tool(call["function"]["name"])
        if tool is not None and tool.writes:
            return turn, call
    raise AssertionError(f"{row['id']}: no write")


def test_a_write_with_a_changed_id_fails_as_an_action_failed(run_dir: Path, tmp_path: Path) -> None:
    exported = rows(run_dir / "trajectories.openai.jsonl")
    turns: dict[str, int] = {}
    for row in exported:
        turn, call = _first_write(row)
        arguments = json.loads(call["function"]["arguments"])
        key = next(k for k, v in arguments.items() if k.endswith("_id") and isinstance(v, str))
        arguments[key] += "9"  # an id no row has
        call["function"]["arguments"] = json.dumps(arguments)
        turns[row["id"]] = turn
    code, results, _ = cli(write(tmp_path / "ids.jsonl", exported))
    assert code == 1
    for row in exported:
        verdict = results[f"{row['id']}#trajectory"]
        assert outcome(verdict) == ("fail", "trajectory", "action_failed"), verdict
        assert f"turn {turns[row['id']]} " in verdict["message"]
        assert "where the record shows success" in verdict["message"]


def test_a_call_to_a_tool_the_domain_lacks_is_unknown_tool(run_dir: Path, tmp_path: Path) -> None:
    row = rows(run_dir / "trajectories.openai.jsonl")[0]
    turn, call = list(tool_calls(row))[-1]
    call["function"]["name"] = "delete_all_users"
    row["tools"].append(
        {
            "type": "function",
            "function": {
                "name": "delete_all_users",
                "description": "offered by the record, not by the domain",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    )
    call["function"]["arguments"] = "{}"
    code, results, _ = cli(write(tmp_path / "unknown.jsonl", [row]))
    assert code == 1
    verdict = results[f"{row['id']}#trajectory"]
    assert outcome(verdict) == ("fail", "trajectory", "unknown_tool")
    assert f"turn {turn} " in verdict["message"] and "delete_all_users" in verdict["message"]


# --- conversations recorded from a real environment ------------------------------------


Calls = list[list[tuple[str, dict[str, Any]]]]


def _record(domain: Domain, seed: int, turns: Calls) -> Row:
    """The OpenAI row of :func:`_stored`, through the real exporter."""
    return openai_trajectory_row(_stored(domain, seed, turns))


def _stored(domain: Domain, seed: int, turns: Calls) -> StoredTrajectory:
    """A stored trajectory of a user asking once per turn and the agent making that
    turn's calls on a real environment reset to ``seed``, with their real results."""
    env = Environment(domain)
    env.reset(seed)
    canonical: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for calls in turns:
        canonical.append({"role": "user", "content": "please"})
        made = [{"name": n, "arguments": a} for n, a in calls]
        canonical.append({"role": "assistant", "content": "", "calls": made})
        for name, arguments in calls:
            result = env.call(name, arguments)
            outcome = CallResult(result.ok, result.value, result.reason, result.message)
            canonical.append(
                {"role": "tool", "name": name, "content": observation_text(outcome, "")}
            )
        actions += made
    env.close()
    return StoredTrajectory(
        id=f"{domain.name}-{seed}-{len(turns)}",
        pass_id="p",
        blueprint_id="b",
        sample_id="s",
        domain=domain.name,
        env_seed=seed,
        user_turns=len(turns),
        action_count=len(actions),
        user_model="u",
        agent_model="a",
        blueprint_model="b",
        ended="done",
        policy=domain.policy,
        tools=[
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in domain.tools
        ],
        turns=canonical,
        actions=actions,
        versions=[],
    )


def _pending_order(seed: int) -> tuple[str, str]:
    env = Environment(RETAIL)
    env.reset(seed)
    found = env.db.execute(
        "SELECT order_id, zip FROM orders WHERE status = 'pending' ORDER BY order_id LIMIT 1"
    ).fetchone()
    env.close()
    assert found is not None
    return str(found[0]), str(found[1])


def _address_change(order_id: str, zip_code: str) -> tuple[str, dict[str, Any]]:
    return (
        "modify_pending_order_address",
        {
            "order_id": order_id,
            "address1": "1 Elm Street",
            "city": "Madison",
            "state": "WI",
            "zip": zip_code,
            "country": "USA",
        },
    )


def _moving(order_id: str) -> Calls:
    """Read an order, change its address, read it again."""
    read = ("get_order_details", {"order_id": order_id})
    return [[read], [_address_change(order_id, "53703")], [read]]


@pytest.fixture(scope="module")
def moved() -> tuple[Row, str]:
    order_id, _ = _pending_order(11)
    return _record(RETAIL, 11, _moving(order_id)), order_id


def test_a_recorded_conversation_passes_and_so_does_its_sharegpt_twin(
    moved: tuple[Row, str], tmp_path: Path
) -> None:
    row, order_id = moved
    twin = sharegpt_trajectory_row(_stored(RETAIL, 11, _moving(order_id)))
    code, results, summary = cli(write(tmp_path / "moved.jsonl", [row]))
    assert code == 0 and summary["trajectories"]["pass"] == 1
    assert "3 calls replayed on retail (seed 11)" in results[f"{row['id']}#trajectory"]["message"]
    code, results, _ = cli(write(tmp_path / "twin.jsonl", [twin]))
    assert code == 0 and results[f"{twin['id']}#trajectory"]["verdict"] == "pass"


def test_a_changed_argument_in_a_write_fails_at_the_write(
    moved: tuple[Row, str], tmp_path: Path
) -> None:
    row, _ = moved
    tampered = copy.deepcopy(row)
    _, write_call = list(tool_calls(tampered))[1]
    arguments = json.loads(write_call["function"]["arguments"])
    arguments["zip"] = "53704"
    write_call["function"]["arguments"] = json.dumps(arguments)
    code, results, _ = cli(write(tmp_path / "zip.jsonl", [tampered]))
    assert code == 1
    verdict = results[f"{row['id']}#trajectory"]
    assert outcome(verdict) == ("fail", "trajectory", "observation_mismatch")
    assert "turn 2 " in verdict["message"] and "53703" in verdict["message"]


def test_a_changed_write_with_its_output_forged_to_match_fails_at_the_next_read(
    moved: tuple[Row, str], tmp_path: Path
) -> None:
    row, order_id = moved
    other = _record(RETAIL, 11, [[_address_change(order_id, "53704")]])
    # The forged record: the changed write with the output it really gives, then the
    # read recorded after the original write.
    messages = copy.deepcopy(row["messages"])
    write_at = next(i for i, m in enumerate(messages) if m.get("tool_calls") and i > 3)
    messages[write_at] = other["messages"][2]
    messages[write_at + 1] = {**other["messages"][3], "tool_call_id": "call_1"}
    messages[write_at]["tool_calls"][0]["id"] = "call_1"
    tampered = {**row, "messages": messages}
    code, results, _ = cli(write(tmp_path / "forged.jsonl", [tampered]))
    assert code == 1
    verdict = results[f"{row['id']}#trajectory"]
    assert outcome(verdict) == ("fail", "trajectory", "observation_mismatch")
    assert "turn 3 " in verdict["message"]


def test_a_refusal_recorded_as_such_agrees(tmp_path: Path) -> None:
    row = _record(RETAIL, 5, [[("get_order_details", {"order_id": "#W0000000"})]])
    assert '"error":"not_found"' in row["messages"][3]["content"]
    code, results, _ = cli(write(tmp_path / "refused.jsonl", [row]))
    assert code == 0 and results[f"{row['id']}#trajectory"]["verdict"] == "pass"


# --- garbage and bounds ----------------------------------------------------------------


def test_garbage_rows_each_get_one_verdict_and_never_crash(run_dir: Path, tmp_path: Path) -> None:
    good = rows(run_dir / "trajectories.openai.jsonl")[0]
    first_call = next(call for _, call in tool_calls(good))

    def variant(rid: str, **changes: Any) -> Row:
        return {**copy.deepcopy(good), "id": rid, **changes}

    no_output = variant("no-output")
    no_output["messages"] = [m for m in no_output["messages"] if m["role"] != "tool"]
    orphan = variant("orphan")
    orphan["messages"].insert(1, {"role": "tool", "content": "{}"})
    bad_args = variant("bad-args")
    next(call for _, call in tool_calls(bad_args))["function"]["arguments"] = "[1, 2]"
    records: list[Any] = [
        "{not json",
        '"a string"',
        variant("seed-text", env_seed="42"),
        variant("seed-bool", env_seed=True),
        variant("seed-huge", env_seed=2**64),
        variant("domain-list", domain=["retail"]),
        variant("domain-path", domain="../../etc/passwd"),
        variant("domain-none", domain=None),
        variant("no-seed", env_seed=None),
        no_output,
        orphan,
        bad_args,
        variant("messages-garbage", messages=[1, 2, 3]),
    ]
    assert first_call  # the variants change a real conversation
    code, results, _ = cli(write(tmp_path / "garbage.jsonl", records))
    assert code == 1
    expected = {
        "seed-text#trajectory": ("fail", "trajectory", "invalid_environment"),
        "seed-bool#trajectory": ("fail", "trajectory", "invalid_environment"),
        "seed-huge#trajectory": ("fail", "trajectory", "invalid_environment"),
        "domain-list#trajectory": ("fail", "trajectory", "invalid_environment"),
        "domain-none#trajectory": ("fail", "trajectory", "invalid_environment"),
        "domain-path#trajectory": ("skip", "trajectory", "unknown_domain"),
        "no-seed#trajectory": ("skip", "trajectory", "no_seed"),
        "no-output#trajectory": ("fail", "trajectory", "unpaired_observation"),
        "orphan#trajectory": ("fail", "trajectory", "unpaired_observation"),
        "bad-args#trajectory": ("fail", "trajectory", "invalid_call"),
    }
    assert {k: outcome(r) for k, r in trajectories(results).items()} == expected
    assert outcome(results["garbage.jsonl:1"]) == ("fail", None, "invalid_record")
    assert outcome(results["garbage.jsonl:2"]) == ("fail", None, "invalid_record")
    assert outcome(results["messages-garbage"]) == ("fail", None, "invalid_record")
    assert set(r["reason"] for r in trajectories(results).values()) <= set(TRAJECTORY_REASONS)


def _long_conversation(calls: int) -> Row:
    order = {"order_id": "#W0000000"}  # no such order: every call is refused
    messages: list[Row] = [{"role": "user", "content": "check my order, a lot"}]
    for i in range(calls):
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": "get_order_details", "arguments": json.dumps(order)},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": "{}"})
    tool = next(t for t in RETAIL.tools if t.name == "get_order_details")
    return {
        "id": f"long-{calls}",
        "messages": messages,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
        ],
        "domain": "retail",
        "env_seed": 3,
    }


def test_a_conversation_with_thousands_of_calls_is_one_limit_exceeded(tmp_path: Path) -> None:
    path = write(tmp_path / "long.jsonl", [_long_conversation(3000), _long_conversation(4)])
    code, results, summary = cli(path, "--max-record-bytes", str(4 * 1024 * 1024))
    assert code == 1
    assert outcome(results["long-3000"]) == ("fail", None, "limit_exceeded")
    assert "3000 calls; the limit is 512" in results["long-3000"]["message"]
    assert not any(k.startswith("long-3000#") for k in results)  # one verdict, no work
    # The short one is read, and its replay meets the environment's refusal.
    short = results["long-4#trajectory"]
    assert outcome(short) == ("fail", "trajectory", "action_failed")
    assert summary["records"] == 1 + 4 + 1
    lowered = cli(path, "--max-record-bytes", str(4 * 1024 * 1024), "--max-conversation-calls", "3")
    assert outcome(lowered[1]["long-4"]) == ("fail", None, "limit_exceeded")


def test_the_replay_never_runs_more_calls_than_the_bound(tmp_path: Path) -> None:
    settings = ReadSettings(
        limits=ReadLimits(max_record_bytes=4 * 1024 * 1024, max_conversation_calls=40),
        replay=ReplaySettings(environment=EnvironmentChoice("retail", 3)),
    )
    path = write(tmp_path / "forty.jsonl", [_long_conversation(40), _long_conversation(41)])
    _, items = read_dataset(path, settings=settings)
    read = list(items)
    cases = [i for i in read if isinstance(i, TrajectoryCase)]
    assert [len(c.steps) for c in cases] == [40]
    assert [getattr(i, "reason", "") for i in read][-1] == "limit_exceeded"
    outcome_ = replay(cases[0])
    assert outcome_.verdict == "fail" and outcome_.reason == "action_failed"


def test_the_environments_are_the_built_in_domains_only() -> None:
    assert dict(ENVIRONMENTS) == {"airline": AIRLINE, "retail": RETAIL}
    assert parse_environment(" Retail:7 ") == EnvironmentChoice("retail", 7)
    assert parse_environment("airline") == EnvironmentChoice("airline", None)
    assert orjson.loads(orjson.dumps(sorted(TRAJECTORY_REASONS)))  # codes are plain strings


def test_every_trajectory_reason_is_documented_and_in_the_help() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "checks.md").read_text()
    section = docs[docs.index("## Multi-turn conversations and environment replay") :]
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    for reason in TRAJECTORY_REASONS:
        assert f"`{reason}`" in section, reason
        assert reason in result.output, reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), replacement=JSON)
def test_any_value_anywhere_in_a_row_is_one_verdict_never_a_crash(
    run_dir: Path, tmp_path: Path, data: st.DataObject, replacement: Any
) -> None:
    row = rows(run_dir / "trajectories.openai.jsonl")[data.draw(st.integers(0, 5))]
    paths = [p for p in _paths(row) if p]
    path = data.draw(st.sampled_from(paths))
    node = row
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = replacement
    file = write(tmp_path / "fuzzed.jsonl", [row])
    _, items = read_dataset(file, fmt="openai")  # forced: a row that lost its shape is data too
    for item in items:
        if isinstance(item, InvalidRecord):
            assert item.reason in READ_REASONS
        elif isinstance(item, TrajectoryCase):
            verdict = replay(item)
            assert verdict.verdict == "pass" or verdict.reason in TRAJECTORY_REASONS
