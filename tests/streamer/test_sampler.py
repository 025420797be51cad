from __future__ import annotations

import random
from collections import Counter

import pytest

from streamer.stages import ApiSampler, Sampler, SamplerConfig, SeedPool, StyleController
from topics import Example, QueryStyle

from .factories import tool, verified

APIS = [tool(f"{c}_{i}", category=c) for c in ("math", "text", "geo") for i in range(4)] + [
    tool("lonely", category="rare")
]


def test_categories_are_balanced_even_when_sizes_differ() -> None:
    sampler = ApiSampler(APIS, random.Random(1))
    anchors: Counter[str] = Counter()
    for _ in range(400):
        drawn = sampler.draw(QueryStyle.SIMPLE, 1)
        anchors[drawn[0].category] += 1
    assert set(anchors) == {"math", "text", "geo", "rare"}
    assert max(anchors.values()) - min(anchors.values()) <= 1


def test_multiple_styles_draw_related_apis_and_distinct_names() -> None:
    sampler = ApiSampler(APIS, random.Random(2))
    for _ in range(50):
        tools = sampler.draw(QueryStyle.PARALLEL_MULTIPLE, 3)
        assert len({t.name for t in tools}) == 3
        cats = Counter(t.category for t in tools)
        if "rare" not in cats:
            assert max(cats.values()) >= 2
    multi = sampler.draw(QueryStyle.MULTIPLE, 4)
    assert len(multi) == 4 and len({t.category for t in multi}) >= 2


def test_style_controller_follows_the_target_mix() -> None:
    mix = {QueryStyle.SIMPLE: 0.5, QueryStyle.PARALLEL: 0.3, QueryStyle.IRRELEVANCE: 0.2}
    controller = StyleController(mix, random.Random(0))
    picks = Counter(controller.choose() for _ in range(1000))
    assert abs(picks[QueryStyle.SIMPLE] - 500) <= 5
    assert abs(picks[QueryStyle.PARALLEL] - 300) <= 5
    # verified counts take over: simple is over-served, so it is not chosen next
    for _ in range(100):
        controller.record_verified(QueryStyle.SIMPLE)
    assert controller.choose() is not QueryStyle.SIMPLE


def test_seed_pool_is_bounded_and_evicts_oldest() -> None:
    pool = SeedPool(capacity=3)
    for i in range(5):
        assert pool.add(QueryStyle.SIMPLE, Example(query=f"q{i}", answers=(), source_id=str(i)))
    assert not pool.add(QueryStyle.SIMPLE, Example(query="q4", answers=(), source_id="4"))
    drawn = pool.draw(QueryStyle.SIMPLE, 10, random.Random(0))
    assert sorted(e.query for e in drawn) == ["q2", "q3", "q4"]
    assert pool.draw(QueryStyle.PARALLEL, 2, random.Random(0))  # falls back to other styles


def test_same_seed_same_tasks_and_feedback_reaches_later_prompts() -> None:
    a = Sampler(APIS, SamplerConfig(seed=7, example_range=(1, 2)))
    b = Sampler(APIS, SamplerConfig(seed=7, example_range=(1, 2)))
    first = [a.next_sample() for _ in range(20)]
    second = [b.next_sample() for _ in range(20)]
    assert [s.meta.id for s in first] == [s.meta.id for s in second]
    assert [s.tools for s in first] == [s.tools for s in second]
    assert len({s.meta.id for s in first}) == 20
    assert all(not s.examples for s in first)  # empty pool: no examples yet
    a.learn(verified("what is f of 1", sid="v1"))
    later = [a.next_sample() for _ in range(10)]
    assert any(e.query == "what is f of 1" for s in later for e in s.examples)


def test_empty_library_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one API"):
        Sampler([])


def test_task_ids_depend_on_the_index_not_on_the_seed_pool() -> None:
    a = Sampler(APIS, SamplerConfig(seed=3, example_range=(1, 2)))
    b = Sampler(APIS, SamplerConfig(seed=3, example_range=(1, 2)))
    a.learn(verified("what is f of 2", sid="v2"))
    ids_a = [a.next_sample().meta.id for _ in range(10)]
    ids_b = [b.next_sample().meta.id for _ in range(10)]
    assert ids_a == ids_b == [a.task_id(i) for i in range(1, 11)]
    assert Sampler(APIS, SamplerConfig(seed=4)).task_id(1) != a.task_id(1)
    assert Sampler(APIS[:-1], SamplerConfig(seed=3)).task_id(1) != a.task_id(1)
