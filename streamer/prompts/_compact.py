"""Compact prompts for small local models: few tokens, worked examples, answers first.

A 135M-parameter model on one CPU thread spends much of a call evaluating the prompt, and
it copies far better than it invents. So the compact generator prompt shows four worked
examples as earlier chat turns (a constant prefix llama.cpp keeps cached between calls),
offers the tools with descriptions cut to one sentence, and its answer schema puts
``answers`` before ``query``: the model picks argument values first, then writes a query
restating them — what the semantic stage's grounding rule asks for. The checkers are the
same for every prompt.

The last user message carries the blocks of the full prompts (``<tools>``, ``<style>``,
``<pairs>``; ``<samples>`` for the judge), so the simulated endpoint answers these too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from topics import Example, QueryStyle, Tool

from ._generator import generation_schema, openai_tool
from ._judge import JudgeItem, judge_schema, result_json
from ._template import ChatMessage, PromptTemplate, json_block

__all__ = [
    "GENERATOR_COMPACT",
    "JUDGE_COMPACT",
    "compact_generation_schema",
    "compact_judge_schema",
    "compact_tool",
    "render_compact_generation",
    "render_compact_judge",
]

DESCRIPTION_CHARS = 120
"""Tool and parameter descriptions are cut to their first sentence, at most this long."""

RESULT_CHARS = 300
"""Results longer than this (as JSON) are cut in the compact judge prompt, in characters."""

REASONING_CHARS = 120
"""Longest judge reasoning the compact judge schema allows, in characters."""

QUERY_CHARS = 200
"""Longest query the compact generation schema allows, in characters."""

_GENERATION_USER = """\
<tools>
{tools}
</tools>
Write {pairs} pair(s): the call with realistic values, then a question containing every \
argument value.
<style>{style}</style>
<pairs>{pairs}</pairs>"""

_JUDGE_USER = """\
<samples>
{samples}
</samples>
passed is true only if the call does what the query asks and the result fits it."""

_STRING: dict[str, Any] = {"type": "string"}
_INTEGER: dict[str, Any] = {"type": "integer"}
_NUMBER: dict[str, Any] = {"type": "number"}


def _tools_json(name: str, description: str, properties: dict[str, Any]) -> str:
    parameters = {"type": "object", "properties": properties, "required": list(properties)}
    return json_block([openai_tool(Tool(name, description, parameters))])


def _generation_shot(tools: str, query: str, name: str, **arguments: Any) -> tuple[str, str]:
    user = _GENERATION_USER.format(tools=tools, pairs="1", style=QueryStyle.SIMPLE.value)
    pair = {"answers": [{"name": name, "arguments": arguments}], "query": query}
    return user, json.dumps({"pairs": [pair]})


GENERATOR_COMPACT = PromptTemplate(
    id="generator-compact",
    version="2",
    system="You write a function call and the user question it answers. Reply with JSON.",
    user=_GENERATION_USER,
    shots=(
        _generation_shot(
            _tools_json("get_weather", "Weather for a city.", {"city": _STRING, "days": _INTEGER}),
            "What is the weather in Lisbon for the next 3 days?",
            "get_weather",
            city="Lisbon",
            days=3,
        ),
        _generation_shot(
            _tools_json("factorial", "Factorial of an integer.", {"n": _INTEGER}),
            "Compute the factorial of 12.",
            "factorial",
            n=12,
        ),
        _generation_shot(
            _tools_json("word_count", "Counts the words in a text.", {"text": _STRING}),
            "How many words are in 'the cat sat on the mat'?",
            "word_count",
            text="the cat sat on the mat",
        ),
        _generation_shot(
            _tools_json("bmi", "Body mass index.", {"weight_kg": _NUMBER, "height_m": _NUMBER}),
            "What is the BMI for a weight of 72.5 kg and a height of 1.8 m?",
            "bmi",
            weight_kg=72.5,
            height_m=1.8,
        ),
    ),
)
"""The compact generator template: four worked examples as earlier turns, then the task
(with two, 2 of 8 sampled tasks passed the grounding rule; with these four, 6 of 8).
Placeholders: tools, pairs, style. Seed examples are not shown: the prefix stays constant
(cached), and fixed clean shots teach the shape better than a small model's own output."""

JUDGE_COMPACT = PromptTemplate(
    id="judge-compact",
    version="1",
    system="You check if a function call answers a question. Reply with JSON.",
    user=_JUDGE_USER,
)
"""The compact judge template. Placeholders: samples."""


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    if 0 < end < DESCRIPTION_CHARS:
        return text[: end + 1]
    return text[:DESCRIPTION_CHARS]


def _shorten(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _first_sentence(v) if k == "description" and isinstance(v, str) else _shorten(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_shorten(v) for v in schema]
    return schema


def compact_tool(tool: Tool) -> dict[str, Any]:
    """:func:`openai_tool` with every description cut to its first sentence."""
    result: dict[str, Any] = _shorten(openai_tool(tool))
    return result


def render_compact_generation(
    tools: Sequence[Tool],
    examples: Sequence[Example],
    style: QueryStyle,
    pairs: int,
    *,
    template: PromptTemplate = GENERATOR_COMPACT,
) -> list[ChatMessage]:
    """The compact generation messages for ``tools``; ``examples`` are not shown."""
    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    del examples  # the template's fixed shots stand in for them
    return template.render(
        tools=json_block([compact_tool(t) for t in tools]), pairs=str(pairs), style=style.value
    )


def compact_generation_schema(
    tools: Sequence[Tool], style: QueryStyle, pairs: int
) -> dict[str, Any]:
    """:func:`generation_schema` with ``answers`` before ``query``, the query bounded
    (``QUERY_CHARS``) so a constrained small model cannot loop inside it."""
    schema = generation_schema(tools, style, pairs)
    pair = schema["properties"]["pairs"]["items"]
    props = pair["properties"]
    pair["properties"] = {
        "answers": props["answers"],
        "query": {**props["query"], "maxLength": QUERY_CHARS},
    }
    pair["required"] = ["answers", "query"]
    return schema


def _short_result(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return {"truncated": text[:RESULT_CHARS]} if len(text) > RESULT_CHARS else value


def render_compact_judge(
    items: Sequence[JudgeItem], *, template: PromptTemplate = JUDGE_COMPACT
) -> list[ChatMessage]:
    """The compact judge messages: results cut to ``RESULT_CHARS``."""
    if not items:
        raise ValueError("render_compact_judge needs at least one item")
    samples = [
        {
            "index": i,
            "query": item.query,
            "calls": [{"name": c.name, "arguments": c.arguments} for c in item.calls],
            "results": [_short_result(result_json(r)) for r in item.results],
        }
        for i, item in enumerate(items)
    ]
    return template.render(samples=json_block(samples))


def compact_judge_schema(n: int) -> dict[str, Any]:
    """:func:`judge_schema` with ``reasoning`` bounded to ``REASONING_CHARS``."""
    schema = judge_schema(n)
    verdict = schema["properties"]["verdicts"]["items"]
    verdict["properties"]["reasoning"] = {"type": "string", "maxLength": REASONING_CHARS}
    return schema
