"""Python callables -> :class:`~executors.ApiSpec`.

:func:`spec_from_callable` reads a function's signature, its type hints and its Google- or
NumPy-style docstring (parsed by ``docstring-parser``) and builds a spec bound to the
function by :class:`~executors.PythonBinding` (``module`` + ``__qualname__``).

Type hints map to JSON Schema as follows::

    int -> integer          float, int | float -> number      str -> string
    bool -> boolean         list[X], tuple[X, ...] -> array (items X)
    tuple[X, Y] -> array (items, minItems = maxItems = 2)
    dict, dict[str, X] -> object    Literal["a", "b"] -> enum
    X | None, Optional[X] -> X or null     other unions -> anyOf     Any -> {} (anything)

Documentation is not optional: a parameter without a hint or without a description in the
docstring, a function without a description, ``*args``/``**kwargs`` or positional-only
parameters (the executor calls with keyword arguments) raise :class:`SpecError` naming the
function and the parameter. Parameters with defaults are optional and carry ``default``.

Example::

    def area(radius: float) -> float:
        '''Area of a circle.

        Args:
            radius: The radius, in metres.

        Returns:
            The area, in square metres.
        '''

    spec = spec_from_callable(area, category="geometry")
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

import docstring_parser

from .._errors import SpecError
from .._spec import ApiSpec, PythonBinding

__all__ = ["spec_from_callable"]

_SCALARS: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean"}
_JSON_DEFAULT_TYPES = (int, float, str, bool, type(None), list, tuple, dict)
_MAX_DEFAULT_DEPTH = 32


def spec_from_callable(
    fn: Callable[..., Any], *, category: str, source: str | None = None
) -> ApiSpec:
    """Build a validated :class:`ApiSpec` from a documented, type-hinted function.

    ``source`` defaults to ``python:<category>``. Raises :class:`SpecError` when the
    function is not fully documented or a hint has no JSON Schema equivalent.
    """
    name = str(getattr(fn, "__name__", "") or repr(fn))
    where = f"python:{getattr(fn, '__module__', '?')}.{name}"
    if not callable(fn):
        raise SpecError(where, "<root>", f"{fn!r} is not callable")
    try:
        signature = inspect.signature(fn)
    except (ValueError, TypeError) as exc:  # builtins without one, odd __signature__
        raise SpecError(where, "signature", f"cannot read the signature: {exc}") from None
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # a string annotation is evaluated: any error can come out
        problem = f"cannot resolve type hints: {type(exc).__name__}: {exc}"
        raise SpecError(where, "annotations", problem) from None
    try:
        doc = docstring_parser.parse(inspect.getdoc(fn) or "")
    except docstring_parser.ParseError as exc:
        raise SpecError(where, "description", f"cannot parse the docstring: {exc}") from None
    description = "\n\n".join(
        part.strip() for part in (doc.short_description, doc.long_description) if part
    )
    if not description:
        raise SpecError(where, "description", f"function {name!r} has no docstring description")
    param_docs = {p.arg_name: (p.description or "").strip() for p in doc.params}

    properties: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in signature.parameters.items():
        field = f"parameters.{pname}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise SpecError(where, field, f"{name}: *args/**kwargs cannot be described")
        if param.kind is param.POSITIONAL_ONLY:
            raise SpecError(where, field, f"{name}: positional-only parameter {pname!r}")
        if pname not in hints:
            raise SpecError(where, field, f"{name}: parameter {pname!r} has no type hint")
        if not param_docs.get(pname):
            raise SpecError(where, field, f"{name}: parameter {pname!r} has no description")
        schema = dict(_schema_for(hints[pname], where=where, field=field))
        schema["description"] = param_docs[pname]
        if param.default is param.empty:
            required.append(pname)
        else:
            schema["default"] = _json_default(param.default, where=where, field=field)
        properties[pname] = schema

    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    parameters["required"] = required
    returns = (doc.returns.description or "").strip() if doc.returns else ""
    return ApiSpec.create(
        where=where,
        name=name,
        description=description,
        parameters=parameters,
        category=category,
        returns=returns,
        binding=PythonBinding(module=fn.__module__, function=fn.__qualname__),
        source=source if source is not None else f"python:{category}",
    )


def _schema_for(hint: Any, *, where: str, field: str) -> dict[str, Any]:
    if hint is Any:
        return {}
    if isinstance(hint, type) and hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if hint is list or hint is tuple:
        return {"type": "array"}
    if hint is dict:
        return {"type": "object"}
    if hint is type(None):
        return {"type": "null"}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        return _literal_schema(args, where=where, field=field)
    if origin in (Union, types.UnionType):
        return _union_schema(args, where=where, field=field)
    if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return {"type": "array", "items": _schema_for(args[0], where=where, field=field)}
    if origin is tuple:
        items = [_schema_for(a, where=where, field=field) for a in args]
        first = items[0] if items else {}
        schema: dict[str, Any] = {"type": "array", "minItems": len(items), "maxItems": len(items)}
        if all(item == first for item in items):
            schema["items"] = first
        else:
            schema["prefixItems"] = items
        return schema
    if origin is dict:
        schema = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            schema["additionalProperties"] = _schema_for(args[1], where=where, field=field)
        return schema
    raise SpecError(where, field, f"type hint {hint!r} has no JSON Schema equivalent")


def _literal_schema(values: tuple[Any, ...], *, where: str, field: str) -> dict[str, Any]:
    kinds = {_SCALARS.get(type(v)) for v in values}
    if None in kinds:
        raise SpecError(where, field, f"Literal values {values!r} must be str/int/float/bool")
    schema: dict[str, Any] = {"enum": list(values)}
    if len(kinds) == 1:
        schema["type"] = kinds.pop()
    return schema


def _union_schema(args: tuple[Any, ...], *, where: str, field: str) -> dict[str, Any]:
    nullable = type(None) in args
    members = [a for a in args if a is not type(None)]
    if set(members) == {int, float}:
        base: dict[str, Any] = {"type": "number"}
    elif len(members) == 1:
        base = _schema_for(members[0], where=where, field=field)
    else:
        subs = [_schema_for(m, where=where, field=field) for m in members]
        if all(set(s) == {"type"} and isinstance(s["type"], str) for s in subs):
            base = {"type": [s["type"] for s in subs]}
        else:
            base = {"anyOf": subs}
    if not nullable:
        return base
    if base == {}:
        return base
    typ = base.get("type")
    if isinstance(typ, str):
        return {**base, "type": [typ, "null"]}
    if isinstance(typ, list):
        return {**base, "type": [*typ, "null"]}
    if "anyOf" in base:
        return {"anyOf": [*base["anyOf"], {"type": "null"}]}
    return {"anyOf": [base, {"type": "null"}]}


def _json_default(value: Any, *, where: str, field: str, depth: int = 0) -> Any:
    if not isinstance(value, _JSON_DEFAULT_TYPES) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise SpecError(where, f"{field}.default", f"default {value!r} is not JSON-compatible")
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise SpecError(where, f"{field}.default", "default is beyond the 64-bit range")
    if depth > _MAX_DEFAULT_DEPTH:
        raise SpecError(where, f"{field}.default", "default is nested too deeply")
    if isinstance(value, list | tuple):
        return [_json_default(v, where=where, field=field, depth=depth + 1) for v in value]
    if isinstance(value, dict):
        return {
            str(k): _json_default(v, where=where, field=field, depth=depth + 1)
            for k, v in value.items()
        }
    return value
