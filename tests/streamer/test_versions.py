"""Stage versions: every knob that decides a stage's outputs re-versions it, nothing else
does, the live pipeline and a replay agree on one config, a judge prompt changed from TOML
replays into the expected flips, and a verified pair records every stage it passed."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from executors import ApiLibrary, PythonBinding
from streamer.pipeline._build import build_stage, load_library, make_sampler
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._model_config import ConfigError, ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.pipeline._versions import (
    VERSION_NAMES,
    execution_config,
    generator_config,
    library_digest,
    semantic_config,
)
from streamer.prompts import JUDGE, extract_block
from streamer.replay._diff import diff_versions
from streamer.replay._replay import REPLAYABLE, build_replay_stages, replay, run_bounded
from streamer.runtime._runner import RunnerSettings
from streamer.stages import FormatRules, SemanticRules
from topics import (
    EmbeddedTransport,
    Message,
    SemanticPass,
    Topic,
    TopicPartition,
    Transport,
    decode,
    encode,
)

from .http_server import serve_posts
from .test_replay import executed

pytestmark = pytest.mark.anyio

SIM = ModelConfig(kind="simulated", seed=1)
BASE = PipelineConfig(generators=(SIM,), judges=(dataclasses.replace(SIM, seed=2),))
SECRET = "sk-do-not-record-0123456789"


async def _version(name: str, config: PipelineConfig) -> str:
    async with AsyncExitStack() as stack:
        return (await build_stage(name, config, stack)).version


def _with_judge(**changes: Any) -> PipelineConfig:
    return dataclasses.replace(BASE, judges=(dataclasses.replace(BASE.judges[0], **changes),))


def _with_generator(**changes: Any) -> PipelineConfig:
    return dataclasses.replace(BASE, generators=(dataclasses.replace(SIM, **changes),))


def _judge_file(tmp: Path, extra: str) -> Path:
    path = tmp / f"judge-{uuid.uuid4().hex[:6]}.txt"
    path.write_text(JUDGE.user + extra)
    return path


IRRELEVANT: dict[str, PipelineConfig] = {
    "log path": BASE.with_overrides(log_path=Path("/tmp/elsewhere.db")),
    "metrics": BASE.with_overrides(metrics_port=9464, metrics_host="0.0.0.0"),
    "concurrency": BASE.with_overrides(concurrency=3, python_workers=1, max_outstanding=7),
    "partitions": BASE.with_overrides(partitions=9),
}


@pytest.mark.parametrize("stage", ["generator", "format", "execution", "semantic"])
async def test_irrelevant_knobs_keep_every_version(stage: str) -> None:
    base = await _version(stage, BASE)
    for what, config in IRRELEVANT.items():
        assert await _version(stage, config) == base, what


async def test_generator_knobs_change_its_version() -> None:
    base = await _version("generator", BASE)
    changed = {
        "model": _with_generator(model="simulated-other"),
        "seed": _with_generator(seed=7),
        "corruption": _with_generator(corrupt={"unknown_function": 0.1}),
        "name": _with_generator(name="renamed"),
        "second model": dataclasses.replace(BASE, generators=(SIM, dataclasses.replace(SIM))),
    }
    versions = {what: await _version("generator", c) for what, c in changed.items()}
    assert all(v != base for v in versions.values()), versions
    assert len(set(versions.values())) == len(versions)
    weighted = dataclasses.replace(BASE, generators=(SIM, dataclasses.replace(SIM, weight=3.0)))
    assert await _version("generator", weighted) != versions["second model"]
    # Speed and cost settings of the model do not re-version it.
    same = _with_generator(latency_ms=50, max_concurrency=2, timeout_s=1, price_input_per_mtok=3)
    assert await _version("generator", same) == base


async def test_format_rules_change_its_version() -> None:
    base = await _version("format", BASE)
    for rules in (FormatRules(min_parallel_calls=3), FormatRules(max_query_chars=10)):
        assert await _version("format", BASE.with_overrides(format_rules=rules)) != base


async def test_execution_knobs_change_its_version() -> None:
    base = await _version("execution", BASE)
    assert await _version("execution", BASE.with_overrides(exec_timeout_s=1.5)) != base
    builtin = ApiLibrary.builtin()
    spec = next(s for s in builtin if isinstance(s.binding, PythonBinding))
    assert isinstance(spec.binding, PythonBinding)
    moved = dataclasses.replace(spec.binding, function=spec.binding.function + "_v2")
    rebound = ApiLibrary(
        [dataclasses.replace(s, binding=moved) if s is spec else s for s in builtin]
    )
    assert library_digest(rebound) != library_digest(builtin)
    assert library_digest(ApiLibrary(list(builtin))) == library_digest(builtin)
    assert execution_config(BASE, rebound) != execution_config(BASE, builtin)


async def test_semantic_knobs_change_its_version(tmp_path: Path) -> None:
    base = await _version("semantic", BASE)
    three = dataclasses.replace(BASE, judges=(SIM, dataclasses.replace(SIM, seed=3), SIM))
    changed = {
        "judge model": _with_judge(model="simulated-judge-xl"),
        "judge seed": _with_judge(seed=9),
        "judge endpoint behind a name": _with_judge(
            kind="openai", name="judge", base_url="http://127.0.0.1:9/v1", model="m"
        ),
        "batch": BASE.with_overrides(judge_batch=3),
        "max tokens": BASE.with_overrides(judge_max_tokens=64),
        "temperature": BASE.with_overrides(judge_temperature=0.3),
        "rules": BASE.with_overrides(semantic_rules=SemanticRules(max_ungrounded=0.2)),
        "compact prompt": BASE.with_overrides(judge_prompt="compact"),
        "prompt file": BASE.with_overrides(judge_prompt=str(_judge_file(tmp_path, "\nBe strict."))),
        "three judges": three,
        "quorum": three.with_overrides(judge_quorum=3),
    }
    versions = {what: await _version("semantic", c) for what, c in changed.items()}
    assert all(v != base for v in versions.values()), versions
    assert len(set(versions.values())) == len(versions), versions
    # The base_url differs, the name stays: still a new version.
    other_url = _with_judge(
        kind="openai", name="judge", base_url="http://127.0.0.1:10/v1", model="m"
    )
    assert await _version("semantic", other_url) != versions["judge endpoint behind a name"]
    # Without a name the model string is the identity: a moved endpoint keeps the version.
    unnamed = [
        _with_judge(kind="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m")
        for port in (9, 10)
    ]
    assert await _version("semantic", unnamed[0]) == await _version("semantic", unnamed[1])
    # "full" is the default for simulated judges; a file's content, not its path, counts.
    assert await _version("semantic", BASE.with_overrides(judge_prompt="full")) == base
    twin = _judge_file(tmp_path, "\nBe strict.")
    twin_version = await _version("semantic", BASE.with_overrides(judge_prompt=str(twin)))
    assert twin_version == versions["prompt file"]
    assert (
        await _version("semantic", three.with_overrides(judge_quorum=2)) == versions["three judges"]
    )


async def test_no_secret_and_no_key_name_is_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIGEN_TEST_JUDGE_KEY", SECRET)
    keyed = _with_judge(api_key_env="APIGEN_TEST_JUDGE_KEY")
    gen = _with_generator(api_key_env="APIGEN_TEST_JUDGE_KEY")
    blobs = orjson.dumps([semantic_config(keyed), generator_config(gen)]).decode()
    assert SECRET not in blobs and "APIGEN_TEST_JUDGE_KEY" not in blobs
    assert await _version("semantic", keyed) == await _version("semantic", BASE)
    assert await _version("generator", gen) == await _version("generator", BASE)


async def test_live_pipeline_and_replay_compute_the_same_versions(tmp_path: Path) -> None:
    config = BASE.with_overrides(
        out=tmp_path,
        exec_timeout_s=2.5,
        judge_batch=4,
        judge_prompt=str(_judge_file(tmp_path, "\nBe strict.")),
        format_rules=FormatRules(min_parallel_calls=3),
        semantic_rules=SemanticRules(max_ungrounded=0.3),
    )
    live = {name: await _version(name, config) for name in REPLAYABLE}
    async with AsyncExitStack() as stack:
        for name in REPLAYABLE:
            (same,) = await build_replay_stages(config, stack, name, VERSION_NAMES[name])
            assert same.version == live[name]
            renamed = await build_replay_stages(config, stack, name, "strict-v2", downstream=True)
            assert renamed[0].version == f"strict-v2-{live[name].rsplit('-', 1)[1]}"
            assert [s.version for s in renamed[1:]] == [live[s.name] for s in renamed[1:]]
    # The execution version covers what it runs: a replay over another config differs.
    async with AsyncExitStack() as stack:
        (other,) = await build_replay_stages(
            config.with_overrides(exec_timeout_s=3.0), stack, "execution", "execution-v1"
        )
    assert other.version != live["execution"]


# -- a judge prompt changed from TOML, replayed --------------------------------------------

WORD = re.compile(r"Fail any sample whose query says '(\w+)'")
N = 240


@asynccontextmanager
async def prompt_following_judge() -> AsyncIterator[tuple[str, list[str]]]:
    """An OpenAI-compatible endpoint whose judge fails a sample when the prompt names a
    word its query holds (so only the prompt decides); yields its URL and the user texts."""
    seen: list[str] = []

    async def complete(request: web.Request) -> web.Response:
        body = await request.json()
        user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        seen.append(user)
        word = WORD.search(user)
        samples = orjson.loads(extract_block(user, "samples") or "[]")
        verdicts = [
            {
                "index": s["index"],
                "passed": not (word and word.group(1) in s["query"]),
                "reasoning": "per the prompt",
            }
            for s in samples
        ]
        content = orjson.dumps({"verdicts": verdicts}).decode()
        answer = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "prompt-judge",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
        return web.json_response(answer)

    async with serve_posts({"/v1/chat/completions": complete}) as base:
        yield f"{base}/v1", seen


def _toml(tmp: Path, url: str, extra: str = "") -> Path:
    path = tmp / f"apigen-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(
        f'out = "{tmp}"\n[[judges]]\nkind = "openai"\nname = "prompt-judge"\n'
        f'base_url = "{url}"\nmodel = "prompt-judge"\n[judge]\nbatch = 16\n{extra}'
    )
    return path


async def test_a_judge_prompt_changed_in_toml_replays_into_the_expected_flips(
    tmp_path: Path,
) -> None:
    settings = RunnerSettings(commit_interval_s=0.1)
    (tmp_path / "strict.txt").write_text(
        JUDGE.user + "\nFail any sample whose query says 'approx'.\n"
    )
    transport = EmbeddedTransport(tmp_path / "log.db")
    try:
        await transport.create_topics(list(map(str, Topic)), 2)
        events = [executed(i, ["approx", "exactly", "roughly"][i % 3]) for i in range(N)]
        async with transport.producer() as producer:
            await producer.produce(
                [Message(Topic.EXEC_PASS, encode(e), key=e.meta.sample_id.encode()) for e in events]
            )
        async with prompt_following_judge() as (url, seen), AsyncExitStack() as stack:
            live_cfg = load_config(_toml(tmp_path, url))
            strict_cfg = load_config(_toml(tmp_path, url, 'prompt = "strict.txt"\n'))
            assert strict_cfg.judge_prompt == str((tmp_path / "strict.txt").resolve())
            live = await build_stage("semantic", live_cfg, stack)
            await run_bounded(
                live, transport, group="semantic", input_topic=Topic.EXEC_PASS, settings=settings
            )
            assert not any(WORD.search(u) for u in seen), "the live prompt named a word"
            (strict,) = await build_replay_stages(strict_cfg, stack, "semantic", "strict-judge")
            result = await replay(transport, [strict], settings=settings)
            assert any(WORD.search(u) for u in seen), "the replay did not use the file"
        assert result.version == strict.version != live.version
        report = await diff_versions(transport, "live", result.version)
        (sem,) = report.stages
        assert sem.stage == "semantic" and sem.compared == N
        assert sem.pass_to_fail == Counter({"judge_rejected": N // 3})
        assert not sem.fail_to_pass
        assert (sem.unchanged_pass, sem.unchanged_fail) == (N - N // 3, 0)
    finally:
        await transport.aclose()


def test_a_bad_judge_prompt_in_toml_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("Grade {samples} by {mood}.")
    (tmp_path / "empty.txt").write_text("No placeholder here.")
    for name, reason in (("bad.txt", "bad_template"), ("empty.txt", "bad_template")):
        config = _toml(tmp_path, "http://127.0.0.1:9/v1", f'prompt = "{name}"\n')
        with pytest.raises(ConfigError, match=rf"{config}: judge\.prompt: .*{name}.*{reason}"):
            load_config(config)
    missing = _toml(tmp_path, "http://127.0.0.1:9/v1", 'prompt = "nowhere.txt"\n')
    with pytest.raises(ConfigError, match=r"judge\.prompt: .*nowhere\.txt.*unreadable"):
        load_config(missing)


# -- every stage a verified pair passed is recorded ----------------------------------------


async def _read_all(transport: Transport, topic: str) -> list[bytes]:
    partitions = (await transport.list_topics())[topic]
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    values: list[bytes] = []
    async with transport.consumer([topic], f"probe-{uuid.uuid4().hex}") as consumer:
        ends = await consumer.end_offsets(tps)
        seen = dict.fromkeys(tps, 0)
        while any(seen[tp] < ends[tp] for tp in tps):
            for r in await consumer.poll(1000, 0.5):
                if r.offset < ends[r.tp]:
                    values.append(r.value)
                seen[r.tp] = max(seen[r.tp], r.offset + 1)
    return values


async def test_a_verified_pair_records_the_version_of_every_stage_it_passed(
    tmp_path: Path,
) -> None:
    config = BASE.with_overrides(out=tmp_path, samples=30, feedback=False, partitions=2)
    summary = await run_pipeline(config)
    assert summary.records > 0
    expected = {"sampler": make_sampler(config, load_library(config)).version}
    for name in ("generator", "format", "execution", "semantic"):
        expected[name] = await _version(name, config)
    transport = EmbeddedTransport(config.embedded_log)
    try:
        passed = [decode(v, SemanticPass) for v in await _read_all(transport, Topic.SEMANTIC_PASS)]
    finally:
        await transport.aclose()
    assert len(passed) >= summary.records
    for event in passed:
        assert isinstance(event, SemanticPass)
        assert [stage for stage, _ in event.meta.versions] == list(expected)
        assert dict(event.meta.versions) == expected
