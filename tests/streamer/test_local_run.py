"""A run on the local model: easy tasks, compact prompts, models chosen by name, and the
README's first command.

The compact prompts are checked against the rules the pipeline applies (their worked
examples must pass the grounding rule and fit the schema they teach) and against the real
simulated endpoint over HTTP; the last test runs ``apigen run`` with the real default
model as a subprocess.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from executors import ApiLibrary, ApiSpec
from streamer.cli._app import app
from streamer.llm import LlmClient, LlmEndpoint, SimulatorConfig, run_simulator
from streamer.llm._local import DEFAULT_LOCAL_MODELS, LOCAL_MODELS, local_model
from streamer.pipeline._build import make_sampler
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._local_run import LOCAL_RUN, all_local
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._versions import generator_models, judge_models
from streamer.prompts import (
    COMPACT_GENERATION,
    COMPACT_JUDGING,
    FULL_GENERATION,
    GENERATOR_COMPACT,
    JudgeItem,
    extract_block,
)
from streamer.prompts._compact import QUERY_CHARS, REASONING_CHARS, RESULT_CHARS
from streamer.stages import FormatChecker, Generator, SemanticRules, rule_check
from topics import Call, CallResult, ExecPass, FormatPass, Generation, QueryStyle, Sample, Tool

from .factories import sample
from .llm_tools import TOOLS, WEATHER
from .test_local_model import model_path

__all__ = ["model_path"]

runner = CliRunner()

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def library() -> ApiLibrary:
    return ApiLibrary.builtin()


def _spec(library: ApiLibrary, api_id: str) -> ApiSpec:
    return library.by_id(api_id)


def test_local_run_asks_for_simple_tasks_on_easy_apis(library: ApiLibrary) -> None:
    local = make_sampler(PipelineConfig(), library)  # no generators: the local model
    samples = [local.next_sample() for _ in range(60)]
    assert {s.style for s in samples} == {QueryStyle.SIMPLE}
    for s in samples:
        (tool,) = s.tools
        assert LOCAL_RUN.offers(_spec(library, tool.api_id)), tool.api_id
        assert s.settings.max_tokens == LOCAL_RUN.max_tokens
    assert len({s.tools[0].name for s in samples}) > 30  # still a spread of APIs
    simulated = PipelineConfig(generators=(ModelConfig(kind="simulated"),))
    mixed = make_sampler(simulated, library)
    assert len({mixed.next_sample().style for _ in range(30)}) == len(QueryStyle)


def test_easy_apis_have_few_scalar_parameters(library: ApiLibrary) -> None:
    assert LOCAL_RUN.offers(_spec(library, "python:biology:gc_content"))
    assert not LOCAL_RUN.offers(_spec(library, "python:calculus:evaluate_polynomial"))  # array
    assert not LOCAL_RUN.offers(_spec(library, "python:calculus:definite_integral"))  # 3 params
    offered = [s for s in library if s.binding is not None and LOCAL_RUN.offers(s)]
    assert 50 < len(offered) < len(library)
    assert all_local([ModelConfig(kind="local")])
    assert not all_local([ModelConfig(kind="local"), ModelConfig(kind="simulated")])
    assert not all_local([])


def test_compact_worked_examples_pass_the_rules_they_teach() -> None:
    messages = COMPACT_GENERATION.render([WEATHER], [], QueryStyle.SIMPLE, 1)
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * 4, "user"]
    for user, answer in zip(messages[1:-1:2], messages[2:-1:2], strict=True):
        shot_tools = json.loads(extract_block(user["content"], "tools") or "")
        (pair,) = json.loads(answer["content"])["pairs"]
        assert list(pair) == ["answers", "query"]  # the order the schema enforces
        event = _exec_pass(pair["query"], pair["answers"], shot_tools)
        assert rule_check(event, SemanticRules()) is None, pair


def test_compact_judge_shots_fit_the_schema_they_teach() -> None:
    messages = COMPACT_JUDGING.render([JudgeItem("q", (), ())])
    shots = list(zip(messages[1:-1:2], messages[2:-1:2], strict=True))
    assert len(shots) == 4
    decisions = []
    for user, answer in shots:
        assert len(json.loads(extract_block(user["content"], "samples") or "")) == 1
        verdict = json.loads(answer["content"])
        jsonschema.validate(verdict, COMPACT_JUDGING.schema(1))
        decisions.append(verdict["verdicts"][0]["passed"])
    assert sorted(decisions) == [False, False, True, True]  # as many yes as no


def test_default_local_models_are_named_in_the_versions() -> None:
    (generator,) = generator_models(PipelineConfig())
    (judge,) = judge_models(PipelineConfig())
    assert (generator.kind, generator.model) == ("local", DEFAULT_LOCAL_MODELS["generator"])
    assert (judge.kind, judge.model) == ("local", DEFAULT_LOCAL_MODELS["judge"])
    chosen = PipelineConfig(generators=(ModelConfig(kind="local", model="smollm2-135m"),))
    assert judge_models(chosen) == chosen.generators  # the generator judges unless told


def test_run_with_an_unknown_local_model_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "apigen.toml"
    config.write_text('[[generators]]\nkind = "local"\nmodel = "gpt-5"\n')
    result = runner.invoke(
        app, ["run", "--config", str(config), "--samples", "1", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "gpt-5" in result.output and "unknown_local_model" in result.output
    for name in LOCAL_MODELS:
        assert name in result.output


def _exec_pass(query: str, answers: list[Any], tools: list[Any]) -> ExecPass:
    """An executed pair with clean results, for the semantic rules."""
    fns = [t["function"] for t in tools]
    s = sample(
        QueryStyle.SIMPLE, *(Tool(f["name"], f["description"], f["parameters"]) for f in fns)
    )
    calls = tuple(Call(a["name"], a["arguments"]) for a in answers)
    meta = s.meta.child("generator", "v", "0").child("format", "v", "0")
    return ExecPass(
        meta=meta.child("execution", "v"),
        sample=s,
        model="m",
        pair_index=0,
        query=query,
        calls=calls,
        results=tuple(CallResult(ok=True, result="fine") for _ in calls),
    )


def test_compact_prompt_is_shorter_and_versioned() -> None:
    compact = COMPACT_GENERATION.render([WEATHER], [], QueryStyle.SIMPLE, 1)
    full = FULL_GENERATION.render([WEATHER], [], QueryStyle.SIMPLE, 1)
    assert len(compact[-1]["content"]) < len(full[-1]["content"]) / 2
    assert extract_block(compact[-1]["content"], "style") == "simple"
    *first, (user, answer) = GENERATOR_COMPACT.shots
    edited = dataclasses.replace(GENERATOR_COMPACT, shots=(*first, (user, answer + " ")))
    assert edited.content_hash != GENERATOR_COMPACT.content_hash
    no_shots = dataclasses.replace(GENERATOR_COMPACT, shots=())
    assert no_shots.content_hash != GENERATOR_COMPACT.content_hash


def test_compact_schema_puts_answers_first_and_bounds_the_query() -> None:
    schema = COMPACT_GENERATION.schema([WEATHER], QueryStyle.SIMPLE, 1)
    pair_schema = schema["properties"]["pairs"]["items"]
    assert list(pair_schema["properties"]) == ["answers", "query"]
    call = {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}
    jsonschema.validate({"pairs": [{"answers": [call], "query": "Oslo, 2 days?"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"pairs": [{"answers": [call], "query": "x" * (QUERY_CHARS + 1)}]}, schema
        )
    judge = COMPACT_JUDGING.schema(1)
    long_reason = {"index": 0, "passed": True, "reasoning": "r" * (REASONING_CHARS + 1)}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"verdicts": [long_reason]}, judge)


def test_compact_judge_cuts_long_results() -> None:
    item = JudgeItem("q", (Call("f", {"a": 1}),), (CallResult(ok=True, result="x" * 5000),))
    user = COMPACT_JUDGING.render([item])[-1]["content"]
    (shown,) = json.loads(extract_block(user, "samples") or "")
    assert len(shown["results"][0]["truncated"]) == RESULT_CHARS


@pytest.mark.anyio
async def test_simulated_endpoint_answers_the_compact_prompts() -> None:
    """The compact prompts keep the blocks the simulator reads; its pairs pass the format
    checker and its judge grades the compact judge prompt."""
    async with run_simulator(SimulatorConfig(seed=3)) as sim:
        endpoint = LlmEndpoint("sim", sim.base_url, "simulated-test")
        async with LlmClient(endpoint) as client:
            generator = Generator([(client, 1.0)], prompt=COMPACT_GENERATION)
            assert generator.version != Generator([(client, 1.0)]).version
            checker = FormatChecker()
            passed = 0
            for i, tool in enumerate(TOOLS):
                task: Sample = sample(QueryStyle.SIMPLE, tool, sid=f"s{i}")
                (out,) = await generator.process(task)
                assert isinstance(out.event, Generation), out.event
                results = await checker.process(out.event)
                passed += sum(isinstance(r.event, FormatPass) for r in results)
            assert passed == len(TOOLS)
            item = JudgeItem(
                "Weather in Oslo?",
                (Call("get_weather", {"city": "Oslo"}),),
                (CallResult(ok=True, result={"t": 3}),),
            )
            verdict = await client.complete_json(
                COMPACT_JUDGING.render([item]), COMPACT_JUDGING.schema(1)
            )
            jsonschema.validate(verdict.parsed, COMPACT_JUDGING.schema(1))


def _apigen() -> list[str]:
    script = Path(sys.executable).with_name("apigen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "streamer"]


@pytest.mark.slow
@pytest.mark.local_model
def test_readme_first_command_verifies_pairs_with_the_local_model(
    model_path: str, tmp_path: Path
) -> None:
    """``apigen run --samples N --out DIR`` on the embedded defaults (the default local model
    as generator and judge, embedded log, built-in library) writes verified pairs and a card
    that names the models which generated and judged them."""
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIGEN_")}
    done = subprocess.run(
        [*_apigen(), "run", "--samples", "8", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (out / "xlam.jsonl").read_text().splitlines()]
    # bench/local_models.py measured 4 of 8 on sampler seeds 0, 2 and 3 with judge v3 (all
    # four right, read by hand); llama.cpp's numbers may differ by a token on another CPU,
    # so the bar leaves one pair of room. Fewer would mean a broken default.
    assert len(records) >= 3, done.stderr[-3000:]
    for record in records:
        (answer,) = json.loads(record["answers"])
        (tool,) = json.loads(record["tools"])
        assert answer["name"] == tool["name"]
        assert record["query"].strip()
    card = (out / "README.md").read_text()
    name = "local/" + Path(local_model(DEFAULT_LOCAL_MODELS["generator"]).file).stem
    judge = "local/" + Path(local_model(DEFAULT_LOCAL_MODELS["judge"]).file).stem
    assert f"- Generated by: {name}" in card
    assert f"- Judged by: {judge}" in card
    assert "## Reject reasons" in card  # the funnel is tabulated


@pytest.mark.slow
@pytest.mark.local_model
def test_multi_turn_with_the_local_model_completes_and_its_card_tells_the_funnel(
    model_path: str, tmp_path: Path
) -> None:
    """``apigen run --multi-turn`` on the default local model finishes (one retail task, no
    refinement, no committee, two user turns at most, so it stays a few model calls), and
    its card reports what the stores hold: the trajectories kept of the tasks, and every
    reject by stage and reason."""
    import sqlite3
    from collections import Counter

    config = tmp_path / "apigen.toml"
    config.write_text(
        '[multi_turn]\nenabled = true\ndomains = ["retail"]\nreviewers = 0\n'
        "max_rounds = 0\nmax_turns = 2\n"
    )
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIGEN_")}
    done = subprocess.run(
        [*_apigen(), "run", "--config", str(config), "--samples", "1", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    card = (out / "README.md").read_text()
    kept = sum(1 for _ in (out / "apigen-mt.jsonl").read_text().splitlines())
    assert f"- Trajectories: **{kept}** of 1 tasks ({1 - kept} rejected for good)" in card
    with sqlite3.connect(out / "dataset.db") as db:
        rejects = Counter(db.execute("SELECT stage, reason FROM outcomes").fetchall())
    assert kept + sum(rejects.values()) == 1  # one task, one end, no refinement
    for (stage, reason), n in rejects.items():
        assert f"| {stage} | {reason} | {n} |" in card
    assert "local/" in card  # the card names the local model that played the parts
