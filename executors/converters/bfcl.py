"""BFCL function docs -> :class:`~executors.ApiSpec`.

BFCL writes JSON-Schema-like docs with a Python vocabulary: the top level says
``"type": "dict"``; types are ``string, integer, float, boolean, array, tuple, dict, any``.
They map to ``string, integer, number, boolean, array, array, object`` and, for ``any``, no
type constraint. Names are kept verbatim (dots included) because BFCL's answers use them.
BFCL's non-standard ``optional`` flag is dropped; ``required`` says the same.

Two BFCL conventions are read the way BFCL's own checker reads them, because they are
unambiguous:

- ``enum`` on an array parameter constrains the items: ``{"type": "array", "items":
  {"type": "string"}, "enum": ["a", "b"]}`` accepts ``["a"]`` (the enum moves into
  ``items``). An enum whose members are themselves lists stays where it is.
- ``"default": null`` on an optional parameter means "absent", so null is an accepted value:
  the type gains ``"null"`` (and the enum, if any, gains ``null``). A required parameter's
  null default says nothing and is left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import SpecError
from .._schema import MAX_SCHEMA_DEPTH
from .._spec import ApiSpec
from ._common import ConversionReport, Deduper, collect, read_json_lines

__all__ = ["bfcl_schema", "convert_bfcl_file", "spec_from_bfcl_function"]

_TYPES = {
    "string": "string",
    "str": "string",
    "integer": "integer",
    "int": "integer",
    "float": "number",
    "number": "number",
    "double": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "object": "object",
    "null": "null",
}


def bfcl_schema(schema: Any, *, where: str, field: str, _depth: int = 0) -> dict[str, Any]:
    """One BFCL (sub)schema as JSON Schema; nested ``items`` and ``properties`` too."""
    if not isinstance(schema, dict):
        raise SpecError(where, field, "must be an object")
    if _depth > MAX_SCHEMA_DEPTH // 2:
        raise SpecError(where, field, f"nests deeper than {MAX_SCHEMA_DEPTH // 2} schemas")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            if value == "any":
                continue
            if not isinstance(value, str) or value not in _TYPES:
                raise SpecError(where, f"{field}.type", f"unknown BFCL type {value!r}")
            out["type"] = _TYPES[value]
        elif key == "items":
            out["items"] = bfcl_schema(
                value, where=where, field=f"{field}.items", _depth=_depth + 1
            )
        elif key == "properties":
            if not isinstance(value, dict):
                raise SpecError(where, f"{field}.properties", "must be an object")
            out["properties"] = {
                name: bfcl_schema(
                    sub, where=where, field=f"{field}.properties.{name}", _depth=_depth + 1
                )
                for name, sub in value.items()
            }
        elif key != "optional":
            out[key] = value
    if out.get("type") == "array":
        _enum_into_items(out)
    required = out.get("required")
    if isinstance(out.get("properties"), dict) and isinstance(required, list | type(None)):
        for name, sub in out["properties"].items():
            if name not in (required or ()):
                _null_default_allows_null(sub)
    return out


def _enum_into_items(schema: dict[str, Any]) -> None:
    enum = schema.get("enum")
    items = schema.get("items", {})
    if not isinstance(enum, list) or any(isinstance(v, list) for v in enum):
        return
    if isinstance(items, dict) and "enum" not in items:
        schema["items"] = {**items, "enum": schema.pop("enum")}


def _null_default_allows_null(schema: dict[str, Any]) -> None:
    if "default" not in schema or schema["default"] is not None:
        return
    typ = schema.get("type")
    if isinstance(typ, str) and typ != "null":
        schema["type"] = [typ, "null"]
    elif isinstance(typ, list) and "null" not in typ:
        schema["type"] = [*typ, "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def spec_from_bfcl_function(
    doc: Any, *, where: str = "<bfcl>", source: str = "bfcl", category: str = "general"
) -> ApiSpec:
    """One BFCL function doc ``{name, description, parameters}`` as a validated spec."""
    if not isinstance(doc, dict):
        raise SpecError(where, "<root>", "a function doc must be an object")
    name = doc.get("name")
    if not isinstance(name, str):
        raise SpecError(where, "name", "is missing")
    params = doc.get("parameters", {"type": "dict", "properties": {}})
    parameters = bfcl_schema(params, where=f"{where}#{name}", field="parameters")
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    return ApiSpec.create(
        where=where,
        name=name,
        description=str(doc.get("description") or ""),
        parameters=parameters,
        category=category,
        source=source,
    )


def convert_bfcl_file(path: str | Path, *, dedupe: bool = True) -> ConversionReport:
    """Every function of every question in a BFCL JSON Lines file.

    The same function doc recurs across questions; with ``dedupe`` identical specs are kept
    once. The source is ``bfcl:<category>``; a differing doc under a name already used gets
    ``bfcl:<category>/<question id>`` so ids stay unique.
    """
    path = Path(path)
    source = f"bfcl:{path.stem.removeprefix('BFCL_v4_')}"
    deduper = Deduper(dedupe=dedupe)

    def convert(record: Any, where: str) -> ConversionReport:
        if not isinstance(record, dict) or not isinstance(record.get("function"), list):
            raise SpecError(where, "function", "must be a list of function docs")
        item = str(record.get("id") or where)
        specs: list[ApiSpec] = []
        errors: list[SpecError] = []
        for i, doc in enumerate(record["function"]):
            try:
                spec = spec_from_bfcl_function(doc, where=f"{where}#function[{i}]", source=source)
            except SpecError as exc:
                errors.append(exc)
                continue
            kept = deduper.add(spec, item=item)
            if kept is not None:
                specs.append(kept)
        return ConversionReport(tuple(specs), tuple(errors))

    return collect(read_json_lines(path), convert)
