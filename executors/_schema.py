"""JSON Schemas that come from data, compiled safely.

Tool parameters in datasets, catalogues, MCP listings and generator outputs are hostile
input. :func:`compile_schema` turns one into a :class:`SchemaValidator` or raises
:class:`~executors.InvalidSchema` (reason ``invalid_schema``) naming the field, after:

1. **Bounds** on the document, checked without recursion: :data:`MAX_SCHEMA_DEPTH`
   nesting levels, :data:`MAX_SCHEMA_NODES` values, string keys, integers within
   :data:`INTEGER_RANGE`, no NaN or Infinity (JSON has neither).
2. **The Draft 2020-12 metaschema**: a ``type`` list holding an object, an ``anyOf`` that is
   not a list, properties that are not schemas, a ``required`` that is not a list of names.
3. **References inside the document only.** A ``$ref`` must start with ``#`` (a JSON pointer
   such as ``#/$defs/Guest`` or an anchor) and resolve in the schema itself; ``http://``,
   ``file://`` and relative references are refused by name. The registry's retriever refuses
   every URI as well, so no schema can make validation open a socket or a file. ``$schema``
   is ignored (every schema is judged as Draft 2020-12 with the type rules below), and the
   dynamic-scope keywords (``$dynamicRef``, ``$recursiveRef`` and their anchors) are refused.
4. **Regexes on RE2**: ``pattern`` and ``patternProperties`` run on RE2 (linear time, memory
   bounded by :data:`REGEX_MAX_MEMORY_BYTES`), so ``(a+)+$`` against a long string cannot
   hang. A pattern RE2 cannot run (lookaround, backreferences) or longer than
   :data:`MAX_PATTERN_CHARS` is refused.

Validation semantics (the type rules of ``docs/checks.md``): ``integer`` is an integer as
written (``3.0`` is not one), ``number`` is an integer or a finite float, a boolean is never
a number, a string is never coerced. Argument values are bounded like schemas
(:func:`check_value`). A reference loop that applies a schema to the same value without
end is refused at compile time; anything that still goes wrong inside validation is an
:class:`~executors.InvalidSchema`, never another exception. The validator itself lives in
:mod:`executors._schema_engine`; this module decides what may be compiled.

Compiled validators are cached by the schema's canonical JSON (at most
:data:`MAX_CACHED_SCHEMAS`, least recently used first out); an invalid schema is cached as
its error.

Usage::

    validator = compile_schema(tool.parameters, where="get_weather", close_objects=True)
    problem = check_value(arguments)
    errors = validator.errors(arguments)  # jsonschema ValidationErrors, absolute paths
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import re2  # type: ignore[import-untyped]
import referencing.exceptions
from jsonschema.exceptions import ValidationError, best_match
from referencing.jsonschema import DRAFT202012

from ._errors import InvalidSchema
from ._schema_engine import (
    METASCHEMA_VALIDATOR,
    REFUSING_REGISTRY,
    REGEX_MAX_MEMORY_BYTES,
    SafeValidator,
    plainly_valid,
    regex,
)

__all__ = [
    "INTEGER_RANGE",
    "MAX_CACHED_SCHEMAS",
    "MAX_PATTERN_CHARS",
    "MAX_SCHEMA_DEPTH",
    "MAX_SCHEMA_NODES",
    "MAX_VALUE_DEPTH",
    "REGEX_MAX_MEMORY_BYTES",
    "SchemaValidator",
    "ValueProblem",
    "check_value",
    "compile_schema",
    "format_path",
]

MAX_SCHEMA_DEPTH = 64
"""Nesting levels (objects and arrays) one schema document may have; a property schema
nested in ``properties`` costs two. Real tool schemas stay under 10; jsonschema recurses
once per level, so the bound keeps validation far from Python's recursion limit."""
MAX_SCHEMA_NODES = 50_000
"""JSON values (objects, arrays, scalars) one schema document may hold: about a megabyte of
schema, far above any real tool's (the largest OpenAPI operation here has a few thousand)."""
MAX_VALUE_DEPTH = 32
"""Nesting levels (objects and arrays) one argument value may have."""
INTEGER_RANGE = (-(2**63), 2**64 - 1)
"""Integers, in schemas and values, must lie in this range: what JSON encoders (orjson
included) carry exactly. Larger ones would make arithmetic and error messages unbounded."""
MAX_PATTERN_CHARS = 1_000
"""Longest ``pattern`` or ``patternProperties`` regex, in characters."""
MAX_CACHED_SCHEMAS = 4096
"""Compiled schemas (or their errors) kept in the process, least recently used dropped."""
MAX_ERRORS = 1_000
"""Validation errors collected per value; the rest of a hopeless value is not examined."""

_DYNAMIC = ("$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor")
_IN_VALUE = (
    "additionalProperties", "contains", "contentSchema", "else", "if", "items", "not",
    "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip
_IN_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_IN_MAP = ("$defs", "definitions", "dependentSchemas", "patternProperties", "properties")
_COMBINING = (
    "allOf", "anyOf", "oneOf", "$ref", "if", "then", "else", "dependentSchemas",
    "additionalProperties", "patternProperties", "unevaluatedProperties",
)  # fmt: skip
"""Keywords beside which ``properties`` does not say the whole shape (never closed)."""
_SAME_VALUE = frozenset({"$ref", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
                         "dependentSchemas"})  # fmt: skip
"""Keywords that apply a subschema to the same value: a loop through only these never ends."""


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """Why a value is not judged at all: ``kind`` is ``not_json`` (NaN, Infinity, a set, a
    non-string key: no JSON value) or ``too_large`` (nesting or an integer past the bounds);
    ``path`` is where, as :func:`format_path` writes it."""

    kind: Literal["not_json", "too_large"]
    path: str
    message: str


def format_path(parts: Any) -> str:
    """``guest.ssn``, ``items[2].name``: a JSON path for messages (``""`` for the root)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{orjson.dumps(str(part)).decode()}]"
    return out


def _field_path(parts: Any) -> str:
    """``properties.guest.anyOf[1]``: a field path inside a schema, the way
    :class:`~executors.SpecError` names fields, clipped to a readable length."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out if len(out) <= 160 else f"{out[:100]}...{out[-50:]}"


def check_value(value: Any, *, max_depth: int = MAX_VALUE_DEPTH) -> ValueProblem | None:
    """The first reason ``value`` cannot be judged as JSON, or None (no recursion)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > max_depth:
            where = format_path(path)
            where = where if len(where) <= 160 else f"{where[:100]}...{where[-50:]}"
            return ValueProblem("too_large", where, f"nested deeper than {max_depth} levels")
        problem = _scalar_problem(node)
        if problem is not None:
            return ValueProblem(problem[0], format_path(path), problem[1])
        if isinstance(node, dict):
            for key, sub in node.items():
                if not isinstance(key, str):
                    return ValueProblem("not_json", format_path(path), f"key {key!r} not a string")
                stack.append((sub, (*path, key)))
        elif isinstance(node, list):
            stack.extend((sub, (*path, i)) for i, sub in enumerate(node))
    return None


def _scalar_problem(node: Any) -> tuple[Literal["not_json", "too_large"], str] | None:
    if node is None or isinstance(node, str | bool | dict | list):
        return None
    if isinstance(node, int):
        low, high = INTEGER_RANGE
        return None if low <= node <= high else ("too_large", "integer outside 64 bits")
    if isinstance(node, float):
        return None if math.isfinite(node) else ("not_json", f"{node} is not a JSON number")
    return ("not_json", f"a {type(node).__name__} is not a JSON value")


class SchemaValidator:
    """A compiled schema: :meth:`errors` validates a value with the safe semantics."""

    __slots__ = ("_validator", "schema")

    def __init__(self, schema: dict[str, Any] | bool) -> None:
        self.schema = schema
        self._validator = SafeValidator(schema, registry=REFUSING_REGISTRY)

    def __repr__(self) -> str:
        return f"<SchemaValidator {len(orjson.dumps(self.schema))} bytes>"

    def errors(self, value: Any, *, where: str = "<schema>") -> list[ValidationError]:
        """Every error (up to :data:`MAX_ERRORS`) of ``value``; raises
        :class:`~executors.InvalidSchema` if the schema cannot be evaluated on it."""
        found: list[ValidationError] = []
        try:
            for error in self._validator.iter_errors(value):
                found.append(error)
                if len(found) >= MAX_ERRORS:
                    break
        except RecursionError:
            raise InvalidSchema(where, "parameters", "references loop without end") from None
        except Exception as exc:  # a schema that passed every check and still fails
            raise InvalidSchema(
                where, "parameters", f"cannot be evaluated: {type(exc).__name__}: {exc}"
            ) from None
        return found


@dataclass(frozen=True, slots=True)
class _Problem:
    field: str
    problem: str


def compile_schema(
    schema: Any, *, where: str = "<schema>", field: str = "parameters", close_objects: bool = False
) -> SchemaValidator:
    """``schema`` compiled (cached); raises :class:`~executors.InvalidSchema` naming
    ``where`` and ``field`` plus the path inside the schema.

    ``close_objects`` judges the way tool schemas are meant (BFCL, OpenAI tools): an object
    schema that lists ``properties`` and says nothing else about other keys accepts no
    other keys, as if it said ``"additionalProperties": false``. An object schema without
    ``properties`` stays open, and so does one combined with ``allOf``, ``$ref``,
    ``if``/``then``/``else`` or pattern properties, or referenced from an ``allOf``
    (closing one part would reject the keys of the others).
    """
    try:
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        entry: SchemaValidator | _Problem = _document_problem(schema) or _Problem(
            "", "is not JSON data"
        )
    else:
        found = _CACHE.get((key, close_objects))
        if found is None:
            # The bounds are checked on the caller's schema (orjson writes NaN as null, so
            # only the original shows it); the validator is built from a fresh copy, so a
            # caller that mutates its dict later cannot change a cached validator.
            found = _document_problem(schema) or _compile(orjson.loads(key), close_objects)
            _CACHE.put((key, close_objects), found)
        entry = found
    if isinstance(entry, SchemaValidator):
        return entry
    raise InvalidSchema(where, _join(field, entry.field), entry.problem)


class _Lru:
    """A bounded least-recently-used map, safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, bool], SchemaValidator | _Problem] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<_Lru {len(self._items)}/{self.size}>"

    def get(self, key: tuple[bytes, bool]) -> SchemaValidator | _Problem | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[bytes, bool], value: SchemaValidator | _Problem) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_CACHE = _Lru(MAX_CACHED_SCHEMAS)


def _compile(schema: Any, close_objects: bool) -> SchemaValidator | _Problem:
    if not isinstance(schema, dict | bool):
        return _Problem("", "must be a JSON Schema object")
    try:
        error = (
            None if plainly_valid(schema) else best_match(METASCHEMA_VALIDATOR.iter_errors(schema))
        )
        if error is not None:
            return _Problem(_field_path(error.absolute_path), error.message[:300])
        _prepare(schema, close_objects=close_objects)
        return SchemaValidator(schema)
    except _Refused as exc:
        return _Problem(exc.field, exc.problem)
    except RecursionError:
        return _Problem("", "nested too deeply to compile")
    except Exception as exc:  # referencing's own refusals, and anything unforeseen
        return _Problem("", f"cannot be compiled: {type(exc).__name__}: {exc}")


def _join(field: str, sub: str) -> str:
    if not sub or not field:
        return field or sub
    return f"{field}{sub}" if sub.startswith("[") else f"{field}.{sub}"


def _document_problem(schema: Any) -> _Problem | None:
    """Bounds on the whole document (every value, data keywords included)."""
    nodes = 0
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        nodes += 1
        if nodes > MAX_SCHEMA_NODES:
            return _Problem("", f"holds more than {MAX_SCHEMA_NODES} values")
        if len(path) > MAX_SCHEMA_DEPTH:
            return _Problem(_field_path(path), f"nests deeper than {MAX_SCHEMA_DEPTH} levels")
        problem = _scalar_problem(node)
        if problem is not None:
            return _Problem(_field_path(path), problem[1])
        if isinstance(node, dict):
            for k, sub in node.items():
                if not isinstance(k, str):
                    return _Problem(_field_path(path), f"key {k!r} is not a string")
                stack.append((sub, (*path, k)))
        elif isinstance(node, list):
            stack.extend((sub, (*path, i)) for i, sub in enumerate(node))
    return None


class _Refused(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _prepare(schema: dict[str, Any] | bool, *, close_objects: bool) -> None:
    """Walk every place a validator can reach (subschemas and ``$ref`` targets), in place:
    refuse what cannot be judged safely, drop ``$schema``, close objects if asked."""
    root = DRAFT202012.create_resource(schema)
    resolver = REFUSING_REGISTRY.resolver_with_root(root)
    seen: set[int] = set()
    allof_refs: set[str] = set()
    closable: list[dict[str, Any]] = []
    same: dict[int, list[int]] = {}
    places: dict[int, str] = {}
    stack: list[tuple[Any, Any, tuple[str | int, ...], str, int]] = [(schema, resolver, (), "", 0)]
    while stack:
        node, res, path, via, parent = stack.pop()
        if via in _SAME_VALUE:
            same.setdefault(parent, []).append(id(node))
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        where = places[id(node)] = _field_path(path)
        if via == "$ref":  # a target outside the subschemas the metaschema walked
            error = best_match(METASCHEMA_VALIDATOR.iter_errors(node))
            if error is not None:
                raise _Refused(_join(where, _field_path(error.absolute_path)), error.message[:300])
        node.pop("$schema", None)
        for keyword in _DYNAMIC:
            if keyword in node:
                raise _Refused(
                    _join(where, keyword), f"{node[keyword]!r}: dynamic references are refused"
                )
        if "$id" in node and path:
            res = res.in_subresource(DRAFT202012.create_resource(node))
        if "$ref" in node:
            target = _lookup(res, node["$ref"], where)
            if via == "allOf":
                allof_refs.add(node["$ref"])
            stack.append((target.contents, target.resolver, (*path, "$ref"), "$ref", id(node)))
        if "pattern" in node:
            _regex_checked(node["pattern"], _join(where, "pattern"))
        for pattern in node.get("patternProperties", {}):
            _regex_checked(pattern, _join(where, "patternProperties"))
        if "unevaluatedProperties" in node and '"patternProperties"' in _text(schema):
            raise _Refused(
                _join(where, "unevaluatedProperties"),
                "is not supported together with patternProperties",
            )
        if close_objects and via != "allOf":
            closable.append(node)
        for keyword in _IN_VALUE:
            if keyword in node:
                stack.append((node[keyword], res, (*path, keyword), keyword, id(node)))
        for keyword in _IN_LIST:
            for i, sub in enumerate(node.get(keyword, ())):
                stack.append((sub, res, (*path, keyword, i), keyword, id(node)))
        for keyword in _IN_MAP:
            for name, sub in node.get(keyword, {}).items():
                stack.append((sub, res, (*path, keyword, name), keyword, id(node)))
    looping = _on_a_loop(same)
    if looping is not None:
        raise _Refused(places.get(looping, ""), "applies itself to the same value without end")
    if close_objects:
        shared = {id(_lookup(resolver, ref, "").contents) for ref in allof_refs}
        for node in closable:
            props = node.get("properties")
            if (
                isinstance(props, dict)
                and props
                and id(node) not in shared
                and not any(k in node for k in _COMBINING)
            ):
                node["additionalProperties"] = False


def _on_a_loop(edges: dict[int, list[int]]) -> int | None:
    """A node on a cycle of ``edges``, or None (iterative depth-first search)."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        if start in state:
            continue
        state[start] = 1
        path = [(start, iter(edges.get(start, ())))]
        while path:
            node, children = path[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                path.pop()
            elif state.get(child) == 1:
                return child
            elif child not in state:
                state[child] = 1
                path.append((child, iter(edges.get(child, ()))))
    return None


def _text(schema: Any) -> str:
    return orjson.dumps(schema).decode()


def _lookup(resolver: Any, ref: Any, where: str) -> Any:
    field = _join(where, "$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise _Refused(field, f"{ref!r} is outside the schema; only '#...' references resolve")
    try:
        resolved = resolver.lookup(ref)
    except referencing.exceptions.Unresolvable:
        raise _Refused(field, f"{ref!r} does not resolve inside the schema") from None
    if not isinstance(resolved.contents, dict | bool):
        raise _Refused(field, f"{ref!r} points at a {type(resolved.contents).__name__}, no schema")
    return resolved


def _regex_checked(pattern: Any, field: str) -> None:
    if not isinstance(pattern, str):
        raise _Refused(field, "must be a string")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise _Refused(field, f"regex longer than {MAX_PATTERN_CHARS} characters")
    try:
        regex(pattern)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise _Refused(field, f"regex {pattern[:80]!r} cannot run on RE2: {detail}") from None
