"""Python-syntax calls and literals read as data, never evaluated.

BFCL's exec answers are call strings (``"f(n=20, k=5, p=0.6)"``) and Hermes transcripts
often write tool calls and tool lists as Python dict reprs (single quotes, ``True``,
``None``). Both are parsed with :mod:`ast` and only literal nodes are accepted: strings,
numbers, booleans, None, lists, tuples (as lists), dicts with string keys and signed
numbers. Anything else, arithmetic included, is refused with :class:`ValueError`.
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["parse_call_string", "parse_literal"]

_MAX_SOURCE_CHARS = 1_000_000


def _literal(node: ast.expr, where: str) -> Any:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, str | int | float | bool)
    ):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            key = _literal(k, where) if k is not None else None
            if not isinstance(key, str):
                raise ValueError(f"{where}: dict keys must be strings")
            out[key] = _literal(v, where)
        return out
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    raise ValueError(f"{where} is an expression ({type(node).__name__}), not a literal value")


def _parse(text: str) -> ast.expr:
    if len(text) > _MAX_SOURCE_CHARS:
        raise ValueError(f"longer than {_MAX_SOURCE_CHARS:,} characters")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not Python syntax: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("nested too deeply to parse") from None


def parse_literal(text: str, where: str = "the value") -> Any:
    """A Python literal (``"{'name': 'f', 'arguments': {'x': True}}"``) as JSON data."""
    try:
        return _literal(_parse(text), where)
    except RecursionError:
        raise ValueError("nested too deeply to parse") from None


def parse_call_string(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    """``"f(1, b=[2, -3])"`` -> ``("f", [1], {"b": [2, -3]})``, as JSON data.

    Only literals are accepted as arguments (see the module docstring); anything else
    raises ValueError. Nothing is evaluated.
    """
    call = _parse(text)
    if not isinstance(call, ast.Call):
        raise ValueError("not a function call")
    func = call.func
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise ValueError("the called function must be a (dotted) name")
    name = ".".join([func.id, *reversed(parts)])
    try:
        args = [_literal(a, f"positional argument {i}") for i, a in enumerate(call.args)]
        kwargs: dict[str, Any] = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise ValueError("**kwargs is not a literal argument")
            kwargs[kw.arg] = _literal(kw.value, f"argument {kw.arg}")
    except RecursionError:
        raise ValueError("nested too deeply to parse") from None
    return name, args, kwargs
