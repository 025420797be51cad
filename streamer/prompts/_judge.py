"""The semantic judge prompt: grades one or several executed samples in one call.

The samples travel in a ``<samples>`` block, a JSON list of
``{"index", "query", "calls", "results"}``; the answer is
``{"verdicts": [{"index", "passed", "reasoning"}]}`` with one verdict per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from topics import Call, CallResult

from ._template import ChatMessage, PromptTemplate, json_block

__all__ = ["JUDGE", "JudgeItem", "judge_schema", "render_judge", "result_json"]

RESULT_CHARS = 2000
"""Results longer than this (as JSON) are cut in the prompt; the judge sees a prefix."""

JUDGE = PromptTemplate(
    id="judge",
    version="1",
    system=(
        "You check function-calling data. For each sample you get a user query, the "
        "function calls made for it and what the calls returned. You only answer with JSON."
    ),
    user="""\
Grade each of the {count} sample(s) below. A sample passes only if ALL of these hold:
- the calls, with these arguments, do what the query asks (right functions, argument values \
taken from the query, nothing invented);
- every request in the query is addressed (a query asking for two things fails if only one \
call answers it);
- the results are consistent with the query's intent (no error results, nothing off-topic).
A sample with no calls passes only if none of the functions could serve the query.

<samples>
{samples}
</samples>

Answer with JSON only: {{"verdicts": [{{"index": <sample index>, "passed": true|false, \
"reasoning": "<one or two sentences>"}}]}}, one verdict per sample, in index order.""",
)
"""The judge template. Placeholders: count, samples."""


@dataclass(frozen=True, slots=True)
class JudgeItem:
    """One executed sample to grade: the query, its calls and their aligned results."""

    query: str
    calls: tuple[Call, ...]
    results: tuple[CallResult, ...]


def result_json(result: CallResult) -> Any:
    """A result as the judge sees it: the value, an error object, or a truncated prefix."""
    if not result.ok:
        return {"error": result.reason, "message": result.message}
    text = orjson.dumps(result.result, option=orjson.OPT_NON_STR_KEYS).decode()
    if len(text) > RESULT_CHARS:
        return {"truncated": text[:RESULT_CHARS]}
    return result.result


def render_judge(
    items: Sequence[JudgeItem], *, template: PromptTemplate = JUDGE
) -> list[ChatMessage]:
    """The chat messages asking for one verdict per item (indexes are positions)."""
    if not items:
        raise ValueError("render_judge needs at least one item")
    samples = [
        {
            "index": i,
            "query": item.query,
            "calls": [{"name": c.name, "arguments": c.arguments} for c in item.calls],
            "results": [result_json(r) for r in item.results],
        }
        for i, item in enumerate(items)
    ]
    return template.render(count=str(len(items)), samples=json_block(samples))


def judge_schema(n: int) -> dict[str, Any]:
    """JSON Schema of the judge's answer for ``n`` samples (exactly ``n`` verdicts)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return {
        "type": "object",
        "properties": {
            "verdicts": {
                "type": "array",
                "minItems": n,
                "maxItems": n,
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer", "minimum": 0, "maximum": n - 1},
                        "passed": {"type": "boolean"},
                        "reasoning": {"type": "string"},
                    },
                    "required": ["index", "passed", "reasoning"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["verdicts"],
        "additionalProperties": False,
    }
