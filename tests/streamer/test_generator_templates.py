"""Several generator templates per style: each keeps the blocks endpoints read back, one is
drawn per task (seeded), the task records which, and the generator renders that one."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamer.dataset._store import DatasetStore
from streamer.llm import LlmClient, LlmEndpoint, run_simulator
from streamer.pipeline._build import load_library, make_sampler, open_transport
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.pipeline._sampler_config import SamplerSettings
from streamer.prompts import (
    FULL_GENERATIONS,
    GENERATOR_COMPACT,
    GENERATOR_TEMPLATES,
    STYLE_TEMPLATES,
    ChatMessage,
    extract_block,
    openai_tool,
    render_generation,
)
from streamer.stages import FormatChecker, Generator, Sampler, SamplerConfig, StyleController
from topics import (
    FormatPass,
    Generation,
    QueryStyle,
    Sample,
    SemanticPass,
    Topic,
    TopicPartition,
    decode,
)

from .factories import sample, tool
from .fakes import FakeModel

SIMULATED = (ModelConfig(kind="simulated"),)
JUDGE = (ModelConfig(kind="simulated", seed=1),)
TOOLS = [tool(f"f{i}", category=c) for i, c in enumerate(("math", "text", "geo") * 3)]


@pytest.mark.parametrize("template_id", sorted(GENERATOR_TEMPLATES))
@pytest.mark.parametrize("style", list(QueryStyle))
def test_every_template_carries_the_blocks_for_every_style(
    template_id: str, style: QueryStyle
) -> None:
    tools = TOOLS[:2]
    [system, user] = render_generation(
        tools, [], style, 3, template=GENERATOR_TEMPLATES[template_id]
    )
    text = user["content"]
    assert orjson.loads(extract_block(text, "tools") or "") == [openai_tool(t) for t in tools]
    assert orjson.loads(extract_block(text, "examples") or "") == []
    assert extract_block(text, "style") == style.value
    assert extract_block(text, "pairs") == "3"
    assert system["content"]


def test_each_style_has_several_versioned_templates() -> None:
    for style in QueryStyle:
        assert len(STYLE_TEMPLATES[style]) >= 3
    versions = {t.stage_version for t in GENERATOR_TEMPLATES.values()}
    assert len(versions) == len(GENERATOR_TEMPLATES)


def test_a_template_is_drawn_per_task_reproducibly_and_recorded() -> None:
    def draws(seed: int) -> list[tuple[QueryStyle, str, str]]:
        sampler = Sampler(TOOLS, SamplerConfig(seed=seed))
        tasks = [sampler.next_sample() for _ in range(300)]
        return [(s.style, s.template_id, s.template_version) for s in tasks]

    first = draws(5)
    assert first == draws(5)
    assert first != draws(6)
    for style in QueryStyle:
        used = {template_id for s, template_id, _ in first if s is style}
        assert used == set(STYLE_TEMPLATES[style])
    for _, template_id, version in first:
        assert version == GENERATOR_TEMPLATES[template_id].stage_version


def test_templates_do_not_shift_the_styles_and_apis_drawn() -> None:
    one = SamplerConfig(
        seed=3, templates={s: (GENERATOR_TEMPLATES["generator"],) for s in QueryStyle}
    )
    many = SamplerConfig(seed=3)
    a, b = Sampler(TOOLS, one), Sampler(TOOLS, many)
    for _ in range(50):
        x, y = a.next_sample(), b.next_sample()
        assert (x.style, x.tools) == (y.style, y.tools)


@pytest.mark.anyio
async def test_the_generator_renders_the_template_the_task_names() -> None:
    seen: list[Sequence[ChatMessage]] = []

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any]) -> Any:
        seen.append(messages)
        return {"pairs": [{"query": "q", "answers": []}]}

    generator = Generator([(FakeModel("m", reply), 1.0)], templates=FULL_GENERATIONS)
    for template_id in ("generator-persona", "generator-scenario", "default"):
        task = sample(QueryStyle.SIMPLE, tool("f"))
        task = Sample(task.meta, task.style, task.tools, template_id=template_id)
        await generator.process(task)
    persona, scenario, default = (m[-1]["content"] for m in seen)
    assert "picture who is asking" in persona
    assert "concrete situation" in scenario
    assert default == render_generation([tool("f")], [], QueryStyle.SIMPLE, 1)[-1]["content"]


@pytest.mark.anyio
async def test_the_simulated_endpoint_answers_every_template() -> None:
    tools = (tool("f0"), tool("f1"))
    async with run_simulator() as sim:
        endpoint = LlmEndpoint("sim", sim.base_url, "simulated-test", timeout_s=5.0)
        async with LlmClient(endpoint) as client:
            generator = Generator([(client, 1.0)], templates=FULL_GENERATIONS)
            checker = FormatChecker()
            for template_id in GENERATOR_TEMPLATES:
                for style in (QueryStyle.SIMPLE, QueryStyle.PARALLEL):
                    base = sample(style, *tools, sid=f"{template_id}-{style}")
                    task = Sample(base.meta, style, tools, template_id=template_id)
                    [out] = await generator.process(task)
                    assert isinstance(out.event, Generation), out.event
                    passed = await checker.process(out.event)
                    assert passed and all(isinstance(o.event, FormatPass) for o in passed), (
                        template_id,
                        passed,
                    )


def test_a_local_run_records_the_compact_prompt_whatever_is_configured() -> None:
    config = PipelineConfig(
        generators=(ModelConfig(kind="local"),),
        sampler=SamplerSettings(templates={QueryStyle.SIMPLE: ("generator-persona",)}),
    )
    sampler = make_sampler(config, load_library(config))
    task = sampler.next_sample()
    assert (task.template_id, task.template_version) == (
        GENERATOR_COMPACT.id,
        GENERATOR_COMPACT.stage_version,
    )


def test_repeated_queries_do_not_count_towards_a_style() -> None:
    controller = StyleController({QueryStyle.SIMPLE: 1.0}, random.Random(0))
    assert controller.record_verified(QueryStyle.SIMPLE, "What is 2 + 2?")
    assert not controller.record_verified(QueryStyle.SIMPLE, "what is 2+2")  # same words
    assert controller.record_verified(QueryStyle.SIMPLE, "What is 3 + 3?")
    assert controller.verified[QueryStyle.SIMPLE] == 2
    assert controller.repeated[QueryStyle.SIMPLE] == 1


def test_a_style_that_only_repeats_cannot_starve_the_others() -> None:
    mix = {QueryStyle.SIMPLE: 0.5, QueryStyle.IRRELEVANCE: 0.5}
    controller = StyleController(mix, random.Random(0))
    picks: Counter[QueryStyle] = Counter()
    for i in range(2000):
        style = controller.choose()
        picks[style] += 1
        query = f"simple query {i}" if style is QueryStyle.SIMPLE else f"irrelevant {i % 5}"
        controller.record_verified(style, query)
    assert controller.verified[QueryStyle.IRRELEVANCE] == 5
    # asked for more than its share (it lags), but not so much that simple stops
    assert 0.15 * 2000 <= picks[QueryStyle.SIMPLE] <= 0.4 * 2000


async def _topic(config: PipelineConfig, topic: Topic, cls: type[Any]) -> list[Any]:
    transport = open_transport(config)
    events: list[Any] = []
    try:
        async with transport.consumer([topic.value], f"probe-{topic.value}") as consumer:
            tps = [TopicPartition(topic.value, p) for p in range(config.partitions)]
            ends = await consumer.end_offsets(tps)
            want = sum(ends.values())
            while len(events) < want:
                events += [decode(r.value, cls) for r in await consumer.poll(1000, 0.5)]
    finally:
        await transport.aclose()
    return events


@pytest.mark.anyio
async def test_the_mix_steers_by_unique_records_when_the_simulator_repeats(
    tmp_path: Path,
) -> None:
    # The simulated endpoint has five irrelevant queries, so most irrelevance pairs repeat
    # one (exact duplicates the store does not keep).
    mix = {QueryStyle.SIMPLE: 1.0, QueryStyle.IRRELEVANCE: 1.0}
    config = PipelineConfig(
        out=tmp_path,
        samples=240,
        max_outstanding=8,
        generators=SIMULATED,
        judges=JUDGE,
        partitions=2,
        sampler=SamplerSettings(style_mix=mix),
    )
    await run_pipeline(config)
    store = DatasetStore(tmp_path / "dataset.db", near_threshold=0)
    try:
        kept = Counter(r.style for r in store.records())
    finally:
        store.close()
    verified = await _topic(config, Topic.SEMANTIC_PASS, SemanticPass)
    irrelevant = [e for e in verified if e.sample.style is QueryStyle.IRRELEVANCE]
    assert kept["irrelevance"] <= 5 < len(irrelevant)
    # What the controller counts is what the store kept, not the verified pairs.
    replayed = make_sampler(config, load_library(config))
    for event in verified:
        replayed.learn(event)
    assert replayed.controller.verified[QueryStyle.IRRELEVANCE] == kept["irrelevance"]
    # So the run kept asking for irrelevance past half of the tasks, and simple went on.
    issued = Counter(s.style for s in await _topic(config, Topic.SAMPLES, Sample))
    assert issued[QueryStyle.IRRELEVANCE] > 0.6 * 240
    assert issued[QueryStyle.SIMPLE] > 0.15 * 240
