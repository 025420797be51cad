"""Virtual APIs in the pipeline: events, dataset records, the card, the simulated endpoint,
and runs over the ToolBench catalogue (whose APIs have no binding) that execute through
virtual APIs, hit the answer store when repeated, and replay to the same verdicts."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from prometheus_client import REGISTRY

from executors import ApiSpec, VirtualCache, VirtualExecutor
from streamer.dataset._export import export_dataset
from streamer.dataset._store import DatasetStore
from streamer.llm import LlmClient, LlmEndpoint, SimulatorConfig, run_simulator
from streamer.pipeline._build import open_transport
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._model_config import ConfigError, ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.pipeline._virtual_config import VirtualApisConfig
from streamer.replay._diff import read_outcomes
from streamer.replay._replay import build_replay_stages, replay
from tests.shared_data import shared
from topics import (
    Call,
    CallResult,
    EventMeta,
    ExecPass,
    Judgement,
    QueryStyle,
    Sample,
    SemanticPass,
    Tool,
    decode,
    encode,
)

pytestmark = pytest.mark.anyio


def _tool(name: str, category: str) -> Tool:
    params = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
    return Tool(name, f"Does {name}.", params, category=category, api_id=f"t:{name}")


def _verified(i: int, query: str, simulated: tuple[bool, ...]) -> SemanticPass:
    tools = (_tool("real_f", "Mathematics"), _tool("virtual_g", "Finance"))
    meta = EventMeta(id=f"s{i}", parent_id=None, sample_id=f"s{i}", stage="sampler",
                     stage_version="v")  # fmt: skip
    sample = Sample(meta=meta, style=QueryStyle.PARALLEL_MULTIPLE, tools=tools)
    names = ["virtual_g" if s else "real_f" for s in simulated]
    return SemanticPass(
        meta=meta.child("semantic", "v1", "0"),
        sample=sample,
        model="m",
        pair_index=0,
        query=query,
        calls=tuple(Call(n, {"x": k}) for k, n in enumerate(names)),
        results=tuple(CallResult(ok=True, result=k, simulated=s) for k, s in enumerate(simulated)),
        judgement=Judgement(passed=True),
    )


def test_events_written_before_the_field_read_as_real_executions() -> None:
    meta = EventMeta(id="e", parent_id=None, sample_id="e", stage="execution", stage_version="v")
    event = ExecPass(
        meta=meta,
        sample=Sample(meta=meta, style=QueryStyle.SIMPLE, tools=(_tool("f", "c"),)),
        model="m",
        pair_index=0,
        query="q",
        calls=(Call("f", {"x": 1}),),
        results=(CallResult(ok=True, result=1, simulated=True),),
    )
    assert decode(encode(event), ExecPass).results[0].simulated is True
    old = orjson.loads(encode(event))
    del old["results"][0]["simulated"]
    assert decode(orjson.dumps(old), ExecPass).results[0].simulated is False


def test_records_and_card_tell_real_from_virtual_executions(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    store.add_many(
        [
            _verified(1, "add two numbers for me", (False,)),
            _verified(2, "price the bond and add", (True, False)),
            _verified(3, "price three bonds now", (True, True, True)),
        ]
    )
    records = {r.query: r for r in store.records()}
    assert records["price the bond and add"].simulated == [True, False]
    assert records["price the bond and add"].call_categories == ["Finance", "Mathematics"]
    assert records["add two numbers for me"].virtual_calls == 0
    paths = export_dataset(store, tmp_path / "out")
    card = paths["card"].read_text()
    assert "**Virtual executions: 4 of 6 calls were answered by virtual APIs**" in card
    assert "| Finance | 0 | 4 |" in card and "| Mathematics | 2 | 0 |" in card
    assert "| **all** | 2 | 4 |" in card
    table = pq.read_table(paths["parquet"]).to_pylist()
    assert sorted(row["virtual_calls"] for row in table) == [0, 1, 3]
    openai = [json.loads(line) for line in paths["openai"].read_text().splitlines()]
    assert sorted(r.get("virtual_calls", 0) for r in openai) == [0, 1, 3]
    xlam = [json.loads(line) for line in paths["xlam"].read_text().splitlines()]
    assert all(set(row) == {"id", "query", "tools", "answers"} for row in xlam)
    store.close()


def test_a_real_only_dataset_says_so_and_keeps_its_files(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    store.add(_verified(1, "add two numbers for me", (False, False)))
    paths = export_dataset(store, tmp_path / "out")
    card = paths["card"].read_text()
    assert "Virtual executions:" not in card and "| **all** | 2 | 0 |" in card
    assert "virtual_calls" not in paths["openai"].read_text()
    store.close()


def test_a_store_from_before_the_column_is_upgraded_and_reads_as_real(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = DatasetStore(path, near_threshold=0)
    store.add(_verified(1, "add two numbers for me", (True,)))
    store.close()
    with sqlite3.connect(path) as db:  # as an older build left it: no executions column
        db.execute("ALTER TABLE records DROP COLUMN executions")
    reopened = DatasetStore(path, near_threshold=0)
    (record,) = reopened.records()
    assert record.simulated == [False] and record.call_categories == [""]
    reopened.add(_verified(2, "price three bonds now", (True,)))
    assert sorted(r.virtual_calls for r in reopened.records()) == [0, 1]
    reopened.close()


def _toolbench_like_spec() -> ApiSpec:
    return ApiSpec.create(
        name="getorderbyid_for_petstoreratelimit",
        description="For valid response try integer IDs with value >= 1 and <= 10.",
        parameters={
            "type": "object",
            "properties": {"orderid": {"type": "number", "title": "orderId"}},
            "required": ["orderid"],
        },
        returns=json.dumps({"code": "int", "type": "str", "message": "str"}),
        source="toolbench:Advertising/PetstoreRateLimit",
    )


async def test_the_simulated_endpoint_answers_virtual_api_prompts(tmp_path: Path) -> None:
    """The LLM client against the real simulated endpoint (aiohttp, a real socket) is a
    simulator as the executor takes it: answers in the template, counted, then stored."""
    async with run_simulator(SimulatorConfig(seed=3)) as sim:
        endpoint = LlmEndpoint(
            name="virtual-apis-probe", base_url=sim.base_url, model="sim",
            price_input_per_mtok=2.0, price_output_per_mtok=8.0,
        )  # fmt: skip
        async with LlmClient(endpoint) as client:
            virtual = VirtualExecutor(client, cache=VirtualCache(tmp_path / "v.db"))
            first = await virtual.execute(_toolbench_like_spec(), {"orderid": 3})
            again = await virtual.execute(_toolbench_like_spec(), {"orderid": 3.0})
            await virtual.aclose()
        stats = sim.stats.to_dict()
    assert first.ok and first.simulated and set(first.result) == {"code", "type", "message"}
    assert again.cached and again.result == first.result
    assert client.stats.calls == 1
    assert stats["outcomes"].get("ok") == 1
    # Cost is accounted like the generator's: by the client, and in the executor's stats.
    assert virtual.stats.cost_usd == pytest.approx(client.stats.cost_usd) and client.stats.cost_usd
    labels = {"endpoint": "virtual-apis-probe", "model": "sim"}
    assert _value("apigen_llm_cost_usd_total", **labels) == pytest.approx(client.stats.cost_usd)


# -- runs over the ToolBench catalogue: no API there has a binding ---------------------------


def _value(name: str, **labels: str) -> float:
    """The sum of ``name``'s samples that have ``labels`` (over stages and versions)."""
    return sum(
        s.value
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def _virtual_counts() -> dict[str, float]:
    return {
        "hits": _value("apigen_virtual_api_cache_requests_total", result="hit"),
        "misses": _value("apigen_virtual_api_cache_requests_total", result="miss"),
        "requests": _value("apigen_virtual_api_simulator_requests_total"),
    }


def _toolbench_run(tmp_path: Path, name: str, **overrides: Any) -> PipelineConfig:
    return PipelineConfig(
        out=tmp_path / name,
        samples=16,
        partitions=2,
        seed=11,
        feedback=False,
        api_sources=(str(shared("toolbench/tools.jsonl")),),
        generators=(ModelConfig(kind="simulated"),),
        judges=(ModelConfig(kind="simulated", seed=1),),
        virtual_apis=VirtualApisConfig(enabled=True, cache=tmp_path / "virtual-apis.db"),
    ).with_overrides(**overrides)


def _executions(out: Path) -> list[tuple[str, list[bool]]]:
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        return [(r.id, r.simulated) for r in store.records()]
    finally:
        store.close()


async def test_toolbench_runs_execute_through_virtual_apis_repeat_from_the_store_and_replay(
    tmp_path: Path,
) -> None:
    before = _virtual_counts()
    first = await run_pipeline(_toolbench_run(tmp_path, "first"))
    after_first = _virtual_counts()
    records = _executions(tmp_path / "first")
    assert first.records > 0 and len(records) == first.records
    assert all(all(flags) for _, flags in records)  # every call answered virtually
    card = (tmp_path / "first" / "README.md").read_text()
    calls = sum(len(flags) for _, flags in records)
    assert calls > 0
    assert "calls were answered by virtual APIs" in card and f"| **all** | 0 | {calls} |" in card
    assert not {r for (stage, r) in first.progress.rejected if stage == "execution"} & {
        "no_binding",
        "simulator_error",
        "virtual_bad_response",
    }
    simulated = after_first["requests"] - before["requests"]
    assert _value("apigen_llm_calls_total", endpoint="virtual-apis", model="simulated-apigen") >= (
        simulated
    )
    assert simulated > 0 and after_first["misses"] > before["misses"]
    answers = len(VirtualCache(tmp_path / "virtual-apis.db"))
    assert answers > 0

    # The same run again (same seed, a new directory): every call is answered from the store.
    second = await run_pipeline(_toolbench_run(tmp_path, "second"))
    after_second = _virtual_counts()
    assert after_second["requests"] == after_first["requests"]  # the simulator is not asked
    assert after_second["hits"] - after_first["hits"] >= calls
    assert len(VirtualCache(tmp_path / "virtual-apis.db")) == answers
    assert sorted(_executions(tmp_path / "second")) == sorted(records)
    assert second.records == first.records

    # A replay of the execution stage over the first run's log reproduces every verdict.
    config = _toolbench_run(tmp_path, "first")
    transport = open_transport(config)
    try:
        async with AsyncExitStack() as stack:
            stages = await build_replay_stages(
                config, stack, "execution", "virtual-replay", use_cache=False
            )
            result = await replay(transport, stages)
        live = await read_outcomes(transport, None, "execution")
        replayed = await read_outcomes(transport, result.version, "execution")
    finally:
        await transport.aclose()
    assert live and {k: o.reason for k, o in live.items()} == {
        k: o.reason for k, o in replayed.items()
    }
    assert _virtual_counts()["requests"] == after_first["requests"]


async def test_virtual_apis_are_off_unless_turned_on(tmp_path: Path) -> None:
    config = _toolbench_run(tmp_path, "off", virtual_apis=VirtualApisConfig())
    with pytest.raises(ConfigError, match=r"no executable API.*--virtual-apis"):
        await run_pipeline(config)


def test_the_virtual_apis_table_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "apigen.toml"
    path.write_text(
        '[virtual_apis]\nenabled = true\ncache = "answers.db"\nmax_attempts = 2\n'
        '[virtual_apis.simulator]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "m"\nrequests_per_minute = 60\n'
    )
    virtual = load_config(path).virtual_apis
    assert virtual.enabled and virtual.cache == tmp_path / "answers.db"
    assert virtual.max_attempts == 2 and virtual.simulator is not None
    assert virtual.simulator.requests_per_minute == 60
    assert load_config(tmp_path / "apigen.toml").virtual_apis != VirtualApisConfig()
    for body, problem in [
        ("[virtual_apis]\nenabled = 1\n", "virtual_apis.enabled: expected bool"),
        ("[virtual_apis]\nmax_attempts = 0\n", "max_attempts and max_tokens must be at least 1"),
        ("[virtual_apis]\nsimulate = true\n", "unknown field(s) ['simulate']"),
        ("[virtual_apis.simulator]\nkind = 'gpt'\n", "virtual_apis.simulator.kind"),
        ("virtual_apis = 3\n", "expected a table"),
    ]:
        path.write_text(body)
        with pytest.raises(ConfigError, match=re.escape(problem)):
            load_config(path)
    assert PipelineConfig().virtual_apis.enabled is False


def test_apigen_run_with_virtual_apis_on_a_catalogue_nothing_can_call(tmp_path: Path) -> None:
    """The real CLI: what ends in 'no executable API' without the flag runs with it."""
    catalogue = tmp_path / "tools.jsonl"
    tool = {"category_name": "Data", "tool_name": "Quotes", "api_list": [
        {"api_name": "random quote", "api_description": "A random quote.", "method": "GET",
         "required_parameters": [{"name": "topic", "type": "STRING", "description": "Topic"}],
         "optional_parameters": [],
         "template_response": {"quote": "str", "author": "str", "year": "int"}}]}  # fmt: skip
    catalogue.write_text(json.dumps(tool) + "\n", encoding="utf-8")
    apigen = Path(sys.executable).with_name("apigen")
    out = tmp_path / "out"
    done = subprocess.run(
        [str(apigen), "run", "--simulate", "--samples", "6", "--apis", str(catalogue),
         "--virtual-apis", "--no-feedback", "--out", str(out)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    records = _executions(out)
    assert records and all(all(flags) for _, flags in records)
    assert "| Data | 0 |" in (out / "README.md").read_text()
    assert len(VirtualCache(out / "virtual-apis.db")) > 0


# -- apigen check on a dataset of ToolBench-style calls --------------------------------------


def _openai_record(rid: str, query: str, tool: dict[str, Any], arguments: Any) -> dict[str, Any]:
    name = tool["function"]["name"]
    call = {"id": "c0", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip
    return {
        "id": rid,
        "messages": [
            {"role": "user", "content": query},
            {"role": "assistant", "content": None, "tool_calls": [call]},
        ],
        "tools": [tool],
    }


def _toolbench_dataset(path: Path) -> int:
    """A real-call record, ToolBench-style records, and one whose call makes no sense."""
    import random

    from executors._virtual_prompt import response_template
    from executors.converters.toolbench import convert_toolbench_file
    from streamer.llm._simdata import sample_arguments

    gcd = {"type": "function", "function": {
        "name": "math_gcd", "description": "Greatest common divisor.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"},
                       "b": {"type": "integer"}}, "required": ["a", "b"]}}}  # fmt: skip
    records = [_openai_record("real-gcd", "GCD of 36 and 48?", gcd, {"a": 36, "b": 48})]
    report = convert_toolbench_file(shared("toolbench/tools.jsonl"))
    specs = [s for s in report.specs if response_template(s) is not None and s.required][:12]
    rng = random.Random(3)
    for i, spec in enumerate(specs):
        arguments = sample_arguments(spec.parameters, rng)
        records.append(_openai_record(f"tb-{i}", f"Use {spec.name}.", spec.to_openai_tool(),
                                      arguments))  # fmt: skip
    blank = ApiSpec.create(
        name="search_for_quotes",
        description="Search quotes.",
        parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    )
    records.append(_openai_record("tb-blank", "Search quotes.", blank.to_openai_tool(),
                                  {"q": " "}))  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return len(specs)


def _check(*args: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    apigen = Path(sys.executable).with_name("apigen")
    done = subprocess.run(
        [str(apigen), "check", *map(str, args), "--summary-json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return lines[:-1], lines[-1]["summary"]


def test_apigen_check_reports_real_virtual_and_not_executable_counts(tmp_path: Path) -> None:
    dataset = tmp_path / "toolbench.jsonl"
    n = _toolbench_dataset(dataset)
    _, without = _check(dataset)
    assert "executions" not in without and without["not_run"] == {"no_function": n + 1}
    cache = tmp_path / "answers.db"
    results, summary = _check(
        dataset, "--virtual-apis", "--virtual-simulated", "--virtual-cache", cache
    )
    assert summary["executions"] == {"real": 1, "virtual": n + 1, "not_executable": 0}
    by_id = {r["id"]: r for r in results}
    assert by_id["real-gcd"]["executed"] == "real" and by_id["real-gcd"]["verdict"] == "pass"
    assert by_id["tb-blank"]["executed"] == "virtual"
    assert (by_id["tb-blank"]["verdict"], by_id["tb-blank"]["reason"]) == (
        "fail", "virtual_api_error"
    )  # fmt: skip
    virtual_passes = [r for r in results if r["id"].startswith("tb-") and r["verdict"] == "pass"]
    assert len(virtual_passes) >= n - 2, results
    # Checked again on the same store: the same verdicts, every answer from the store.
    answers = len(VirtualCache(cache))
    again, _ = _check(dataset, "--virtual-apis", "--virtual-simulated", "--virtual-cache", cache)
    assert [(r["id"], r["verdict"], r["reason"]) for r in again] == [
        (r["id"], r["verdict"], r["reason"]) for r in results
    ]
    assert len(VirtualCache(cache)) == answers
