"""Numerical calculus on one-variable formulas given as text.

Every formula (``"lambda x: 3*x**2 + 2*x - 1"`` or ``"sin(x) / x"``) goes through the safe
:class:`~executors.builtin._formula.Formula` interpreter: model text is data, never code.
``estimate_derivative`` keeps BFCL's name and parameters.
"""

from __future__ import annotations

import math

from ._formula import Formula
from ._validate import finite, integer, numbers

__all__ = [
    "definite_integral",
    "estimate_derivative",
    "estimate_second_derivative",
    "evaluate_function",
    "evaluate_polynomial",
    "find_root",
    "polynomial_derivative",
    "tabulate_function",
]


def _step(x: float) -> float:
    return 1e-5 * max(1.0, abs(x))


def estimate_derivative(function: str, x: float) -> float:
    """Estimate the derivative of a function at a given point by central differences.

    Args:
        function: The function, as a Python lambda such as "lambda x: 3*x**2 + 2*x - 1" or
            an expression in x; only arithmetic, numbers and math functions are allowed.
        x: The point to calculate the derivative at.

    Returns:
        The estimated value of f'(x).
    """
    f = Formula.parse(function)
    px = finite("x", x)
    h = _step(px)
    return (f(px + h) - f(px - h)) / (2 * h)


def estimate_second_derivative(function: str, x: float) -> float:
    """Estimate the second derivative of a function at a point by central differences.

    Args:
        function: The function, as a lambda or an expression in x (arithmetic and math
            functions only).
        x: The point to calculate the second derivative at.

    Returns:
        The estimated value of f''(x).
    """
    f = Formula.parse(function)
    px = finite("x", x)
    h = 1e-3 * max(1.0, abs(px))
    return (f(px + h) - 2 * f(px) + f(px - h)) / (h * h)


def evaluate_function(function: str, x: float) -> float:
    """Evaluates a one-variable function at a point.

    Args:
        function: The function, as a lambda or an expression in x (arithmetic and math
            functions only), e.g. "x**2 + sin(x)".
        x: The value of the variable.

    Returns:
        f(x).
    """
    return Formula.parse(function)(finite("x", x))


def tabulate_function(function: str, start: float, stop: float, steps: int) -> list[list[float]]:
    """Evaluates a function on evenly spaced points of an interval.

    Args:
        function: The function, as a lambda or an expression in x (arithmetic and math
            functions only).
        start: The first x value.
        stop: The last x value.
        steps: The number of intervals (1 to 1000); steps + 1 points are returned.

    Returns:
        A list of [x, f(x)] pairs.
    """
    f = Formula.parse(function)
    a, b = finite("start", start), finite("stop", stop)
    n = integer("steps", steps, low=1, high=1000)
    points = [a + (b - a) * i / n for i in range(n + 1)]
    return [[p, f(p)] for p in points]


def definite_integral(function: str, lower: float, upper: float, intervals: int = 1000) -> float:
    """Approximates the definite integral of a function with Simpson's rule.

    Args:
        function: The integrand, as a lambda or an expression in x (arithmetic and math
            functions only).
        lower: The lower bound of integration.
        upper: The upper bound of integration.
        intervals: The number of subintervals (even, 2 to 100000).

    Returns:
        The approximate value of the integral from lower to upper.
    """
    f = Formula.parse(function)
    a, b = finite("lower", lower), finite("upper", upper)
    n = integer("intervals", intervals, low=2, high=100_000)
    if n % 2:
        raise ValueError(f"intervals must be even for Simpson's rule, got {n}")
    h = (b - a) / n
    total = f(a) + f(b)
    for i in range(1, n):
        total += (4 if i % 2 else 2) * f(a + i * h)
    return total * h / 3


def find_root(function: str, lower: float, upper: float, tolerance: float = 1e-10) -> float:
    """Finds a root of a continuous function in an interval by bisection.

    Args:
        function: The function, as a lambda or an expression in x (arithmetic and math
            functions only).
        lower: The left end of the interval.
        upper: The right end of the interval; f(lower) and f(upper) must differ in sign.
        tolerance: The width of the final bracketing interval (positive).

    Returns:
        An x in [lower, upper] with f(x) approximately 0.
    """
    f = Formula.parse(function)
    a, b = finite("lower", lower), finite("upper", upper)
    tol = finite("tolerance", tolerance)
    if tol <= 0:
        raise ValueError(f"tolerance must be positive, got {tolerance!r}")
    if a >= b:
        raise ValueError("lower must be smaller than upper")
    fa, fb = f(a), f(b)
    if fa == 0:
        return a
    if fb == 0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("f(lower) and f(upper) must have opposite signs")
    for _ in range(200):
        mid = (a + b) / 2
        fm = f(mid)
        if fm == 0 or (b - a) / 2 < tol:
            return mid
        if (fm > 0) == (fa > 0):
            a, fa = mid, fm
        else:
            b = mid
    return (a + b) / 2


def evaluate_polynomial(coefficients: list[float], x: float) -> float:
    """Evaluates a polynomial at a point with Horner's method.

    Args:
        coefficients: The coefficients from the highest power down to the constant term,
            e.g. [3, 2, -1] for 3x^2 + 2x - 1.
        x: The value of the variable.

    Returns:
        The value of the polynomial at x.
    """
    coeffs = numbers("coefficients", coefficients)
    px = finite("x", x)
    total = 0.0
    for c in coeffs:
        total = total * px + c
    if not math.isfinite(total):
        raise ValueError("the polynomial value overflows a float")
    return total


def polynomial_derivative(coefficients: list[float]) -> list[float]:
    """Differentiates a polynomial given by its coefficients.

    Args:
        coefficients: The coefficients from the highest power down to the constant term.

    Returns:
        The derivative's coefficients in the same order ([0.0] for a constant).
    """
    coeffs = numbers("coefficients", coefficients)
    degree = len(coeffs) - 1
    if degree == 0:
        return [0.0]
    return [c * (degree - i) for i, c in enumerate(coeffs[:-1])]
