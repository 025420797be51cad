"""xLAM tool lists -> :class:`~executors.ApiSpec`, and the Python-style type strings.

xlam-function-calling-60k describes parameters as a flat map
``{param: {description, type, default}}``. Types are Python-style strings (``str``,
``List[int]``, ``Dict[str, Any]``, ``Union[int, float]``) and optionality lives in the type:
``"int, optional"``; there is no ``required`` list. A required parameter's ``default`` is an
example value (the dataset fills it for required parameters too), so it is kept as JSON
Schema ``examples``; an optional parameter's non-empty ``default`` is a real default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import SpecError
from .._spec import ApiSpec
from ._common import ConversionReport, Deduper, collect, load_document, read_json_lines

__all__ = ["XlamType", "convert_xlam_file", "parse_xlam_type", "spec_from_xlam_tool"]

_SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "number": {"type": "number"},
    "double": {"type": "number"},
    "bool": {"type": "boolean"},
    "boolean": {"type": "boolean"},
    "none": {"type": "null"},
    "nonetype": {"type": "null"},
    "any": {},
    "list": {"type": "array"},
    "array": {"type": "array"},
    "sequence": {"type": "array"},
    "tuple": {"type": "array"},
    "set": {"type": "array", "uniqueItems": True},
    "dict": {"type": "object"},
    "object": {"type": "object"},
    "mapping": {"type": "object"},
}

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*|\[|\]|,)")
_OPTIONAL = re.compile(r",\s*optional\b", re.IGNORECASE)
MAX_TYPE_DEPTH = 16
"""Deepest nesting of a type string (``List[List[...]]``) that parses; real ones use 3."""


@dataclass(frozen=True, slots=True)
class XlamType:
    """A parsed xLAM type string: the JSON Schema and whether it said ``, optional``."""

    schema: dict[str, Any]
    optional: bool


def parse_xlam_type(text: str, *, where: str = "<xlam>", field: str = "type") -> XlamType:
    """``"List[int], optional"`` -> ``XlamType({"type": "array", "items": {...}}, True)``.

    Understands the scalars, ``List/Set/Tuple/Dict`` with or without arguments,
    ``Optional[X]`` (nullable) and ``Union[...]``; anything else raises :class:`SpecError`.
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError(where, field, f"must be a type string, got {text!r}")
    body, optional = text.strip(), False
    # A search, not a match of ``(.*?)\s*,``: that backtracks quadratically on long runs of
    # spaces (20 KB took 4 s).
    match = _OPTIONAL.search(body)
    if match:
        body, optional = body[: match.start()].rstrip(), True
    tokens = _tokenize(body, where=where, field=field)
    schema, pos = _parse(tokens, 0, where=where, field=field)
    if pos != len(tokens):
        raise SpecError(where, field, f"cannot parse type {text[:200]!r}")
    return XlamType(schema, optional)


def _tokenize(text: str, *, where: str, field: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise SpecError(where, field, f"cannot parse type {text[:200]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def _parse(
    tokens: list[str], pos: int, *, where: str, field: str, depth: int = 0
) -> tuple[dict[str, Any], int]:
    if depth > MAX_TYPE_DEPTH:
        raise SpecError(where, field, f"type nested deeper than {MAX_TYPE_DEPTH} levels")
    if pos >= len(tokens) or tokens[pos] in "[],":
        raise SpecError(where, field, f"cannot parse type {' '.join(tokens)[:200]!r}")
    name = tokens[pos].rsplit(".", 1)[-1].lower()
    pos += 1
    args: list[dict[str, Any]] = []
    if pos < len(tokens) and tokens[pos] == "[":
        pos += 1
        while True:
            arg, pos = _parse(tokens, pos, where=where, field=field, depth=depth + 1)
            args.append(arg)
            if pos < len(tokens) and tokens[pos] == ",":
                pos += 1
                continue
            if pos < len(tokens) and tokens[pos] == "]":
                pos += 1
                break
            raise SpecError(where, field, f"unbalanced brackets in {' '.join(tokens)[:200]!r}")
    if name == "optional" and len(args) == 1:
        return _union([args[0], {"type": "null"}]), pos
    if name == "union" and args:
        return _union(args), pos
    if name not in _SCALARS:
        raise SpecError(where, field, f"unknown type {tokens[pos - 1][:100]!r}")
    schema = dict(_SCALARS[name])
    if args and schema.get("type") == "array":
        if name == "tuple" and len(args) > 1 and any(a != args[0] for a in args):
            schema["prefixItems"] = args
        else:
            schema["items"] = args[0]
    elif len(args) == 2 and schema.get("type") == "object" and args[1]:
        schema["additionalProperties"] = args[1]
    return schema, pos


def _union(options: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``type`` list when every option is a bare type, else ``anyOf``; ``Any`` wins."""
    if any(not o for o in options):
        return {}
    if all(set(o) == {"type"} and isinstance(o["type"], str) for o in options):
        types = list(dict.fromkeys(o["type"] for o in options))
        return {"type": types[0] if len(types) == 1 else types}
    return {"anyOf": options}


def spec_from_xlam_tool(
    tool: Any, *, where: str = "<xlam>", source: str = "xlam", category: str = "general"
) -> ApiSpec:
    """One xLAM tool ``{name, description, parameters: {param: {description, type,
    default}}}`` as a validated spec (an ``enum`` list in an entry is kept)."""
    if not isinstance(tool, dict):
        raise SpecError(where, "<root>", "a tool must be an object")
    name = tool.get("name")
    if not isinstance(name, str):
        raise SpecError(where, "name", "is missing")
    params = tool.get("parameters") or {}
    if not isinstance(params, dict):
        raise SpecError(where, "parameters", "must be an object of parameters")
    if params.get("type") == "object" and isinstance(params.get("properties"), dict):
        raise SpecError(where, "parameters", "is a JSON Schema, not an xLAM parameter map")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for pname, entry in params.items():
        field = f"parameters.{pname}"
        if not isinstance(entry, dict):
            raise SpecError(where, field, "must be an object")
        parsed = parse_xlam_type(entry.get("type", "Any"), where=where, field=f"{field}.type")
        schema = dict(parsed.schema)
        if entry.get("description"):
            schema["description"] = str(entry["description"])
        if "enum" in entry:
            schema["enum"] = entry["enum"]
        default = entry.get("default")
        if default not in (None, ""):
            if parsed.optional:
                schema["default"] = default
            else:
                schema["examples"] = [default]
        if not parsed.optional:
            required.append(pname)
        properties[pname] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return ApiSpec.create(
        where=where,
        name=name,
        description=str(tool.get("description") or ""),
        parameters=parameters,
        category=category,
        source=source,
    )


def convert_xlam_file(path: str | Path, *, dedupe: bool = True) -> ConversionReport:
    """Tools of an xlam-function-calling-60k ``.jsonl`` (``tools`` is a JSON string per
    row) or of a ``.json`` list of tools; identical tools are kept once with ``dedupe``
    and a differing tool under a used name gets source ``xlam/<row id>``."""
    path = Path(path)
    deduper = Deduper(dedupe=dedupe)

    def convert(record: Any, where: str) -> ConversionReport:
        item = str(record.get("id", where)) if isinstance(record, dict) else where
        tools = record.get("tools") if isinstance(record, dict) and "tools" in record else record
        if isinstance(tools, str):
            try:
                tools = json.loads(tools)
            except json.JSONDecodeError as exc:
                raise SpecError(where, "tools", f"not a JSON string: {exc.msg}") from None
        if isinstance(tools, dict):
            tools = [tools]
        if not isinstance(tools, list):
            raise SpecError(where, "tools", "must be a list of tools")
        specs: list[ApiSpec] = []
        errors: list[SpecError] = []
        for i, tool in enumerate(tools):
            try:
                spec = spec_from_xlam_tool(tool, where=f"{where}#tools[{i}]")
            except SpecError as exc:
                errors.append(exc)
                continue
            kept = deduper.add(spec, item=item)
            if kept is not None:
                specs.append(kept)
        return ConversionReport(tuple(specs), tuple(errors))

    if path.suffix == ".jsonl":
        return collect(read_json_lines(path), convert)
    return collect([(path.name, load_document(path))], convert)
