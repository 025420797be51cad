"""OpenAI ``tools`` entries and glaive function schemas -> :class:`~executors.ApiSpec`.

Accepts the wrapped form ``{"type": "function", "function": {name, description,
parameters}}`` and the bare function object glaive and older OpenAI ``functions`` use. A
missing ``parameters`` means no parameters. The schema is kept as given (it already is JSON
Schema), minus OpenAI's ``strict`` flag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._errors import SpecError
from .._spec import ApiSpec
from ._common import ConversionReport, Deduper, collect, load_document

__all__ = ["convert_glaive_file", "convert_openai_tools", "spec_from_openai_tool"]


def spec_from_openai_tool(
    entry: Any, *, where: str = "<openai>", source: str = "openai", category: str = "general"
) -> ApiSpec:
    """One OpenAI tool entry (wrapped or bare function object) as a validated spec."""
    if not isinstance(entry, dict):
        raise SpecError(where, "<root>", "a tool entry must be an object")
    function = entry.get("function") if entry.get("type") == "function" else entry
    if not isinstance(function, dict):
        raise SpecError(where, "function", "must be an object")
    name = function.get("name")
    if not isinstance(name, str):
        raise SpecError(where, "name", "is missing")
    parameters = function.get("parameters")
    if parameters is None or parameters == {}:
        parameters = {"type": "object", "properties": {}}
    return ApiSpec.create(
        where=where,
        name=name,
        description=str(function.get("description") or ""),
        parameters=parameters,
        category=category,
        source=source,
    )


def convert_openai_tools(
    entries: Iterable[Any] | str | Path, *, source: str = "openai"
) -> ConversionReport:
    """A list of tool entries, or a JSON file holding one (or ``{"tools": [...]}``)."""
    where = "<openai tools>"
    if isinstance(entries, str | Path):
        where = Path(entries).name
        document = load_document(entries)
        entries = document.get("tools", []) if isinstance(document, dict) else document
        if not isinstance(entries, list):
            raise SpecError(where, "tools", "must be a list of tool entries")

    def convert(entry: Any, item: str) -> ConversionReport:
        return ConversionReport((spec_from_openai_tool(entry, where=item, source=source),))

    return collect(((f"{where}[{i}]", e) for i, e in enumerate(entries)), convert)


def convert_glaive_file(path: str | Path, *, dedupe: bool = True) -> ConversionReport:
    """Function schemas from a glaive ShareGPT file (each record's ``tools`` is a JSON
    string of function objects); identical ones are kept once with ``dedupe`` and a
    differing one under a used name gets source ``glaive/<record index>``."""
    path = Path(path)
    records = load_document(path)
    if not isinstance(records, list):
        raise SpecError(path.name, "<root>", "must be a list of conversations")
    deduper = Deduper(dedupe=dedupe)

    def convert(record: Any, where: str) -> ConversionReport:
        tools = record.get("tools", "[]") if isinstance(record, dict) else None
        if isinstance(tools, str):
            try:
                tools = json.loads(tools) if tools.strip() else []
            except json.JSONDecodeError as exc:
                raise SpecError(where, "tools", f"not a JSON string: {exc.msg}") from None
        if not isinstance(tools, list):
            raise SpecError(where, "tools", "must be a list of function schemas")
        report = convert_openai_tools(tools, source="glaive")
        specs = []
        for spec in report.specs:
            kept = deduper.add(spec, item=where.rsplit("[", 1)[-1].rstrip("]"))
            if kept is not None:
                specs.append(kept)
        errors = tuple(SpecError(where, e.field, e.problem) for e in report.errors)
        return ConversionReport(tuple(specs), errors)

    return collect(((f"{path.name}[{i}]", r) for i, r in enumerate(records)), convert)
