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

import functools
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from .._spec import ApiSpec
from ._bfcl import BFCL_WEB_ONLY

__all__ = ["BFCL_WEB_ONLY", "CATEGORIES", "MODULES", "builtin_specs", "iter_functions"]

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
def _specs() -> tuple[ApiSpec, ...]:
    from ..converters.python import spec_from_callable

    return tuple(spec_from_callable(fn, category=cat) for cat, fn in iter_functions())


def builtin_specs() -> list[ApiSpec]:
    """Every built-in as a validated :class:`ApiSpec` (converted once, then cached)."""
    return list(_specs())
