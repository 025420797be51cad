"""OpenAPI schema objects -> plain JSON Schema: ``$ref``, ``allOf``, ``nullable``.

OpenAPI 3.0 schemas are a JSON Schema dialect; this normalizes them to the subset the rest
of the system reads. Only whitelisted keywords survive (``xml``, ``discriminator``,
``readOnly`` and vendor ``x-`` keys go), ``example`` becomes ``examples``, 3.0's
``nullable: true`` becomes a ``"null"`` member of ``type`` and boolean ``exclusiveMinimum``
becomes the numeric form. Recursive references are cut: the repeated schema becomes a bare
``{"type": "object"}`` whose description says where it recursed, so conversion always ends.

Where references may lead (a spec is data, and data must not choose what is read):

- ``#/components/...`` resolves in the document itself;
- another file (``schemas/pet.yaml#/Pet``, ``common.json``) only when the document was read
  from a file, and only inside that file's directory (``..`` and symlinks that leave it are
  refused); references inside the other file resolve against it, under the same rule;
- ``http(s)://`` only when the caller passes ``fetch`` (off by default), which does the
  network access under its own policy;
- anything else (``file://`` elsewhere, other schemes) is a :class:`SpecError` naming the
  reference.

At most :data:`MAX_REF_DOCUMENTS` other documents of at most :data:`MAX_REF_DOCUMENT_BYTES`
each are read per spec, and one schema may expand to at most :data:`MAX_SCHEMA_NODES`
schema objects (YAML aliases can make a small file expand without end).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

import yaml

from .._errors import SpecError

__all__ = ["Fetch", "RefResolver"]

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
MAX_REF_DOCUMENTS = 64
"""Other documents (files or, with ``fetch``, URLs) one spec's references may read."""
MAX_REF_DOCUMENT_BYTES = 16 << 20
"""The largest other document a reference may read, in bytes."""
MAX_SCHEMA_NODES = 20_000
"""Schema objects one parameter or body schema may expand to (references and YAML aliases
included); the largest real operation here has a few hundred."""

Fetch = Callable[[str], str | bytes]
"""Reads a remote document: ``fetch(url)`` returns its text (JSON or YAML) or raises."""


class RefResolver:
    """Resolves the references of one OpenAPI ``document`` (see the module docstring).

    ``where`` names the document in errors; ``path`` is the file it was read from (None:
    references to other files are refused); ``fetch`` reads remote documents (None, the
    default: remote references are refused).
    """

    def __init__(
        self,
        document: dict[str, Any],
        *,
        where: str,
        path: str | Path | None = None,
        fetch: Fetch | None = None,
    ) -> None:
        self.document = document
        self.where = where
        self.fetch = fetch
        self._root = Path(path).resolve() if path is not None else None
        self._base = self._root.as_uri() if self._root is not None else ""
        self._documents: dict[str, Any] = {self._base: document}
        self._nodes = 0

    def __repr__(self) -> str:
        return f"<RefResolver {self.where} documents={len(self._documents)}>"

    def absolute(self, ref: str) -> str:
        """``ref`` as an absolute URI (the document's own for ``#...``)."""
        return urljoin(self._base, ref) if self._base else ref

    def lookup(self, ref: Any, *, field: str) -> Any:
        """The object a ``$ref`` string points at."""
        if not isinstance(ref, str):
            raise SpecError(self.where, f"{field}.$ref", f"must be a string, got {ref!r}")
        uri, fragment = urldefrag(self.absolute(ref))
        node: Any = self._document(uri, ref, field=f"{field}.$ref")
        for part in fragment.split("/")[1:] if fragment else []:
            key = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise SpecError(self.where, f"{field}.$ref", f"{ref!r} does not resolve")
        return node

    def _document(self, uri: str, ref: str, *, field: str) -> Any:
        if uri in self._documents:
            return self._documents[uri]
        if len(self._documents) > MAX_REF_DOCUMENTS:
            raise SpecError(self.where, field, f"more than {MAX_REF_DOCUMENTS} documents")
        scheme = urlsplit(uri).scheme
        if scheme == "file" and self._root is not None:
            text = self._read_file(uri, ref, field=field)
        elif scheme in ("http", "https"):
            text = self._read_remote(uri, ref, field=field)
        else:
            why = "unsupported reference"
            if self._root is None:
                why = "another document; only '#/...' resolves in a document not from a file"
            raise SpecError(self.where, field, f"{ref!r}: {why}")
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(self.where, field, f"{ref!r} is neither JSON nor YAML: {exc}") from None
        _absolutize(document, uri)
        self._documents[uri] = document
        return document

    def _read_remote(self, uri: str, ref: str, *, field: str) -> str:
        if self.fetch is None:
            why = "remote references are followed only when asked for"
            raise SpecError(self.where, field, f"remote reference {ref!r} refused ({why})")
        try:
            fetched = self.fetch(uri)
        except Exception as exc:
            raise SpecError(self.where, field, f"{ref!r}: {exc}") from None
        text = fetched.decode("utf-8", "replace") if isinstance(fetched, bytes) else fetched
        if len(text) > MAX_REF_DOCUMENT_BYTES:
            raise SpecError(self.where, field, f"{ref!r} exceeds {MAX_REF_DOCUMENT_BYTES} B")
        return text

    def _read_file(self, uri: str, ref: str, *, field: str) -> str:
        assert self._root is not None
        directory = self._root.parent
        path = Path(url2pathname(urlsplit(uri).path)).resolve()
        if not path.is_relative_to(directory):
            raise SpecError(
                self.where, field, f"{ref!r} leads outside the spec's directory {directory}"
            )
        try:
            if not path.is_file():  # a FIFO or device would block or never end
                raise SpecError(self.where, field, f"{ref!r} is not a regular file")
            if path.stat().st_size > MAX_REF_DOCUMENT_BYTES:
                raise SpecError(self.where, field, f"{ref!r} exceeds {MAX_REF_DOCUMENT_BYTES} B")
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(self.where, field, f"{ref!r} cannot be read: {exc}") from None

    def deref(self, obj: Any, *, field: str) -> Any:
        """``obj`` with ``$ref`` chains followed (for parameters, bodies, responses)."""
        seen: set[str] = set()
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not isinstance(ref, str):
                raise SpecError(self.where, f"{field}.$ref", f"must be a string, got {ref!r}")
            if self.absolute(ref) in seen:
                raise SpecError(self.where, f"{field}.$ref", f"{ref!r} refers to itself")
            seen.add(self.absolute(ref))
            obj = self.lookup(ref, field=field)
        return obj

    def schema(self, obj: Any, *, field: str) -> dict[str, Any]:
        """``obj`` as self-contained JSON Schema (see the module docstring)."""
        self._nodes = 0
        return self._schema(obj, field=field, stack=())

    def _schema(self, obj: Any, *, field: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if isinstance(obj, bool):
            return {} if obj else {"not": {}}
        if not isinstance(obj, dict):
            raise SpecError(self.where, field, "a schema must be an object")
        self._nodes += 1
        if self._nodes > MAX_SCHEMA_NODES:
            raise SpecError(self.where, field, f"expands to over {MAX_SCHEMA_NODES} schemas")
        if len(stack) > MAX_DEPTH:
            return {"type": "object", "description": "(nested too deeply; truncated)"}
        if "$ref" in obj:
            ref = obj["$ref"]
            key = self.absolute(ref) if isinstance(ref, str) else repr(ref)
            if key in stack:
                name = str(ref).rsplit("/", 1)[-1]
                return {"type": "object", "description": f"(recursive {name}; truncated)"}
            target = self._schema(self.lookup(ref, field=field), field=field, stack=(*stack, key))
            siblings = {k: v for k, v in obj.items() if k != "$ref"}
            if not siblings:
                return target
            return _merge([target, self._schema(siblings, field=field, stack=stack)])
        stack = (*stack, f"@{field}")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in _KEEP:
                out[key] = value
            elif key == "example" and "examples" not in obj:
                out["examples"] = [value]
            elif key == "items":
                out["items"] = self._schema(value, field=f"{field}.items", stack=stack)
            elif key == "properties" and isinstance(value, dict):
                out["properties"] = {
                    name: self._schema(sub, field=f"{field}.properties.{name}", stack=stack)
                    for name, sub in value.items()
                    if not (isinstance(sub, dict) and sub.get("readOnly") is True)
                }
            elif key == "required" and isinstance(value, list):
                if not all(isinstance(r, str) for r in value):
                    raise SpecError(self.where, f"{field}.required", "must be a list of names")
                out["required"] = list(value)
            elif key == "additionalProperties":
                out[key] = (
                    value
                    if isinstance(value, bool)
                    else self._schema(value, field=f"{field}.{key}", stack=stack)
                )
            elif key in ("anyOf", "oneOf") and isinstance(value, list):
                out[key] = [
                    self._schema(sub, field=f"{field}.{key}[{i}]", stack=stack)
                    for i, sub in enumerate(value)
                ]
        if isinstance(obj.get("allOf"), list):
            parts = [
                self._schema(sub, field=f"{field}.allOf[{i}]", stack=stack)
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


def _absolutize(document: Any, uri: str) -> None:
    """Every ``$ref`` in a document read from ``uri`` made absolute, so it resolves against
    that document wherever it is used (no recursion: YAML may nest deeply)."""
    stack, seen = [document], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                node["$ref"] = urljoin(uri, node["$ref"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


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
