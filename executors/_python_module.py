"""The API functions of a Python module (``python:package.module``) as specs.

Every function in the module's ``__all__``, converted by
:func:`~executors.converters.spec_from_callable` with the module's ``API_CATEGORY`` (else
its last dotted part) as category. Importing runs the module: only modules the user names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ._errors import SpecError
from ._spec import ApiSpec, PythonBinding
from .converters import spec_from_callable

__all__ = ["ModuleSpecs", "module_specs"]


@dataclass(frozen=True, slots=True)
class ModuleSpecs:
    """A module's specs, the exported names that did not convert, and the modules whose
    functions the specs call."""

    label: str
    specs: tuple[ApiSpec, ...]
    errors: tuple[SpecError, ...]
    python_modules: frozenset[str]


def module_specs(name: str) -> ModuleSpecs:
    """The specs of module ``name``; :class:`SpecError` when it cannot be imported or lists
    no ``__all__``."""
    label = f"python:{name}"
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise SpecError(label, "<module>", f"cannot import: {exc}") from None
    exported = getattr(module, "__all__", None)
    if not isinstance(exported, list | tuple):
        raise SpecError(label, "__all__", "the module must list its API functions")
    category = getattr(module, "API_CATEGORY", name.rsplit(".", 1)[-1])
    specs: list[ApiSpec] = []
    errors: list[SpecError] = []
    for attr in exported:
        fn = getattr(module, str(attr), None)
        if not callable(fn):
            errors.append(SpecError(label, str(attr), "is not a function"))
            continue
        try:
            specs.append(spec_from_callable(fn, category=str(category), source=label))
        except SpecError as exc:
            errors.append(exc)
    modules = frozenset(s.binding.module for s in specs if isinstance(s.binding, PythonBinding))
    return ModuleSpecs(label, tuple(specs), tuple(errors), modules)
