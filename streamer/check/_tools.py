"""A record's tools -> :class:`~topics.Tool` values, one bad tool failing only its record.

Each tool goes through the library's own converter (xLAM flat maps, OpenAI function
schemas, BFCL docs), which validates its parameters with :func:`~executors.compile_schema`:
a valid JSON Schema (Draft 2020-12), bounded, with every ``$ref`` inside the schema itself,
so nothing in a dataset makes the checker fetch a URL or read a file. What the converters
raise becomes the record's reason::

    invalid_tools    tools is not a list; a tool is not an object or has no usable name
    invalid_schema   a tool's parameters are not a JSON Schema, or reference outside it
    limit_exceeded   more tools than ReadLimits.max_tools
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from executors import ApiSpec, SpecError
from executors.converters import spec_from_openai_tool, spec_from_xlam_tool
from topics import Tool

from ..stages import tool_from_spec
from ._decode import ReadLimits, loads_text
from ._errors import BadRecord

__all__ = ["Converter", "any_tool", "read_tools", "tools_field"]

Converter = Callable[[Any, str], ApiSpec]
"""``(tool entry, where) -> spec``; raises :class:`~executors.SpecError` on bad input."""

_SCHEMA_FIELDS = ("parameters", "properties", "items", "type", "enum", "required", "anyOf")


def any_tool(entry: Any, where: str) -> ApiSpec:
    """An xLAM flat-map tool or an OpenAI function schema (wrapped or bare)."""
    if not isinstance(entry, Mapping):
        raise SpecError(where, "<root>", f"a tool must be an object, got {_kind(entry)}")
    function = entry.get("function")
    params = (function if isinstance(function, Mapping) else entry).get("parameters")
    if isinstance(function, Mapping) or (isinstance(params, Mapping) and "properties" in params):
        return spec_from_openai_tool(entry, where=where)
    return spec_from_xlam_tool(entry, where=where)


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)


def tools_field(value: Any, limits: ReadLimits, what: str = "tools") -> list[Any]:
    """A record's tools field (a list, or a JSON string holding one; absent: none)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = loads_text(value, what=what, reason="invalid_tools", limits=limits)
    if not isinstance(value, list):
        raise BadRecord("invalid_tools", f"{what}: must be a list of tools, got {_kind(value)}")
    return value


def _spec_reason(exc: SpecError) -> str:
    reason = getattr(exc, "reason", "invalid_spec")
    if reason not in ("invalid_spec", "executors_error"):
        return str(reason)
    return "invalid_schema" if exc.field.startswith(_SCHEMA_FIELDS) else "invalid_tools"


def read_tools(
    entries: list[Any], convert: Converter, limits: ReadLimits, label: str = "tools"
) -> tuple[Tool, ...]:
    """Every entry as a tool; the first bad one raises :class:`BadRecord` naming it
    (``label[i]``: the field the entries came from)."""
    if len(entries) > limits.max_tools:
        raise BadRecord(
            "limit_exceeded",
            f"the record offers {len(entries)} tools; the limit is {limits.max_tools}",
        )
    tools: list[Tool] = []
    for i, entry in enumerate(entries):
        at = f"{label}[{i}]"
        try:
            spec = convert(entry, at)
        except SpecError as exc:
            raise BadRecord(_spec_reason(exc), f"{at}: {exc.field}: {exc.problem}") from None
        except Exception as exc:  # a converter bug on hostile input costs one record
            raise BadRecord(
                "invalid_tools", f"{at}: the converter failed ({type(exc).__name__}: {exc})"
            ) from None
        tools.append(tool_from_spec(spec))
    return tuple(tools)
