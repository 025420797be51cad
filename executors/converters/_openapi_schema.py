"""OpenAPI schema objects -> plain JSON Schema: local ``$ref``, ``allOf``, ``nullable``.

OpenAPI 3.0 schemas are a JSON Schema dialect; this normalizes them to the subset the rest
of the system reads. Only whitelisted keywords survive (``xml``, ``discriminator``,
``readOnly`` and vendor ``x-`` keys go), ``example`` becomes ``examples``, 3.0's
``nullable: true`` becomes a ``"null"`` member of ``type`` and boolean ``exclusiveMinimum``
becomes the numeric form. Recursive references are cut: the repeated schema becomes a bare
``{"type": "object"}`` whose description says where it recursed, so conversion always ends.
"""

from __future__ import annotations

from typing import Any

from .._errors import SpecError

__all__ = ["RefResolver"]

_KEEP = frozenset(
    {
        "type", "description", "enum", "const", "default", "format", "pattern", "title",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties", "examples",
    }
)  # fmt: skip
MAX_DEPTH = 24
"""Deeper schemas are cut like recursive ones (some real specs nest absurdly)."""


class RefResolver:
    """Resolves local references (``#/components/...``) of one OpenAPI ``document``.

    ``where`` names the document in errors. Remote references raise :class:`SpecError`.
    """

    def __init__(self, document: dict[str, Any], *, where: str) -> None:
        self.document = document
        self.where = where

    def __repr__(self) -> str:
        return f"<RefResolver {self.where}>"

    def lookup(self, ref: Any, *, field: str) -> Any:
        """The object a ``$ref`` string points at."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SpecError(self.where, f"{field}.$ref", f"only local references, got {ref!r}")
        node: Any = self.document
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise SpecError(self.where, f"{field}.$ref", f"{ref!r} does not resolve")
        return node

    def deref(self, obj: Any, *, field: str) -> Any:
        """``obj`` with ``$ref`` chains followed (for parameters, bodies, responses)."""
        seen: set[str] = set()
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not isinstance(ref, str):
                raise SpecError(self.where, f"{field}.$ref", f"must be a string, got {ref!r}")
            if ref in seen:
                raise SpecError(self.where, f"{field}.$ref", f"{ref!r} refers to itself")
            seen.add(ref)
            obj = self.lookup(ref, field=field)
        return obj

    def schema(self, obj: Any, *, field: str, _stack: tuple[str, ...] = ()) -> dict[str, Any]:
        """``obj`` as self-contained JSON Schema (see the module docstring)."""
        if isinstance(obj, bool):
            return {} if obj else {"not": {}}
        if not isinstance(obj, dict):
            raise SpecError(self.where, field, "a schema must be an object")
        if len(_stack) > MAX_DEPTH:
            return {"type": "object", "description": "(nested too deeply; truncated)"}
        if "$ref" in obj:
            ref = obj["$ref"]
            if ref in _stack:
                name = str(ref).rsplit("/", 1)[-1]
                return {"type": "object", "description": f"(recursive {name}; truncated)"}
            target = self.schema(self.lookup(ref, field=field), field=field, _stack=(*_stack, ref))
            siblings = {k: v for k, v in obj.items() if k != "$ref"}
            if not siblings:
                return target
            return _merge([target, self.schema(siblings, field=field, _stack=_stack)])
        stack = (*_stack, f"@{field}")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in _KEEP:
                out[key] = value
            elif key == "example" and "examples" not in obj:
                out["examples"] = [value]
            elif key == "items":
                out["items"] = self.schema(value, field=f"{field}.items", _stack=stack)
            elif key == "properties" and isinstance(value, dict):
                out["properties"] = {
                    name: self.schema(sub, field=f"{field}.properties.{name}", _stack=stack)
                    for name, sub in value.items()
                    if not (isinstance(sub, dict) and sub.get("readOnly") is True)
                }
            elif key == "required" and isinstance(value, list):
                out["required"] = list(value)
            elif key == "additionalProperties":
                out[key] = (
                    value
                    if isinstance(value, bool)
                    else self.schema(value, field=f"{field}.{key}", _stack=stack)
                )
            elif key in ("anyOf", "oneOf") and isinstance(value, list):
                out[key] = [
                    self.schema(sub, field=f"{field}.{key}[{i}]", _stack=stack)
                    for i, sub in enumerate(value)
                ]
        if isinstance(obj.get("allOf"), list):
            parts = [
                self.schema(sub, field=f"{field}.allOf[{i}]", _stack=stack)
                for i, sub in enumerate(obj["allOf"])
            ]
            out = _merge([*parts, out])
        if obj.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        for bound in ("Minimum", "Maximum"):
            flag = out.get(f"exclusive{bound}")
            if isinstance(flag, bool):
                del out[f"exclusive{bound}"]
                if flag and bound.lower() in out:
                    out[f"exclusive{bound}"] = out.pop(bound.lower())
        if "required" in out and "properties" in out:
            out["required"] = [r for r in out["required"] if r in out["properties"]]
        return out


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``allOf`` as one schema: properties and required are united, the first part to name
    any other keyword wins except later descriptions, which are more specific."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            elif key == "description":
                merged[key] = value
            else:
                merged.setdefault(key, value)
    if "properties" in merged:
        merged.setdefault("type", "object")
    return merged
