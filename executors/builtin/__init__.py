"""The built-in library: real, executable, documented pure Python functions.

One module per category; each module's ``__all__`` lists its API functions. Every function
is pure, offline and deterministic, fully type-hinted, documented in Google style, raises
ValueError with a clear message on out-of-domain arguments and returns JSON-compatible
values. BFCL's executable functions that need no web service are included under their BFCL
names and parameters (:data:`BFCL_WEB_ONLY` lists the rest, with reasons).

:data:`MODULES` is the allow-list of importable module names for the Python executor.

Example::

    from executors.builtin import builtin_specs, iter_functions

    specs = builtin_specs()  # list[ApiSpec], bound to executors.builtin.<category>
    for category, fn in iter_functions():
        ...
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._bfcl import BFCL_WEB_ONLY

if TYPE_CHECKING:
    from .._spec import ApiSpec

__all__ = [
    "BFCL_WEB_ONLY",
    "CATEGORIES",
    "MODULES",
    "builtin_specs",
    "failing_arguments",
    "iter_functions",
]

CATEGORIES: tuple[str, ...] = (
    "biology",
    "calculus",
    "chemistry",
    "color",
    "commerce",
    "data_management",
    "datetime_utils",
    "encoding_hashing",
    "finance",
    "games_sports",
    "geography",
    "geometry",
    "health",
    "linear_algebra",
    "mathematics",
    "networking",
    "physics",
    "statistics",
    "text",
    "unit_conversion",
)
"""Category names; each is also the name of its module in this package."""

MODULES: tuple[str, ...] = tuple(f"{__name__}.{c}" for c in CATEGORIES)
"""Fully qualified module names the executor may import (the allow-list)."""


def iter_functions() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Yield ``(category, function)`` for every built-in, in category then ``__all__`` order."""
    for category, module_name in zip(CATEGORIES, MODULES, strict=True):
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield category, getattr(module, name)


@functools.cache
def _examples() -> dict[str, dict[str, Any]]:
    """``examples.json``: per function, ``valid`` argument sets (each executes and returns a
    non-empty result) and, where one exists, a ``failing`` override that is schema-valid but
    out of the function's domain (the simulated LLM's ``exec_failure``)."""
    data: dict[str, dict[str, Any]] = json.loads(
        (Path(__file__).with_name("examples.json")).read_text(encoding="utf-8")
    )
    return data


@functools.cache
def _specs() -> tuple[ApiSpec, ...]:
    from ..converters.python import spec_from_callable

    examples = _examples()
    return tuple(
        dataclasses.replace(spec, examples=tuple(examples.get(spec.name, {}).get("valid", ())))
        for spec in (spec_from_callable(fn, category=cat) for cat, fn in iter_functions())
    )


def failing_arguments() -> dict[str, dict[str, Any]]:
    """Per built-in, argument values that pass its schema but fail at run time (replace
    them in a valid call). Functions that accept every well-typed value are absent."""
    return {name: dict(e["failing"]) for name, e in _examples().items() if "failing" in e}


def builtin_specs() -> list[ApiSpec]:
    """Every built-in as a validated :class:`ApiSpec` (converted once, then cached)."""
    return list(_specs())
