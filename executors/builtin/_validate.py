"""Domain checks shared by the built-in functions; each raises ValueError naming the argument.

Arguments arrive from JSON, so a number may be an int where a float is meant (accepted) and
a bool is never a number (rejected, although ``bool`` subclasses ``int`` in Python).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "MAX_ITEMS",
    "finite",
    "integer",
    "non_empty",
    "non_negative",
    "numbers",
    "positive",
    "probability",
    "same_length",
]

MAX_ITEMS = 100_000
"""Largest list a built-in accepts: keeps every call cheap whatever a model asks for."""


def finite(name: str, value: Any) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within ``[low, high]`` (integral floats such as 5.0 are accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value


def positive(name: str, value: Any) -> float:
    """``value`` as a float > 0."""
    v = finite(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return v


def non_negative(name: str, value: Any) -> float:
    """``value`` as a float >= 0."""
    v = finite(name, value)
    if v < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return v


def probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1]."""
    v = finite(name, value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
    return v


def non_empty(name: str, values: Any) -> list[Any]:
    """``values`` as a non-empty list of at most :data:`MAX_ITEMS` items."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a list, got {type(values).__name__}")
    if not values:
        raise ValueError(f"{name} must not be empty")
    if len(values) > MAX_ITEMS:
        raise ValueError(f"{name} has more than {MAX_ITEMS} items")
    return list(values)


def numbers(name: str, values: Any, *, min_len: int = 1) -> list[float]:
    """``values`` as a list of at least ``min_len`` finite floats."""
    items = non_empty(name, values)
    if len(items) < min_len:
        raise ValueError(f"{name} needs at least {min_len} numbers, got {len(items)}")
    return [finite(f"{name}[{i}]", v) for i, v in enumerate(items)]


def same_length(a_name: str, a: Sequence[Any], b_name: str, b: Sequence[Any]) -> None:
    """Both sequences have the same length."""
    if len(a) != len(b):
        raise ValueError(f"{a_name} and {b_name} must have the same length ({len(a)} != {len(b)})")
