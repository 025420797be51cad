"""Binding a dataset's tool to a library function: by name **and** signature.

A tool binds to the library function of the same name only when their signatures agree:

- every parameter the tool declares is a parameter of the function;
- every parameter the function requires, the tool requires too (a function that needs an
  argument the tool does not have, or may leave out, is another function);
- where both state JSON types, the tool's types are among the function's (``number``
  includes ``integer``).

Otherwise the tool's calls are not run; why is one of :data:`NOT_EXECUTABLE_CAUSES`,
counted in the check's summary. Example: glaive's ``calculate_age(birth_date)`` does not
bind to the library's ``calculate_age(birth_date, on_date)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from executors import ApiLibrary, ApiSpec
from topics import Tool

__all__ = ["NOT_EXECUTABLE_CAUSES", "Binder", "Binding"]

NOT_EXECUTABLE_CAUSES: dict[str, str] = {
    "no_function": "the library has no function of that name",
    "signature_mismatch": "a library function has the name but another signature",
    "web_api": "the function needs a live web API (BFCL exec functions left out)",
    "not_implemented": "the source documents the function without implementing it",
}
"""Why a record's calls were not run -> meaning (bounded labels for the summary)."""

Types = dict[str, frozenset[str] | None]


@dataclass(frozen=True, slots=True)
class Binding:
    """The library spec a tool binds to, or why none (``cause`` and a one-line ``why``)."""

    spec: ApiSpec | None
    cause: str = ""
    why: str = ""


def _types(schema: Any) -> Types:
    """Parameter name -> its JSON types (number includes integer; None: any type)."""
    props = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
    out: Types = {}
    for name, sub in props.items() if isinstance(props, Mapping) else ():
        kind = sub.get("type") if isinstance(sub, Mapping) else None
        kinds = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
        if "number" in kinds:
            kinds.add("integer")
        out[str(name)] = frozenset(str(k) for k in kinds) or None
    return out


def _required(schema: Any) -> set[str]:
    required = schema.get("required", ()) if isinstance(schema, Mapping) else ()
    return {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()


def _disagreement(tool: Tool, spec: ApiSpec) -> str:
    """How the signatures differ ("" when they agree)."""
    mine, theirs = _types(tool.parameters), _types(spec.parameters)
    extra = sorted(set(mine) - set(theirs))
    if extra:
        return f"declares {extra}, which the library's {spec.name} does not take"
    needed = sorted(_required(spec.parameters) - _required(tool.parameters))
    if needed:
        return f"the library's {spec.name} requires {needed}, which this tool does not require"
    for name, kinds in mine.items():
        wider = theirs[name]
        if kinds is not None and wider is not None and not kinds <= wider:
            return f"{name} is {sorted(kinds)} here, {sorted(wider)} in the library"
    return ""


class Binder:
    """Binds tools to a library's executable functions (cached per distinct tool)."""

    def __init__(self, library: ApiLibrary) -> None:
        self._by_name: dict[str, list[ApiSpec]] = {}
        for spec in library:
            if spec.binding is not None:
                self._by_name.setdefault(spec.name, []).append(spec)
        self._cache: dict[tuple[str, bytes], Binding] = {}

    def __repr__(self) -> str:
        return f"<Binder functions={len(self._by_name)} cached={len(self._cache)}>"

    def bind(self, tool: Tool) -> Binding:
        key = (tool.name, orjson.dumps(tool.parameters, option=orjson.OPT_SORT_KEYS))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 16384:
                self._cache.clear()
            found = self._cache[key] = self._bind(tool)
        return found

    def _bind(self, tool: Tool) -> Binding:
        candidates = self._by_name.get(tool.name, [])
        if not candidates:
            return Binding(None, "no_function", f"{tool.name}: no library function of that name")
        reasons = []
        for spec in candidates:
            differs = _disagreement(tool, spec)
            if not differs:
                return Binding(spec)
            reasons.append(differs)
        return Binding(None, "signature_mismatch", f"{tool.name}: signature differs: {reasons[0]}")

    def resolve(self, tool: Tool) -> ApiSpec | None:
        """The :data:`~streamer.stages.Resolver` the execution stage uses."""
        return self.bind(tool).spec
