"""Format checker: ``generations`` -> ``format-pass`` | ``rejects``.

Parses the raw LLM output into query/answer pairs and checks each pair strictly against the
task's tools. Every pair of a generation is kept (a failing pair does not sink its siblings).

Accepted output shapes: ``{"pairs": [pair, ...]}``, a bare list of pairs, or one pair; a pair
is ``{"query": str, "answers": [{"name": str, "arguments": {...}}]}``. ``arguments`` may be a
JSON object or a string holding one (OpenAI ``tool_calls`` style).

Reason codes, in the order they are checked::

    invalid_json       the output is not JSON
    missing_field      no pairs, or a pair/call lacks query, answers, name or arguments
    unknown_function   a call names a function that is not among the task's tools
    unknown_argument   a call passes an argument the function does not declare
    missing_required   a required argument is absent
    type_mismatch      a value has the wrong JSON type (no coercion: "5" is not a number)
    enum_violation     a value is not one of the allowed values
    out_of_range       a value breaks minimum/maximum/length/item-count bounds
    schema_violation   any other JSON Schema keyword fails
    missing_pair       the output holds fewer pairs than the task asked for (one per pair)
    style_mismatch     the calls do not fit the query style
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from topics import Call, FormatPass, Generation, QueryStyle, Sample, Tool, Topic

from .._stage import Output, make_reject, stage_version

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
    "required": "missing_required",
    "additionalProperties": "unknown_argument",
}


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


_VALIDATORS: dict[bytes, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    validator = _VALIDATORS.get(key)
    if validator is None:
        if len(_VALIDATORS) > 4096:
            _VALIDATORS.clear()
        validator = _VALIDATORS[key] = Draft202012Validator(schema)
    return validator


def _describe(error: ValidationError, function: str) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "arguments"
    return f"{function}: {where}: {error.message}"


def check_calls(
    calls: Sequence[Call], tools: Sequence[Tool], style: QueryStyle, rules: FormatRules
) -> None:
    """Check calls against the tools' schemas and the style; raises :class:`FormatError`."""
    by_name = {t.name: t for t in tools}
    for call in calls:
        tool = by_name.get(call.name)
        if tool is None:
            raise FormatError("unknown_function", f"{call.name!r} is not one of {sorted(by_name)}")
        props = tool.parameters.get("properties", {})
        unknown = sorted(set(call.arguments) - set(props))
        if unknown:
            raise FormatError("unknown_argument", f"{call.name}: unknown argument(s) {unknown}")
        missing = [r for r in tool.parameters.get("required", ()) if r not in call.arguments]
        if missing:
            raise FormatError(
                "missing_required", f"{call.name}: missing required argument(s) {missing}"
            )
        errors = sorted(
            _validator(tool.parameters).iter_errors(call.arguments),
            key=lambda e: (len(e.absolute_path), str(e.validator)),
        )
        if errors:
            first = errors[0]
            reason = _KEYWORD_REASONS.get(str(first.validator), "schema_violation")
            raise FormatError(reason, _describe(first, call.name))
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
        raise FormatError("style_mismatch", f"{style} expects at least one call, got none")
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

    def __init__(self, rules: FormatRules | None = None, *, version_name: str = "format-v1"):
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
