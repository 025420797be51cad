"""Format checker: ``generations`` -> ``format-pass`` | ``rejects``.

Parses the raw LLM output into query/answer pairs and checks each pair strictly against the
task's tools. Every pair of a generation is kept (a failing pair does not sink its siblings).

Accepted output shapes: ``{"pairs": [pair, ...]}``, a bare list of pairs, or one pair; a pair
is ``{"query": str, "answers": [{"name": str, "arguments": {...}}]}``. ``arguments`` may be a
JSON object or a string holding one (OpenAI ``tool_calls`` style).

Reason codes, in the order they are checked (``docs/checks.md`` has the table and the type
rules)::

    invalid_json       the output is not JSON
    missing_field      no pairs, or a pair/call lacks query, answers, name or arguments
    unknown_function   a call names a function that is not among the task's tools
    invalid_schema     the called function's parameter schema cannot be judged safely
                       (malformed, a reference outside itself, a regex RE2 cannot run, ...)
    unknown_argument   a call passes an argument, or a key inside an object argument, that
                       the schema does not declare
    missing_required   a required argument, or a required key inside one, is absent
    type_mismatch      a value has the wrong JSON type (no coercion: "5" is not a number,
                       3.0 is not an integer, a boolean is never a number)
    enum_violation     a value of the right type is not one of the allowed values
    out_of_range       a value breaks minimum/maximum/length/item-count bounds (or the
                       checker's own bounds on nesting and integer size)
    schema_violation   any other JSON Schema keyword fails
    missing_pair       the output holds fewer pairs than the task asked for (one per pair)
    no_call            the answer has no call, but the query style wants at least one
    style_mismatch     the calls do not fit the query style in another way

Arguments are checked at every depth: inside an object-valued argument, keys the object
schema does not declare are ``unknown_argument`` when it lists ``properties`` and says
nothing else about other keys (see :func:`executors.compile_schema`'s ``close_objects``).
Among several problems the message names the first by the order above (then the shallowest,
then by path), so a wrong-typed value for an enum parameter is a ``type_mismatch``; the path
in the message is JSON-style (``guest.ssn``, ``items[2].name``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema.exceptions import ValidationError

from executors import InvalidSchema, check_value, compile_schema, format_path
from topics import Call, FormatPass, Generation, QueryStyle, Sample, Tool, Topic

from ..runtime._stage import Output, make_reject, stage_version

__all__ = ["FormatChecker", "FormatError", "FormatRules", "check_calls", "parse_pairs"]

_KEYWORD_REASONS = {
    "type": "type_mismatch",
    "enum": "enum_violation",
    "const": "enum_violation",
    "minimum": "out_of_range",
    "maximum": "out_of_range",
    "exclusiveMinimum": "out_of_range",
    "exclusiveMaximum": "out_of_range",
    "minLength": "out_of_range",
    "maxLength": "out_of_range",
    "minItems": "out_of_range",
    "maxItems": "out_of_range",
    "minProperties": "out_of_range",
    "maxProperties": "out_of_range",
    "required": "missing_required",
    "additionalProperties": "unknown_argument",
}
_RANK = {
    reason: rank
    for rank, reason in enumerate(
        ("unknown_argument", "missing_required", "type_mismatch", "enum_violation",
         "out_of_range", "schema_violation")
    )
}  # fmt: skip


class FormatError(Exception):
    """A pair or output that fails the format check, with a stable reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class FormatRules:
    """Configuration of the format checker (part of its version hash).

    min_parallel_calls: calls a parallel or parallel-multiple answer needs at least.
    max_calls: calls one answer may have at most.
    max_query_chars: longest accepted query, in characters.
    """

    min_parallel_calls: int = 2
    max_calls: int = 16
    max_query_chars: int = 4000


@dataclass(frozen=True, slots=True)
class _Pair:
    query: str
    calls: tuple[Call, ...]


def parse_pairs(raw: str) -> list[Any]:
    """The list of raw pair objects in an LLM output; raises :class:`FormatError`."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FormatError("invalid_json", f"output is not JSON: {exc}") from None
    if isinstance(data, dict) and "pairs" in data:
        data = data["pairs"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise FormatError("missing_field", "output holds no query/answer pairs")
    return data


def _parse_pair(obj: Any) -> _Pair:
    if not isinstance(obj, dict):
        raise FormatError("missing_field", f"a pair must be an object, got {type(obj).__name__}")
    query = obj.get("query")
    if not isinstance(query, str) or not query.strip():
        raise FormatError("missing_field", "pair has no non-empty 'query' string")
    answers = obj.get("answers")
    if not isinstance(answers, list):
        raise FormatError("missing_field", "pair has no 'answers' list")
    calls = []
    for i, ans in enumerate(answers):
        if not isinstance(ans, dict):
            raise FormatError("missing_field", f"answers[{i}] is not an object")
        name = ans.get("name")
        if not isinstance(name, str) or not name:
            raise FormatError("missing_field", f"answers[{i}] has no 'name'")
        args = ans.get("arguments", ans.get("parameters"))
        if isinstance(args, str):
            try:
                args = orjson.loads(args)
            except orjson.JSONDecodeError:
                raise FormatError(
                    "invalid_json", f"answers[{i}].arguments of {name!r} is not JSON"
                ) from None
        if not isinstance(args, dict):
            raise FormatError("missing_field", f"answers[{i}] ({name}) has no 'arguments' object")
        calls.append(Call(name, args))
    return _Pair(query.strip(), tuple(calls))


def _reason(error: ValidationError) -> str:
    keyword = str(error.validator)
    context = error.context or []
    # No alternative takes a value of this type: name that, not the combinator.
    if (
        keyword in ("anyOf", "oneOf")
        and context
        and all(c.validator == "type" and not c.relative_path for c in context)
    ):
        return "type_mismatch"
    return _KEYWORD_REASONS.get(keyword, "schema_violation")


def _first_error(errors: list[ValidationError]) -> tuple[str, ValidationError]:
    ranked = sorted(
        ((_reason(e), e) for e in errors),
        key=lambda r: (_RANK[r[0]], len(r[1].absolute_path), format_path(r[1].absolute_path)),
    )
    return ranked[0]


def check_calls(
    calls: Sequence[Call], tools: Sequence[Tool], style: QueryStyle, rules: FormatRules
) -> None:
    """Check calls against the tools' schemas and the style; raises :class:`FormatError`."""
    by_name = {t.name: t for t in tools}
    for call in calls:
        tool = by_name.get(call.name)
        if tool is None:
            raise FormatError("unknown_function", f"{call.name!r} is not one of {sorted(by_name)}")
        if not isinstance(tool.parameters, dict):
            raise FormatError("invalid_schema", f"{call.name}: parameters: must be an object")
        try:
            validator = compile_schema(tool.parameters, where=call.name, close_objects=True)
        except InvalidSchema as exc:
            raise FormatError("invalid_schema", str(exc)) from None
        problem = check_value(call.arguments)
        if problem is not None:
            reason = "type_mismatch" if problem.kind == "not_json" else "out_of_range"
            where = problem.path or "arguments"
            raise FormatError(reason, f"{call.name}: {where}: {problem.message}")
        props = tool.parameters.get("properties", {})
        unknown = sorted(set(call.arguments) - set(props))
        if unknown:
            raise FormatError("unknown_argument", f"{call.name}: unknown argument(s) {unknown}")
        missing = [r for r in tool.parameters.get("required", ()) if r not in call.arguments]
        if missing:
            raise FormatError(
                "missing_required", f"{call.name}: missing required argument(s) {missing}"
            )
        try:
            errors = validator.errors(call.arguments, where=call.name)
        except InvalidSchema as exc:
            raise FormatError("invalid_schema", str(exc)) from None
        if errors:
            reason, first = _first_error(errors)
            where = format_path(first.absolute_path) or "arguments"
            raise FormatError(reason, f"{call.name}: {where}: {first.message}")
    _check_style(calls, style, rules)


def _check_style(calls: Sequence[Call], style: QueryStyle, rules: FormatRules) -> None:
    n = len(calls)
    names = {c.name for c in calls}
    if n > rules.max_calls:
        raise FormatError("style_mismatch", f"{n} calls exceed the maximum of {rules.max_calls}")
    if style is QueryStyle.IRRELEVANCE:
        if n:
            raise FormatError("style_mismatch", f"irrelevance expects no call, got {n}")
        return
    if n == 0:
        raise FormatError("no_call", f"{style} expects at least one call, got none")
    if style in (QueryStyle.SIMPLE, QueryStyle.MULTIPLE) and n != 1:
        raise FormatError("style_mismatch", f"{style} expects exactly one call, got {n}")
    if style is QueryStyle.PARALLEL:
        if n < rules.min_parallel_calls:
            raise FormatError(
                "style_mismatch", f"parallel expects >= {rules.min_parallel_calls} calls, got {n}"
            )
        if len(names) != 1:
            raise FormatError("style_mismatch", f"parallel calls one function, got {sorted(names)}")
    if style is QueryStyle.PARALLEL_MULTIPLE:
        if n < rules.min_parallel_calls:
            raise FormatError(
                "style_mismatch",
                f"parallel_multiple expects >= {rules.min_parallel_calls} calls, got {n}",
            )
        if len(names) < 2:
            raise FormatError(
                "style_mismatch", f"parallel_multiple calls >= 2 functions, got {sorted(names)}"
            )


class FormatChecker:
    """The format stage. ``rules`` are part of its version."""

    name = "format"
    input_topic = Topic.GENERATIONS
    input_type = Generation

    def __init__(self, rules: FormatRules | None = None, *, version_name: str = "format-v2"):
        self.rules = rules or FormatRules()
        self.version = stage_version(version_name, self.rules)

    def check(self, raw: str, sample: Sample) -> list[_Pair | FormatError]:
        """Per pair, the parsed pair or why it failed; a whole-output failure raises."""
        results: list[_Pair | FormatError] = []
        for obj in parse_pairs(raw):
            try:
                pair = _parse_pair(obj)
                if len(pair.query) > self.rules.max_query_chars:
                    raise FormatError(
                        "out_of_range", f"query longer than {self.rules.max_query_chars} chars"
                    )
                check_calls(pair.calls, sample.tools, sample.style, self.rules)
            except FormatError as exc:
                results.append(exc)
            else:
                results.append(pair)
        return results

    async def process(self, event: Generation) -> list[Output]:
        try:
            checked = self.check(event.raw, event.sample)
        except FormatError as exc:
            return [self._reject(event, exc, -1)]
        outputs: list[Output] = []
        asked = event.sample.settings.pairs
        for index in range(len(checked), asked):
            missing = FormatError(
                "missing_pair", f"the output holds {len(checked)} pair(s); {asked} were asked for"
            )
            outputs.append(self._reject(event, missing, index))
        for index, item in enumerate(checked):
            if isinstance(item, FormatError):
                outputs.append(self._reject(event, item, index))
                continue
            outputs.append(
                Output(
                    Topic.FORMAT_PASS,
                    FormatPass(
                        meta=event.meta.child(self.name, self.version, str(index)),
                        sample=event.sample,
                        model=event.model,
                        pair_index=index,
                        query=item.query,
                        calls=item.calls,
                    ),
                )
            )
        return outputs

    def _reject(self, event: Generation, exc: FormatError, index: int) -> Output:
        return make_reject(
            self.name,
            self.version,
            reason=exc.reason,
            message=exc.message,
            event=event,
            input_topic=self.input_topic,
            discriminator=str(index),
            pair_index=index,
        )
