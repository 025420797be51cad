"""The generator prompt and the JSON Schema of its answer.

The user message carries machine-readable blocks, each JSON or a bare word between tags,
so tools and endpoints (the simulated LLM among them) can read the request back::

    <examples>[{"query": ..., "answers": [{"name": ..., "arguments": {...}}]}]</examples>
    <tools>[{"type": "function", "function": {"name", "description", "parameters"}}]</tools>
    <style>parallel</style>
    <pairs>3</pairs>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from topics import Example, QueryStyle, Tool

from ._template import ChatMessage, PromptTemplate, json_block

__all__ = [
    "ANSWER_BLOCKS",
    "CALL_RULES",
    "GENERATOR",
    "STYLE_GUIDE",
    "generation_schema",
    "openai_tool",
    "render_generation",
]

STYLE_GUIDE: dict[QueryStyle, str] = {
    QueryStyle.SIMPLE: (
        "simple: the query asks for exactly one thing and is answered by exactly one call "
        "of one of the tools."
    ),
    QueryStyle.MULTIPLE: (
        "multiple: several tools are offered but the query needs only one of them; the "
        "answer is exactly one call of the one tool that fits."
    ),
    QueryStyle.PARALLEL: (
        "parallel: the query asks for the same kind of thing several times (e.g. for two "
        "cities); the answer is two or more calls of the SAME tool with different "
        "arguments."
    ),
    QueryStyle.PARALLEL_MULTIPLE: (
        "parallel_multiple: the query asks for several different things; the answer is two "
        "or more calls that use at least two DIFFERENT tools."
    ),
    QueryStyle.IRRELEVANCE: (
        "irrelevance: the query asks for something none of the tools can do; the answer "
        "is an empty list of calls."
    ),
}
"""What each query style means, as the prompt explains it to the model."""

CALL_RULES = """\
- Each answer is a list of calls {{"name": <tool name>, "arguments": {{<parameter>: \
<value>}}}}. Use only the tools listed, only their parameters, every required parameter, and \
values of the declared types (respect enums, minimums and maximums)."""
"""The rule for the answers' calls, as every full generator template states it."""

ANSWER_BLOCKS = """\
Examples of verified pairs (possibly for other tools):
<examples>
{examples}
</examples>

Tools:
<tools>
{tools}
</tools>

<style>{style}</style>
<pairs>{pairs}</pairs>

Answer with JSON only, exactly this shape, with {pairs} item(s) in "pairs":
{{"pairs": [{{"query": "...", "answers": [{{"name": "...", "arguments": {{}}}}]}}]}}"""
"""The end of every full generator template: the machine-readable blocks (``<examples>``,
``<tools>``, ``<style>``, ``<pairs>``) and the answer's JSON shape."""

GENERATOR = PromptTemplate(
    id="generator",
    version="1",
    system=(
        "You write training data for function calling. Given tools (functions with JSON "
        "Schema parameters), you write realistic user queries and the exact function calls "
        "that answer them. You only answer with JSON."
    ),
    user=f"""\
Write {{pairs}} query/answer pair(s) for the tools below, in the style "{{style}}".

Style: {{style_guide}}

Rules:
- Each query is natural language a real user would type, and states every argument value \
the calls use (names, numbers, dates), so the calls follow from the query alone.
{CALL_RULES}
- Vary the queries: different wording, values and lengths from each other and from the \
examples.

{ANSWER_BLOCKS}""",
)
"""The generator template. Placeholders: pairs, style, style_guide, examples, tools."""


def openai_tool(tool: Tool) -> dict[str, Any]:
    """``{"type": "function", "function": {name, description, parameters}}``."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _example_json(example: Example) -> dict[str, Any]:
    return {
        "query": example.query,
        "answers": [{"name": c.name, "arguments": c.arguments} for c in example.answers],
    }


def render_generation(
    tools: Sequence[Tool],
    examples: Sequence[Example],
    style: QueryStyle,
    pairs: int,
    *,
    template: PromptTemplate = GENERATOR,
) -> list[ChatMessage]:
    """The chat messages asking for ``pairs`` query/answer pairs in ``style``."""
    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    return template.render(
        pairs=str(pairs),
        style=style.value,
        style_guide=STYLE_GUIDE[style],
        examples=json_block([_example_json(e) for e in examples]),
        tools=json_block([openai_tool(t) for t in tools]),
    )


def _call_schema(tool: Tool) -> dict[str, Any]:
    arguments: dict[str, Any] = dict(tool.parameters) or {"type": "object"}
    arguments.setdefault("type", "object")
    arguments.setdefault("properties", {})
    # Constrained decoders otherwise may invent parameters; the format stage checks anyway.
    arguments.setdefault("additionalProperties", False)
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "const": tool.name},
            "arguments": arguments,
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def generation_schema(tools: Sequence[Tool], style: QueryStyle, pairs: int) -> dict[str, Any]:
    """JSON Schema of the generator's answer, for structured output.

    ``answers`` items are one ``anyOf`` branch per tool (``name`` a const, ``arguments`` the
    tool's parameter schema). The number of calls follows the style: exactly one for simple
    and multiple, at least two for the parallel styles, none for irrelevance. That the
    parallel styles use one tool (or two different ones) is not expressible here; the
    format stage checks it.
    """
    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    answers: dict[str, Any] = {"type": "array"}
    if style is QueryStyle.IRRELEVANCE or not tools:
        answers["maxItems"] = 0
    else:
        branches = [_call_schema(t) for t in tools]
        answers["items"] = branches[0] if len(branches) == 1 else {"anyOf": branches}
        if style in (QueryStyle.SIMPLE, QueryStyle.MULTIPLE):
            answers["minItems"] = answers["maxItems"] = 1
        else:
            answers["minItems"] = 2
    return {
        "type": "object",
        "properties": {
            "pairs": {
                "type": "array",
                "minItems": pairs,
                "maxItems": pairs,
                "items": {
                    "type": "object",
                    "properties": {"query": {"type": "string", "minLength": 1}, "answers": answers},
                    "required": ["query", "answers"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["pairs"],
        "additionalProperties": False,
    }
