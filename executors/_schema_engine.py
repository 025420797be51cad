"""The validator behind :func:`~executors.compile_schema`: jsonschema's Draft 2020-12 with
the checker's type rules, regexes on RE2, no retrieval, and the metaschema in one document.

- :data:`SafeValidator`: ``integer`` is an integer as written (``3.0`` is not), ``number``
  an integer or a finite float, never a boolean. ``pattern``, ``patternProperties`` and
  ``additionalProperties`` (which matches pattern properties) run their regexes on RE2:
  linear time, memory bounded by :data:`REGEX_MAX_MEMORY_BYTES`. An unknown key is reported
  at its own path (``guest.ssn``), a missing required key at the path it should have.
- :data:`REFUSING_REGISTRY`: resolves nothing that is not in the schema itself; its
  retriever refuses every URI, so validation can never open a socket or a file.
- :data:`METASCHEMA_VALIDATOR` and :func:`plainly_valid`: the metaschema check, with a
  fast path for schemas in their plainest valid form.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import re2  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS  # type: ignore[import-untyped]
from referencing import Registry, Resource

__all__ = [
    "KNOWN_KEYWORDS",
    "MAX_CACHED_REGEXES",
    "METASCHEMA_VALIDATOR",
    "REFUSING_REGISTRY",
    "REGEX_MAX_MEMORY_BYTES",
    "SafeValidator",
    "plainly_valid",
    "regex",
]

REGEX_MAX_MEMORY_BYTES = 8 << 20
"""Memory RE2 may use for one compiled regex, in bytes (RE2's default, 8 MiB)."""
MAX_CACHED_REGEXES = 4096
"""Compiled regexes kept in the process, least recently used dropped."""
_REGEX_OPTIONS = re2.Options()
_REGEX_OPTIONS.log_errors = False
_REGEX_OPTIONS.max_mem = REGEX_MAX_MEMORY_BYTES


def _refuse(uri: str) -> Resource[Any]:
    raise LookupError(f"{uri}: retrieval refused (only references inside the schema resolve)")


REFUSING_REGISTRY: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def _bundled_metaschema() -> dict[str, Any]:
    """The Draft 2020-12 metaschema as one document: its vocabularies' ``properties`` and
    ``$defs`` merged, ``$dynamicRef: "#meta"`` as ``$ref: "#"`` (what it resolves to for a
    schema that does not extend the vocabularies). The same verdicts, five times faster
    than following the dynamic references (tests/security/test_schema_safety.py compares)."""
    base = "https://json-schema.org/draft/2020-12/"
    top = SPECIFICATIONS.contents(f"{base}schema")
    merged: dict[str, Any] = {"type": ["object", "boolean"], "properties": {}, "$defs": {}}
    for part in [*(SPECIFICATIONS.contents(base + p["$ref"]) for p in top["allOf"]), top]:
        merged["properties"].update(_local_refs(part.get("properties", {})))
        merged["$defs"].update(_local_refs(part.get("$defs", {})))
    return merged


def _local_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_local_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _local_refs(v) for k, v in node.items() if k != "$dynamicRef"}
    if node.get("$dynamicRef") == "#meta":
        out["$ref"] = "#"
    if isinstance(out.get("$ref"), str) and out["$ref"] != "#":
        out["$ref"] = "#" + out["$ref"].split("#", 1)[1]  # meta/validation#/$defs/x
    return out


_METASCHEMA = _bundled_metaschema()
METASCHEMA_VALIDATOR = Draft202012Validator(_METASCHEMA, registry=REFUSING_REGISTRY)
"""The metaschema's validator; no format assertions (``format: regex`` would compile
patterns on Python's backtracking engine)."""
KNOWN_KEYWORDS = frozenset(_METASCHEMA["properties"])
"""Keywords the metaschema constrains; any other keyword may hold anything."""


_SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_TEXT = frozenset({"description", "title", "format", "pattern", "$comment", "$ref"})
_ANY = frozenset({"default", "const"})
_NUMBER = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_COUNT = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties",
                    "maxProperties"})  # fmt: skip
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf"})


def plainly_valid(schema: Any) -> bool:
    """True when ``schema`` uses only the everyday keywords, each in its plainest valid
    form: then the metaschema would accept it, and its walk (the slowest part of a
    compile) is skipped. False means "ask the metaschema", not "invalid";
    tests/security/test_schema_safety.py checks the implication on generated schemas."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return False
        for key, value in node.items():
            if key == "type":
                ok = (isinstance(value, str) and value in _SIMPLE_TYPES) or (
                    isinstance(value, list)
                    and all(isinstance(t, str) and t in _SIMPLE_TYPES for t in value)
                    and 0 < len(set(value)) == len(value)
                )
            elif key in _TEXT:
                ok = isinstance(value, str)
            elif key in _ANY or key not in KNOWN_KEYWORDS:
                ok = True
            elif key in ("enum", "examples"):
                ok = isinstance(value, list)
            elif key == "required":
                ok = (
                    isinstance(value, list)
                    and all(isinstance(r, str) for r in value)
                    and len(set(value)) == len(value)
                )
            elif key in _NUMBER:
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            elif key in _COUNT:
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            elif key == "uniqueItems":
                ok = isinstance(value, bool)
            elif key in ("items", "additionalProperties"):
                ok = True
                stack.append(value)
            elif key in _SCHEMA_MAPS:
                ok = isinstance(value, dict)
                stack.extend(value.values() if ok else ())
            elif key in _SCHEMA_LISTS:
                ok = isinstance(value, list) and bool(value)
                stack.extend(value if ok else ())
            else:
                ok = False
            if not ok:
                return False
    return True


@functools.lru_cache(maxsize=MAX_CACHED_REGEXES)
def regex(pattern: str) -> Any:
    """``pattern`` compiled for RE2 (cached); raises ``re2.error`` if RE2 cannot run it."""
    return re2.compile(pattern, _REGEX_OPTIONS)


# Keywords that would run a regex on Python's backtracking engine, redone on RE2.


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not regex(pattern).search(instance):
        yield ValidationError(f"{_short(instance)} does not match {pattern!r}")


def _matches_any(name: str, patterns: Any) -> bool:
    return any(regex(p).search(name) for p in patterns)


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = regex(pattern)
        for k, v in instance.items():
            if compiled.search(k):
                yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = [k for k in instance if k not in declared and not _matches_any(k, patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif additional is False:
        known = sorted(declared)
        for extra in extras:
            yield ValidationError(f"unknown key (declared: {known})", path=[extra])


def _required(
    validator: Any, required: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError("required key is missing", path=[name])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (isinstance(instance, float) and math.isfinite(instance))


SafeValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "required": _required,
    },
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)
