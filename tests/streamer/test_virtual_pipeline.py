"""Virtual APIs in the pipeline: events, dataset records, the card, the simulated endpoint,
and runs over the ToolBench catalogue (whose APIs have no binding) that execute through
virtual APIs, hit the answer store when repeated, and replay to the same verdicts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from executors import ApiSpec, VirtualCache, VirtualExecutor
from streamer._dataset import DatasetStore
from streamer._export import export_dataset
from streamer.llm import LlmClient, LlmEndpoint, SimulatorConfig, run_simulator
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
        endpoint = LlmEndpoint(name="virtual-apis", base_url=sim.base_url, model="sim")
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
