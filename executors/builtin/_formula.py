"""A safe evaluator for one-variable formulas written by a model.

Formulas such as ``"lambda x: 3*x**2 + 2*x - 1"`` or ``"sin(x) + x/2"`` are *parsed* with
:func:`ast.parse` and walked by our own interpreter, which allows only numbers, the one
variable, ``pi``/``e``/``tau``, arithmetic (``+ - * / // % **``, unary ``+ -``) and calls of
a whitelist of :mod:`math` functions (optionally spelled ``math.sin`` or ``np.sin``). There is
no name lookup, attribute access, subscript, comprehension or keyword: anything else is a
:class:`ValueError`. Nothing is ever handed to ``eval``/``exec``/``compile``.

Size limits keep a hostile formula cheap: at most :data:`MAX_LENGTH` characters and
:data:`MAX_NODES` syntax nodes, and every intermediate value is a float, so ``9**9**9``
overflows into a ``ValueError`` instead of building a huge integer.

Example::

    f = Formula.parse("lambda x: 3*x**2 + 2*x - 1")
    f(2.0)  # 15.0
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_LENGTH", "MAX_NODES", "Formula"]

MAX_LENGTH = 500
MAX_NODES = 200

_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sqrt": math.sqrt,
    "abs": abs,
    "fabs": math.fabs,
    "floor": math.floor,
    "ceil": math.ceil,
    "pow": math.pow,
}
_MODULE_PREFIXES = frozenset({"math", "np", "numpy"})


def _pow(a: float, b: float) -> float:
    result: float | complex = a**b
    if isinstance(result, complex):
        raise ValueError("a negative number raised to a fractional power is not real")
    return result


def _div(a: float, b: float) -> float:
    return a / b


def _floordiv(a: float, b: float) -> float:
    return a // b


def _mod(a: float, b: float) -> float:
    return a % b


_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed, validated formula in one variable; call it with the variable's value."""

    text: str
    variable: str
    body: ast.expr

    @classmethod
    def parse(cls, text: str, *, variable: str = "x") -> Formula:
        """Parse ``text``: either ``lambda v: <expr>`` or a bare ``<expr>`` in ``variable``.

        Raises ValueError when the text is not a formula this evaluator accepts.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the formula must be a non-empty string")
        if len(text) > MAX_LENGTH:
            raise ValueError(f"the formula is longer than {MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"the formula is not valid syntax: {exc.msg}") from None
        if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
            raise ValueError(f"the formula has more than {MAX_NODES} syntax nodes")
        body = tree.body
        if isinstance(body, ast.Lambda):
            args = body.args
            if (
                len(args.args) != 1
                or args.posonlyargs
                or args.kwonlyargs
                or args.vararg
                or args.kwarg
                or args.defaults
            ):
                raise ValueError("a lambda formula must take exactly one plain parameter")
            variable = args.args[0].arg
            body = body.body
        formula = cls(text=text, variable=variable, body=body)
        formula._check(body)
        return formula

    def __call__(self, value: float) -> float:
        try:
            result = self._eval(self.body, float(value))
        except (OverflowError, ZeroDivisionError) as exc:
            raise ValueError(f"the formula cannot be evaluated at {value}: {exc}") from None
        if isinstance(result, complex) or not math.isfinite(result):
            raise ValueError(f"the formula has no finite real value at {value}")
        return float(result)

    def _check(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ValueError(f"only numbers are allowed in a formula, not {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id != self.variable and node.id not in _CONSTANTS:
                raise ValueError(f"unknown name {node.id!r} in the formula")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise ValueError(f"operator {type(node.op).__name__} is not allowed")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.UAdd | ast.USub):
                raise ValueError(f"operator {type(node.op).__name__} is not allowed")
            self._check(node.operand)
        elif isinstance(node, ast.Call):
            _function_name(node.func)
            if node.keywords:
                raise ValueError("keyword arguments are not allowed in a formula")
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise ValueError("starred arguments are not allowed in a formula")
                self._check(arg)
        else:
            raise ValueError(f"{type(node).__name__} is not allowed in a formula")

    def _eval(self, node: ast.expr, x: float) -> float:
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)
            return float(node.value)
        if isinstance(node, ast.Name):
            return x if node.id == self.variable else _CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            op = _BINOPS[type(node.op)]
            return op(self._eval(node.left, x), self._eval(node.right, x))
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, x)
            return -operand if isinstance(node.op, ast.USub) else operand
        assert isinstance(node, ast.Call)
        fn = _FUNCTIONS[_function_name(node.func)]
        try:
            return float(fn(*(self._eval(a, x) for a in node.args)))
        except TypeError as exc:
            raise ValueError(f"wrong number of arguments in the formula: {exc}") from None


def _function_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        name = func.id
    elif (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in _MODULE_PREFIXES
    ):
        name = func.attr
    else:
        raise ValueError("only calls of whitelisted math functions are allowed")
    if name not in _FUNCTIONS:
        raise ValueError(f"function {name!r} is not allowed in a formula")
    return name
