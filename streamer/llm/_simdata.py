"""What the simulated LLM says: pairs drawn from tool schemas, injected faults, verdicts.

Arguments come from the tool's own example argument sets when its parameters schema has
``examples`` (the sampler puts an API's validated examples there), else per parameter from
its ``examples``, ``default``, enums, const, bounds, lengths, array sizes, string formats and
hints from parameter names. Every query states each scalar argument value verbatim, so
grounding rules pass; the simulated judge passes a sample exactly when the query states
every argument value (in any form the semantic rules' grounding reads: "$200,000" states
200000) and no result is an error, unless the ``judge_reject`` fault picks it. Its verdicts
begin with :data:`SIMULATED_JUDGE`: it is a test double, not a judgement.

A clean pair over APIs with examples is valid end to end, and a corrupted one fails for
exactly the reason :data:`EXPECTED_REJECTS` names, so a run's reject counts per reason equal
the injected counts (see :func:`expected_rejects`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from topics import QueryStyle

__all__ = [
    "CORRUPTIONS",
    "EXPECTED_REJECTS",
    "SIMULATED_EXEC_FAILURE",
    "SIMULATED_JUDGE",
    "expected_rejects",
    "generate_pairs",
    "grounded",
    "judge_draw",
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
    "judge_reject",
)
"""Fault kinds the simulator can inject. ``invalid_json`` is drawn once per response (a
broken body breaks every pair in it; the pairs' own corruptions are then not counted);
``judge_reject`` once per judged sample, from a hash of the sample, so a sample gets the
same verdict however it is batched; the others once per pair that has calls, at most one
kind per pair, so each corrupted pair fails for exactly one reason. A kind that cannot
apply to a pair (``missing_required`` without a required argument, ...) leaves it clean
and is not counted."""

EXPECTED_REJECTS: dict[str, tuple[str, str]] = {
    "invalid_json": ("format", "invalid_json"),
    "unknown_function": ("format", "unknown_function"),
    "unknown_argument": ("format", "unknown_argument"),
    "missing_required": ("format", "missing_required"),
    "wrong_type": ("format", "type_mismatch"),
    "exec_failure": ("execution", "function_error"),
    "query_mismatch": ("semantic", "ungrounded_arguments"),
    "judge_reject": ("semantic", "judge_rejected"),
}
"""Corruption kind -> the ``(stage, reason)`` of the reject it must cause: the one place
that says what each injected fault looks like downstream. ``exec_failure`` fails with
``function_error`` only on executors that reject its values (the built-ins' listed
``failing_arguments``, or :data:`SIMULATED_EXEC_FAILURE` where honoured)."""

PAIR_CORRUPTIONS = tuple(k for k in CORRUPTIONS if k not in ("invalid_json", "judge_reject"))
"""The kinds drawn per generated pair."""


def expected_rejects(injected: Mapping[str, int]) -> Counter[tuple[str, str]]:
    """Reject counts per ``(stage, reason)`` that the injected counts per kind must cause."""
    out: Counter[tuple[str, str]] = Counter()
    for kind, n in injected.items():
        if n:
            out[EXPECTED_REJECTS[kind]] += n
    return out


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
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return copy.deepcopy(rng.choice(examples))
    if "default" in schema and schema["default"] is not None and rng.random() < 0.5:
        return copy.deepcopy(schema["default"])
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
    """Arguments for a parameters schema: one of its ``examples`` (whole argument sets,
    known to be valid) if it has any; else every required parameter and each optional one
    half the time, drawn per parameter."""
    examples = parameters.get("examples")
    if depth == 0 and isinstance(examples, list):
        usable = [e for e in examples if isinstance(e, dict)]
        if usable:
            return copy.deepcopy(rng.choice(usable))
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


def _grounding() -> Any:
    # Imported on use: streamer.stages imports this package, so a module-level import of
    # it here would be circular.
    from ..grounding import _grounding

    return _grounding


def grounded(query: str, calls: Sequence[Mapping[str, Any]]) -> str | None:
    """None when ``query`` states every call: each groundable argument value (the semantic
    rules' definition and matching, :mod:`streamer.grounding._grounding`, with the argument's
    name as the only hint: the judge sees no schemas), or the name of a call without
    arguments; else what is missing."""
    g = _grounding()
    mentions = g.Mentions(query)
    for call in calls:
        arguments = call.get("arguments") or {}
        if not isinstance(arguments, dict):
            return str(call.get("name", "the arguments"))
        if not list(_scalars(arguments)):
            name = _human(str(call.get("name", "")))
            if not mentions.grounds(name):
                return name
            continue
        for name, value in arguments.items():
            for scalar, hint in g.groundable(value, {}, str(name)):
                if not mentions.grounds(scalar, hint):
                    return scalar if isinstance(scalar, str) else json.dumps(scalar)
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


def _json_types(schema: Mapping[str, Any]) -> set[str] | None:
    """The JSON types a property allows, or None when its schema is not a plain ``type``
    (enums, const and combinators fail with other reason codes than ``type_mismatch``)."""
    if any(k in schema for k in ("enum", "const", "anyOf", "oneOf", "allOf", "not")):
        return None
    typ = schema.get("type")
    types = {typ} if isinstance(typ, str) else set(typ) if isinstance(typ, list) else None
    if types and "number" in types:
        types.add("integer")
    return types or None


_WRONG_VALUES: tuple[tuple[Any, str], ...] = (
    (12345, "integer"),
    ("not-a-number", "string"),
    (True, "boolean"),
    (["wrong"], "array"),
    (None, "null"),
)


def _wrong_value(types: set[str]) -> tuple[Any] | None:
    """A value (boxed) whose JSON type none of ``types`` allows; None if they allow all."""
    return next(((v,) for v, t in _WRONG_VALUES if t not in types), None)


def _mentions_none(
    query: str, calls: Sequence[Mapping[str, Any]], tools: Mapping[str, Mapping[str, Any]]
) -> bool | None:
    """True when ``query`` states none of the calls' groundable values (by the semantic
    rules' own definition and matching); None when they have none (then no query can be
    ungrounded)."""
    g = _grounding()
    mentions = g.Mentions(query)
    values = []
    for call in calls:
        props = (tools[call["name"]].get("parameters") or {}).get("properties") or {}
        for name, value in call["arguments"].items():
            values += g.groundable(value, props.get(name, {}), name)
    if not values:
        return None
    return not any(mentions.grounds(v, hint) for v, hint in values)


def _corrupt(
    kind: str,
    pair: dict[str, Any],
    tools: Mapping[str, Mapping[str, Any]],
    rng: random.Random,
    exec_failures: Mapping[str, Mapping[str, Any]],
) -> bool:
    """Apply ``kind`` to ``pair`` in place; False (pair unchanged) when it cannot apply so
    that the pair fails for the reason :data:`EXPECTED_REJECTS` names."""
    calls: list[dict[str, Any]] = pair["answers"]
    if kind == "exec_failure" and exec_failures:
        failing = [c for c in calls if c["name"] in exec_failures]
        if not failing:
            return False
        target = rng.choice(failing)
        target["arguments"].update(copy.deepcopy(dict(exec_failures[target["name"]])))
        return True
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
        wrong = {
            p: boxed
            for p in sorted(args)
            if isinstance(props.get(p), Mapping)
            and (types := _json_types(props[p])) is not None
            and (boxed := _wrong_value(types)) is not None
        }
        if not wrong:
            return False
        pname = rng.choice(sorted(wrong))
        args[pname] = wrong[pname][0]
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
        # Mention none of the values the calls use, so the grounding rule rejects the pair
        # whatever share of ungrounded values it tolerates.
        candidates = []
        for _try in range(8):
            other = [
                {
                    "name": c["name"],
                    "arguments": sample_arguments(tools[c["name"]].get("parameters") or {}, rng),
                }
                for c in calls
            ]
            candidates.append(_query(other, rng))
        candidates += rng.sample(_IRRELEVANT, len(_IRRELEVANT))
        for query in candidates:
            verdict = _mentions_none(query, calls, tools)
            if verdict is None:
                return False
            if verdict:
                pair["query"] = query
                return True
        return False
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
    exec_failures: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """``n`` pairs ``{"query", "answers"}`` for ``tools`` (each ``{"name", "description",
    "parameters"}``); per-pair corruptions are drawn from ``corruption`` and counted in
    ``injected``. ``exec_failures`` (function name -> argument values its executor rejects)
    drives ``exec_failure`` when given: only calls of listed functions are then corrupted
    that way; without it, :data:`SIMULATED_EXEC_FAILURE` is used."""
    by_name = {t["name"]: t for t in tools}
    kinds = [(k, r) for k, r in corruption.items() if k in PAIR_CORRUPTIONS and r > 0]
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
        applied = False
        if kind is not None and kind != "query_mismatch":
            applied = _corrupt(kind, pair, by_name, rng, exec_failures or {})
        pair["query"] = _query(calls, rng)
        if kind == "query_mismatch":
            applied = _corrupt(kind, pair, by_name, rng, exec_failures or {})
        if applied and kind is not None:
            injected[kind] += 1
        pairs.append(pair)
    return pairs


def judge_draw(sample: Mapping[str, Any], seed: int) -> float:
    """A uniform number in [0, 1) fixed by the sample's query and calls and ``seed``: the
    ``judge_reject`` draw, independent of batching and arrival order."""
    key = json.dumps([seed, sample.get("query"), sample.get("calls")], sort_keys=True)
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


SIMULATED_JUDGE = "[simulated judge: a rule-based test double, not a model's judgement]"
"""How every verdict of the simulated judge begins, so nobody mistakes it for a judgement."""


def judge_samples(
    samples: Sequence[Mapping[str, Any]],
    reject_rate: float = 0.0,
    seed: int = 0,
    injected: Counter[str] | None = None,
) -> list[dict[str, Any]]:
    """One verdict per sample: passed iff the query states every call (:func:`grounded`:
    values in any written form the semantic rules read) and no result is an error, except
    that a passing sample is rejected (``judge_reject``, counted in ``injected``) when its
    :func:`judge_draw` falls below ``reject_rate``. Every reasoning begins with
    :data:`SIMULATED_JUDGE`."""
    verdicts = []
    for i, sample in enumerate(samples):
        calls = sample.get("calls") or []
        missing = grounded(str(sample.get("query", "")), calls)
        failed = [r for r in sample.get("results") or [] if isinstance(r, dict) and "error" in r]
        if missing is not None:
            passed, why = False, f"the query does not mention {missing!r}"
        elif failed:
            passed, why = False, "a call returned an error"
        elif reject_rate > 0 and judge_draw(sample, seed) < reject_rate:
            passed, why = False, "injected judge_reject"
            if injected is not None:
                injected["judge_reject"] += 1
        else:
            passed, why = True, "every call is grounded in the query"
        verdicts.append(
            {
                "index": sample.get("index", i),
                "passed": passed,
                "reasoning": f"{SIMULATED_JUDGE} {why}",
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
