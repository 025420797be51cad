"""Mapping between JSON Schema types and the Python-style type strings of xLAM/BFCL."""

from __future__ import annotations

from typing import Any

__all__ = ["json_schema_to_xlam_type"]

_SCALARS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "object": "Dict",
    "null": "None",
}


def json_schema_to_xlam_type(schema: dict[str, Any]) -> str:
    """``{"type": "array", "items": {"type": "integer"}}`` -> ``"List[int]"``."""
    typ = schema.get("type")
    if isinstance(typ, list):
        parts = [json_schema_to_xlam_type({**schema, "type": t}) for t in typ if t != "null"]
        return parts[0] if len(parts) == 1 else f"Union[{', '.join(parts)}]"
    if typ == "array":
        items = schema.get("items")
        return f"List[{json_schema_to_xlam_type(items)}]" if isinstance(items, dict) else "List"
    if typ is None:
        return "Any"
    return _SCALARS.get(str(typ), "Any")
