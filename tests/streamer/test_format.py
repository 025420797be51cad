from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamer.stages import FormatChecker, FormatRules
from topics import EventMeta, FormatPass, Generation, QueryStyle, Reject, Sample, Tool

WEATHER = Tool(
    "get_weather",
    "Weather for a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
            "lat": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["city"],
    },
)
ADD = Tool(
    "add",
    "Add numbers.",
    {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
)


def _generation(raw: Any, style: QueryStyle = QueryStyle.SIMPLE) -> Generation:
    meta = EventMeta(id="s", parent_id=None, sample_id="s", stage="sampler", stage_version="v")
    sample = Sample(meta=meta, style=style, tools=(WEATHER, ADD))
    text = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
    return Generation(meta=meta.child("generator", "g1", "0"), sample=sample, model="m", raw=text)


def _pair(*calls: tuple[str, dict[str, Any]], query: str = "q") -> dict[str, Any]:
    return {"query": query, "answers": [{"name": n, "arguments": a} for n, a in calls]}


async def _run(raw: Any, style: QueryStyle = QueryStyle.SIMPLE) -> list[Any]:
    outputs = await FormatChecker().process(_generation(raw, style))
    return [o.event for o in outputs]


@pytest.mark.anyio
async def test_valid_pairs_pass_and_every_pair_is_kept() -> None:
    raw = {
        "pairs": [
            _pair(("get_weather", {"city": "Paris", "days": 3, "lat": 48})),
            _pair(("add", {"a": 1.5, "b": 2})),
        ]
    }
    events = await _run(raw)
    assert [type(e) for e in events] == [FormatPass, FormatPass]
    assert [e.pair_index for e in events] == [0, 1]
    assert events[0].calls[0].arguments == {"city": "Paris", "days": 3, "lat": 48}
    assert events[0].meta.id != events[1].meta.id


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pair", "style", "reason"),
    [
        (_pair(("nope", {})), QueryStyle.SIMPLE, "unknown_function"),
        (_pair(("add", {"a": 1, "b": 2, "c": 3})), QueryStyle.SIMPLE, "unknown_argument"),
        (_pair(("add", {"a": 1})), QueryStyle.SIMPLE, "missing_required"),
        (_pair(("add", {"a": "1", "b": 2})), QueryStyle.SIMPLE, "type_mismatch"),
        (_pair(("add", {"a": True, "b": 2})), QueryStyle.SIMPLE, "type_mismatch"),
        (_pair(("get_weather", {"city": "X", "days": 2.5})), QueryStyle.SIMPLE, "type_mismatch"),
        (_pair(("get_weather", {"city": "X", "tags": [1]})), QueryStyle.SIMPLE, "type_mismatch"),
        (_pair(("get_weather", {"city": "X", "unit": "K"})), QueryStyle.SIMPLE, "enum_violation"),
        (_pair(("get_weather", {"city": "X", "days": 99})), QueryStyle.SIMPLE, "out_of_range"),
        ({"query": "q"}, QueryStyle.SIMPLE, "missing_field"),
        ({"query": "", "answers": []}, QueryStyle.SIMPLE, "missing_field"),
        ({"query": "q", "answers": [{"arguments": {}}]}, QueryStyle.SIMPLE, "missing_field"),
        (
            _pair(("add", {"a": 1, "b": 2}), ("add", {"a": 1, "b": 3})),
            QueryStyle.SIMPLE,
            "style_mismatch",
        ),
        (_pair(("add", {"a": 1, "b": 2})), QueryStyle.PARALLEL, "style_mismatch"),
        (
            _pair(("add", {"a": 1, "b": 2}), ("get_weather", {"city": "X"})),
            QueryStyle.PARALLEL,
            "style_mismatch",
        ),
        (
            _pair(("add", {"a": 1, "b": 2}), ("add", {"a": 2, "b": 2})),
            QueryStyle.PARALLEL_MULTIPLE,
            "style_mismatch",
        ),
        (_pair(("add", {"a": 1, "b": 2})), QueryStyle.IRRELEVANCE, "style_mismatch"),
        (_pair(), QueryStyle.SIMPLE, "no_call"),
        (_pair(), QueryStyle.PARALLEL, "no_call"),
    ],
)
async def test_each_defect_is_rejected_with_its_reason(
    pair: dict[str, Any], style: QueryStyle, reason: str
) -> None:
    good = _pair(("add", {"a": 1, "b": 2}), ("add", {"a": 2, "b": 2}))
    if style is QueryStyle.IRRELEVANCE:
        good = _pair()
    elif style is QueryStyle.PARALLEL_MULTIPLE:
        good = _pair(("add", {"a": 1, "b": 2}), ("get_weather", {"city": "X"}))
    elif style in (QueryStyle.SIMPLE, QueryStyle.MULTIPLE):
        good = _pair(("add", {"a": 1, "b": 2}))
    events = await _run({"pairs": [pair, good]}, style)
    assert isinstance(events[0], Reject), events[0]
    assert events[0].reason == reason, events[0].message
    assert events[0].pair_index == 0 and events[0].model == "m"
    assert isinstance(events[1], FormatPass)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("raw", "reason"),
    [("{not json", "invalid_json"), ("[]", "missing_field"), ('"text"', "missing_field")],
)
async def test_whole_output_defects_give_one_reject(raw: str, reason: str) -> None:
    events = await _run(raw)
    assert len(events) == 1 and isinstance(events[0], Reject)
    assert events[0].reason == reason and events[0].pair_index == -1


@pytest.mark.anyio
async def test_arguments_as_json_string_and_single_pair_shape_are_accepted() -> None:
    raw = {"query": "add", "answers": [{"name": "add", "arguments": '{"a": 1, "b": 2}'}]}
    events = await _run(raw)
    assert isinstance(events[0], FormatPass)
    assert events[0].calls[0].arguments == {"a": 1, "b": 2}


def test_rules_are_part_of_the_version() -> None:
    assert FormatChecker().version == FormatChecker().version
    assert FormatChecker().version != FormatChecker(FormatRules(min_parallel_calls=3)).version
