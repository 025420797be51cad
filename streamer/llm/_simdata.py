"""What the simulated LLM says: pairs drawn from tool schemas, injected faults, verdicts.

Values come from the JSON Schemas (enums, const, bounds, lengths, array sizes, string
formats, hints from parameter names). Every query states each scalar argument value
verbatim, so grounding rules can pass; the simulated judge passes a sample exactly when
that holds (and no result is an error), which makes the injected ``query_mismatch`` — a
query rendered from *other* values than the calls use — deterministic to detect.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from topics import QueryStyle

__all__ = [
    "CORRUPTIONS",
    "SIMULATED_EXEC_FAILURE",
    "generate_pairs",
    "grounded",
    "judge_samples",
    "sample_arguments",
    "write_api_doc",
]

SIMULATED_EXEC_FAILURE = "__simulated_exec_failure__"
"""The ``exec_failure`` corruption puts this string into a string parameter (or, failing
one, -999999999 into a numeric parameter without a declared minimum). It is well typed, so
the format stage passes it; executors that honour the simulation (the test API library,
the benchmark's functions) must reject it as out of domain. Real APIs may not."""

CORRUPTIONS = (
    "invalid_json",
    "unknown_function",
    "unknown_argument",
    "missing_required",
    "wrong_type",
    "exec_failure",
    "query_mismatch",
)
"""Fault kinds the simulator can inject. ``invalid_json`` is drawn once per response (a
broken body breaks every pair in it); the others once per pair that has calls, at most one
kind per pair, so each corrupted pair fails for exactly one reason."""

_WORDS: dict[str, tuple[str, ...]] = {
    "city": ("Lisbon", "Osaka", "Nairobi", "Toronto", "Valparaiso", "Tallinn", "Hanoi", "Perth"),
    "country": ("Portugal", "Japan", "Kenya", "Canada", "Chile", "Estonia", "Vietnam"),
    "name": ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus"),
    "language": ("French", "Swahili", "Korean", "Portuguese", "Finnish"),
    "currency": ("EUR", "JPY", "KES", "CAD", "CLP"),
    "symbol": ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN"),
    "word": (
        "sourdough",
        "jazz",
        "telescope",
        "marathon",
        "origami",
        "volcano",
        "saffron",
        "lighthouse",
        "quartz",
        "bonsai",
        "glacier",
        "mosaic",
        "harbor",
        "cello",
        "meteor",
    ),
}
_HINTS = (
    ("city", "city"),
    ("location", "city"),
    ("place", "city"),
    ("country", "country"),
    ("name", "name"),
    ("author", "name"),
    ("user", "name"),
    ("lang", "language"),
    ("currency", "currency"),
    ("symbol", "symbol"),
    ("ticker", "symbol"),
)
_IRRELEVANT = (
    "What is the airspeed velocity of an unladen swallow?",
    "Write a haiku about autumn rain.",
    "Who painted the ceiling of the Sistine Chapel?",
    "Recommend a good book about the history of tea.",
    "How do I say good morning in Icelandic?",
)
_OPENERS = ("Could you {}?", "Please {}.", "I need to {}.", "Can you help me {}?")


def _string(schema: Mapping[str, Any], name: str, rng: random.Random) -> str:
    fmt = schema.get("format", "")
    n = rng.randint(1, 999)
    lname = name.lower()
    if fmt == "date" or (not fmt and lname.endswith("date")):
        value = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    elif fmt == "date-time":
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        value = f"{day}T{rng.randint(0, 23):02d}:00:00Z"
    elif fmt == "time":
        value = f"{rng.randint(0, 23):02d}:{rng.choice(('00', '15', '30', '45'))}"
    elif fmt == "email" or "email" in lname:
        value = f"{rng.choice(_WORDS['word'])}{n}@example.com"
    elif fmt in ("uri", "url") or "url" in lname:
        value = f"https://example.com/{rng.choice(_WORDS['word'])}/{n}"
    elif fmt == "uuid":
        value = f"{rng.getrandbits(128):032x}"
        value = f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    elif lname == "id" or lname.endswith("_id"):
        value = f"ID{n}"
    else:
        pool = next((_WORDS[k] for hint, k in _HINTS if hint in lname), _WORDS["word"])
        value = rng.choice(pool)
    min_len, max_len = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < min_len:
        value = value + "x" * (min_len - len(value))
    if max_len is not None:
        value = value[: int(max_len)]
    return value


def _number(schema: Mapping[str, Any], rng: random.Random, integer: bool) -> int | float:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", 1))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", max(lo, 0) + 100))
    if integer:
        ilo = int(lo) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        ihi = int(hi) - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
        return rng.randint(ilo, max(ilo, ihi))
    value = round(rng.uniform(float(lo), float(hi)), 2)
    return min(max(value, float(lo)), float(hi))


def sample_value(schema: Any, rng: random.Random, name: str = "", depth: int = 0) -> Any:
    """A value valid under ``schema`` (best effort: ``pattern`` and ``multipleOf`` ignored)."""
    if not isinstance(schema, Mapping):
        return rng.choice(_WORDS["word"])
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return sample_value(rng.choice(list(schema[key])), rng, name, depth)
    typ = schema.get("type", "string")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "integer":
        return _number(schema, rng, True)
    if typ == "number":
        return _number(schema, rng, False)
    if typ == "boolean":
        return rng.random() < 0.5
    if typ == "null":
        return None
    if typ == "array":
        lo = int(schema.get("minItems", 1))
        hi = int(schema.get("maxItems", max(lo, 3)))
        items = [
            sample_value(schema.get("items", {}), rng, name, depth + 1)
            for _ in range(rng.randint(lo, max(lo, hi)))
        ]
        if schema.get("uniqueItems"):
            unique = {json.dumps(i, sort_keys=True): i for i in items}
            items = list(unique.values())
        return items
    if typ == "object":
        return sample_arguments(schema, rng, depth + 1) if depth < 3 else {}
    return _string(schema, name, rng)


def sample_arguments(
    parameters: Mapping[str, Any], rng: random.Random, depth: int = 0
) -> dict[str, Any]:
    """Arguments for a parameters schema: every required one, each optional one half the time."""
    required = set(parameters.get("required", ()))
    props = parameters.get("properties") or {}
    return {
        pname: sample_value(pschema, rng, pname, depth)
        for pname, pschema in props.items()
        if pname in required or rng.random() < 0.5
    }


def _scalars(value: Any) -> Iterator[str]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, int | float):
        yield json.dumps(value)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " and ".join(_render(v) for v in value) or "nothing"
    if isinstance(value, dict):
        return ", ".join(f"{_human(k)} {_render(v)}" for k, v in value.items()) or "defaults"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _human(name: str) -> str:
    return name.replace("_", " ").replace(".", " ").replace("-", " ").strip()


def _clause(name: str, arguments: Mapping[str, Any]) -> str:
    if not arguments:
        return _human(name)
    args = ", ".join(f"{_human(k)} {_render(v)}" for k, v in arguments.items())
    return f"{_human(name)} with {args}"


def _query(calls: Sequence[Mapping[str, Any]], rng: random.Random) -> str:
    if not calls:
        return rng.choice(_IRRELEVANT)
    body = ", and also ".join(_clause(c["name"], c["arguments"]) for c in calls)
    return rng.choice(_OPENERS).format(body)


def grounded(query: str, calls: Sequence[Mapping[str, Any]]) -> str | None:
    """None when ``query`` mentions every call (all scalar values, or the name when there
    are none); else what is missing. Case-insensitive."""
    text = query.lower()
    for call in calls:
        arguments = call.get("arguments") or {}
        values = list(_scalars(arguments)) if isinstance(arguments, dict) else []
        if not values:
            values = [_human(str(call.get("name", "")))]
        for value in values:
            if value.lower() not in text and not (
                value.endswith(".0") and value[:-2].lower() in text
            ):
                return value
    return None


def _calls_for(
    tools: Sequence[Mapping[str, Any]], style: QueryStyle, rng: random.Random
) -> list[dict[str, Any]]:
    def call(tool: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": tool["name"],
            "arguments": sample_arguments(tool.get("parameters") or {}, rng),
        }

    if style is QueryStyle.IRRELEVANCE or not tools:
        return []
    if style in (QueryStyle.SIMPLE, QueryStyle.MULTIPLE):
        return [call(rng.choice(list(tools)))]
    if style is QueryStyle.PARALLEL or len(tools) == 1:
        tool = rng.choice(list(tools))
        calls: list[dict[str, Any]] = []
        for _ in range(rng.randint(2, 3)):
            for _try in range(5):
                candidate = call(tool)
                if candidate not in calls:
                    break
            calls.append(candidate)
        return calls
    chosen = rng.sample(list(tools), min(len(tools), rng.randint(2, 3)))
    return [call(t) for t in chosen]


def _corrupt(
    kind: str, pair: dict[str, Any], tools: Mapping[str, Mapping[str, Any]], rng: random.Random
) -> bool:
    calls: list[dict[str, Any]] = pair["answers"]
    target = rng.choice(calls)
    tool = tools[target["name"]]
    params = tool.get("parameters") or {}
    props: Mapping[str, Any] = params.get("properties") or {}
    args: dict[str, Any] = target["arguments"]
    if kind == "unknown_function":
        name = f"{target['name']}_simulated_unknown"
        while name in tools:
            name += "_x"
        target["name"] = name
    elif kind == "unknown_argument":
        extra = "simulated_unknown_argument"
        while extra in props:
            extra += "_x"
        args[extra] = "x"
    elif kind == "missing_required":
        present = [p for p in params.get("required", ()) if p in args]
        if not present:
            return False
        del args[rng.choice(present)]
    elif kind == "wrong_type":
        if not args:
            return False
        pname = rng.choice(sorted(args))
        value = args[pname]
        args[pname] = 12345 if isinstance(value, str) else "not-a-" + type(value).__name__
    elif kind == "exec_failure":
        strings = [
            p
            for p, s in props.items()
            if s.get("type") == "string"
            and "enum" not in s
            and "const" not in s
            and "format" not in s
            and "pattern" not in s
        ]
        numbers = [
            p
            for p, s in props.items()
            if s.get("type") in ("integer", "number")
            and "minimum" not in s
            and "exclusiveMinimum" not in s
            and "enum" not in s
        ]
        if strings:
            args[rng.choice(strings)] = SIMULATED_EXEC_FAILURE
        elif numbers:
            args[rng.choice(numbers)] = -999999999
        else:
            return False
    elif kind == "query_mismatch":
        for _try in range(5):
            other = [
                {
                    "name": c["name"],
                    "arguments": sample_arguments(tools[c["name"]].get("parameters") or {}, rng),
                }
                for c in calls
            ]
            query = _query(other, rng)
            if grounded(query, calls) is not None:
                pair["query"] = query
                return True
        pair["query"] = rng.choice(_IRRELEVANT)
        return True
    else:
        raise ValueError(f"unknown corruption kind {kind!r}")
    return True


def generate_pairs(
    tools: Sequence[Mapping[str, Any]],
    style: QueryStyle,
    n: int,
    rng: random.Random,
    corruption: Mapping[str, float],
    injected: Counter[str],
) -> list[dict[str, Any]]:
    """``n`` pairs ``{"query", "answers"}`` for ``tools`` (each ``{"name", "description",
    "parameters"}``); per-pair corruptions are drawn from ``corruption`` and counted in
    ``injected``."""
    by_name = {t["name"]: t for t in tools}
    kinds = [(k, r) for k, r in corruption.items() if k != "invalid_json" and r > 0]
    pairs = []
    for _ in range(n):
        calls = _calls_for(tools, style, rng)
        kind = None
        if calls and kinds:
            u = rng.random()
            for k, rate in kinds:
                if u < rate:
                    kind = k
                    break
                u -= rate
        pair: dict[str, Any] = {"query": "", "answers": calls}
        if kind is not None and kind != "query_mismatch" and _corrupt(kind, pair, by_name, rng):
            injected[kind] += 1
        pair["query"] = _query(calls, rng)
        if kind == "query_mismatch" and _corrupt(kind, pair, by_name, rng):
            injected[kind] += 1
        pairs.append(pair)
    return pairs


def judge_samples(samples: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One verdict per sample: passed iff the query mentions every call and no result is
    an error."""
    verdicts = []
    for i, sample in enumerate(samples):
        calls = sample.get("calls") or []
        missing = grounded(str(sample.get("query", "")), calls)
        failed = [r for r in sample.get("results") or [] if isinstance(r, dict) and "error" in r]
        if missing is not None:
            passed, why = False, f"the query does not mention {missing!r}"
        elif failed:
            passed, why = False, "a call returned an error"
        else:
            passed, why = True, "every call is grounded in the query"
        verdicts.append(
            {
                "index": sample.get("index", i),
                "passed": passed,
                "reasoning": f"(simulated judge) {why}",
            }
        )
    return verdicts


def write_api_doc(api: Mapping[str, Any]) -> dict[str, Any]:
    """A (simulated) description of an ``<api_doc>`` block's API and of each parameter.

    Built from the name and parameter names only, so it is English, long enough and unlike
    the other APIs' texts: what API curation's docstring regeneration needs in tests.
    """
    params = api.get("parameters") or {}
    names = [str(p) for p in params] if isinstance(params, Mapping) else []
    given = f" given its {', '.join(_human(p) for p in names)}" if names else ""
    return {
        "description": f"(simulated) Looks up the {_human(str(api.get('name', 'api')))}{given}.",
        "parameters": {p: f"(simulated) The {_human(p)} to use for this lookup." for p in names},
    }
