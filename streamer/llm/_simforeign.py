"""Answers for distilabel's APIGen prompts, so the simulated endpoint can drive distilabel
1.5.3's ``APIGenGenerator`` and ``APIGenSemanticChecker`` in the side-by-side benchmark.

Only the default (unstructured) prompts are recognized:

- generator: "... generate N diverse query and answer pairs for the function `NAME`" with
  the tool JSON after "This is the available tool to guide you ..."; the answer is the JSON
  list ``[{"query", "answers"}]`` the prompt asks for, drawn like our own pairs (simple
  style, no corruption: the benchmark compares throughput, not checkers);
- semantic checker: "- User Query: ... - Generated Function Calls: ..."; the verdict is
  ``{"thought", "passes"}``, "yes" iff the query mentions every call (our judge's rule).

Prompts are data: the tool JSON is parsed, never evaluated.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from typing import Any, Literal

import orjson

from topics import QueryStyle

from ._simdata import SIMULATED_JUDGE, generate_pairs, grounded

__all__ = ["answer_distilabel"]

_GENERATE = re.compile(r"generate (\d+) diverse query and answer pairs for the function `")
_TOOL_MARK = "This is the available tool to guide you (respect the order of the parameters):\n"
_QUERY = "- User Query: "
_CALLS = "\n- Generated Function Calls: "
_RESULTS = "\n- Execution Results: "


def _tools(user: str) -> list[dict[str, Any]]:
    start = user.find(_TOOL_MARK)
    if start < 0:
        raise ValueError("distilabel generator prompt without a tool")
    value, _ = json.JSONDecoder().raw_decode(user[start + len(_TOOL_MARK) :].lstrip())
    items = value if isinstance(value, list) else [value]
    return [t.get("function", t) for t in items if isinstance(t, dict)]


def answer_distilabel(
    user: str, rng: random.Random
) -> tuple[Literal["generation", "judge"], str] | None:
    """``(kind, content)`` for a distilabel APIGen prompt, or None for any other prompt."""
    match = _GENERATE.search(user)
    if match is not None:
        pairs = generate_pairs(_tools(user), QueryStyle.SIMPLE, int(match[1]), rng, {}, Counter())
        return "generation", orjson.dumps(pairs).decode()
    q = user.find(_QUERY)
    c = user.find(_CALLS, q)
    r = user.find(_RESULTS, c)
    if q < 0 or c < 0 or r < 0:
        return None
    query = user[q + len(_QUERY) : c]
    try:
        calls = json.loads(user[c + len(_CALLS) : r])
    except ValueError:
        calls = None
    well_formed = isinstance(calls, list) and all(isinstance(x, dict) for x in calls)
    missing = grounded(query, calls) if well_formed else "the calls"
    verdict = {
        "thought": SIMULATED_JUDGE
        + (
            " every call is grounded in the query"
            if missing is None
            else f" {missing!r} is not asked for"
        ),
        "passes": "yes" if missing is None else "no",
    }
    return "judge", orjson.dumps(verdict).decode()
