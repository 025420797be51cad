"""The labelled set of :mod:`bench.judge_agreement`: BFCL gold answers and corrupted copies.

Each construction rule (``how``) is documented in ``bench/data/README.md``; the build is
deterministic (seed :data:`SEED`) and keeps only rows the format stage accepts, so every
record reaches the semantic stage, whose rejects are what the benchmark scores.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from streamer.check import CheckCase, CheckSettings, open_checker, read_items, run_check
from streamer.grounding._grounding import Mentions, groundable
from streamer.llm._simdata import sample_value
from streamer.prompts import openai_tool
from topics import Tool

__all__ = ["BFCL", "HOW", "SEED", "build"]

BFCL = Path(__file__).resolve().parents[2] / "shared" / "data" / "bfcl"
CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple")
HOW = ("gold", "swapped_query", "dropped_call", "changed_value", "wrong_function")
PER_RULE = {"gold": 64, "swapped_query": 24, "dropped_call": 24, "changed_value": 24}
PER_RULE["wrong_function"] = 24
SEED = 15


@dataclass(frozen=True)
class Source:
    """A BFCL record with its gold answer (the first acceptable value of each argument, as
    ``apigen check`` reads BFCL)."""

    id: str
    query: str
    tools: tuple[Tool, ...]
    answers: list[Any]


Strings = dict[str, set[str]]
"""Parameter name -> the string values gold answers give it."""


def _row(case: Source, how: str, detail: str, query: str, calls: list[Any]) -> dict[str, Any]:
    return {
        "id": f"{how}:{case.id}",
        "query": query,
        "tools": json.dumps([openai_tool(t) for t in case.tools]),
        "answers": json.dumps(calls),
        "label": "correct" if how == "gold" else "incorrect",
        "how": how,
        "detail": detail,
        "source": f"BFCL_v4_{case.id.rsplit('_', 1)[0]}.json#{case.id}",
    }


def _gold(category: str) -> list[Source]:
    path = BFCL / f"BFCL_v4_{category}.json"
    return [
        Source(c.id, c.query, c.tools, c.answers)
        for c in read_items([path])
        if isinstance(c, CheckCase) and isinstance(c.answers, list) and c.answers
    ]


def _props(case: Source, name: str) -> dict[str, Any]:
    tool = next((t for t in case.tools if t.name == name), None)
    props = tool.parameters.get("properties", {}) if tool else {}
    return props if isinstance(props, dict) else {}


def _swapped(case: Source, pool: Sequence[Source], rng: random.Random) -> Any:
    names = {c["name"] for c in case.answers}
    others = [o for o in pool if o is not case and not names & {c["name"] for c in o.answers}]
    other = rng.choice(others)
    return f"the query of {other.id}", other.query, case.answers


def _dropped(case: Source, rng: random.Random) -> Any:
    if len(case.answers) < 2:
        return None
    i = rng.randrange(len(case.answers))
    calls = [c for j, c in enumerate(case.answers) if j != i]
    return f"dropped call {i + 1} of {len(case.answers)} ({case.answers[i]['name']})", None, calls


def _other_value(value: Any, schema: dict[str, Any], mentions: Mentions, strings: list[str]) -> Any:
    """A value of the same type (and enum) that the query does not state."""
    if isinstance(schema.get("enum"), list):
        options = [v for v in schema["enum"] if v != value and not mentions.grounds(v)]
        return options[0] if options else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        candidates: list[Any] = [value * 2 + 1, value + 7, value * 10 + 3]
    elif isinstance(value, float):
        candidates = [round(value * 2 + 1.5, 3), round(value + 7.25, 3)]
    elif isinstance(value, str):
        candidates = [s for s in strings if s.lower() != value.lower()]
    else:
        return None
    return next((v for v in candidates if not mentions.grounds(v)), None)


def _changed(case: Source, strings: Strings, rng: random.Random) -> Any:
    mentions = Mentions(case.query)
    options = []
    for i, call in enumerate(case.answers):
        props = _props(case, call["name"])
        for name, value in call["arguments"].items():
            schema = props.get(name, {})
            stated = [v for v, hint in groundable(value, {}, name) if mentions.grounds(v, hint)]
            if stated and not isinstance(value, list | dict):
                options.append((i, name, value, schema))
    rng.shuffle(options)
    for i, name, value, schema in options:
        # a value the same parameter takes elsewhere first: 'Paris' -> 'New York', not 'fraud'
        same = sorted(strings.get(name, set()))
        anything = sorted(set().union(*strings.values()))
        pool = rng.sample(same, len(same)) + rng.sample(anything, min(40, len(anything)))
        new = _other_value(value, schema, mentions, pool)
        if new is not None:
            calls = json.loads(json.dumps(case.answers))
            calls[i]["arguments"][name] = new
            return f"{calls[i]['name']}.{name}: {value!r} -> {new!r}", None, calls
    return None


def _wrong_function(case: Source, rng: random.Random) -> Any:
    used = {c["name"] for c in case.answers}
    spare = [t for t in case.tools if t.name not in used]
    if not spare:
        return None
    i = rng.randrange(len(case.answers))
    call, tool = case.answers[i], rng.choice(spare)
    props = tool.parameters.get("properties", {})
    arguments = {}
    for name in tool.parameters.get("required", []):
        given = call["arguments"].get(name)
        arguments[name] = given if given is not None else sample_value(props.get(name), rng, name)
    calls = json.loads(json.dumps(case.answers))
    calls[i] = {"name": tool.name, "arguments": arguments}
    return f"call {i + 1} ({call['name']}) -> {tool.name}", None, calls


def _corrupt(
    how: str, case: Source, pool: Sequence[Source], strings: Strings, rng: random.Random
) -> Any:
    if how == "swapped_query":
        return _swapped(case, pool, rng)
    if how == "dropped_call":
        return _dropped(case, rng)
    if how == "changed_value":
        return _changed(case, strings, rng)
    return _wrong_function(case, rng)


def _eligible(how: str, category: str) -> bool:
    if how == "dropped_call":
        return category.startswith("parallel")
    if how == "wrong_function":
        return category in ("multiple", "parallel_multiple")
    return True


async def _format_passes(rows: list[dict[str, Any]]) -> set[str]:
    """Ids of the rows the format stage accepts (the judge only sees those)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        passed: set[str] = set()
        async with open_checker(CheckSettings(stages=("format",))) as checker:
            await run_check(
                checker,
                read_items([path]),
                lambda r: passed.add(r.id) if r.verdict == "pass" else None,
            )
    return passed


def _candidates(
    how: str, gold: dict[str, list[Source]], strings: Strings, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Rows for one rule, drawn in turn from each category it applies to."""
    categories = [c for c in CATEGORIES if _eligible(how, c)]
    queues = {c: rng.sample(gold[c], len(gold[c])) for c in categories}
    while any(queues.values()):
        for category in categories:
            if not queues[category]:
                continue
            case = queues[category].pop()
            out = ("BFCL gold answer", None, case.answers) if how == "gold" else None
            out = out or _corrupt(how, case, gold[category], strings, rng)
            if out is not None:
                detail, query, calls = out
                yield _row(case, how, detail, query or case.query, calls)


def build() -> list[dict[str, Any]]:
    """The labelled set: per rule, records drawn evenly from the categories it applies to,
    kept only when the format stage accepts them, and each source record used once per
    rule."""
    rng = random.Random(SEED)
    gold = {c: _gold(c) for c in CATEGORIES}
    strings: Strings = defaultdict(set)
    for cases in gold.values():
        for case in cases:
            for call in case.answers:
                for name, v in call["arguments"].items():
                    if isinstance(v, str) and 3 <= len(v) <= 40:
                        strings[name].add(v)
    drafts = {how: list(_candidates(how, gold, strings, rng))[: 2 * PER_RULE[how]] for how in HOW}
    passed = anyio.run(_format_passes, [r for rows in drafts.values() for r in rows])
    return [
        r for how in HOW for r in [r for r in drafts[how] if r["id"] in passed][: PER_RULE[how]]
    ]
