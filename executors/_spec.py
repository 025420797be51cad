"""The unified API spec: one format every source converts into.

An :class:`ApiSpec` says what an API is (name, description, category, parameters as a JSON
Schema object, what it returns) and how to execute it (a :data:`Binding`). Specs are
validated when built (:meth:`ApiSpec.create`) and when loaded (:meth:`ApiSpec.from_dict`);
invalid ones raise :class:`~executors._errors.SpecError` naming the document and field.

Exports: :meth:`ApiSpec.to_openai_tool` (OpenAI ``tools`` entry) and
:meth:`ApiSpec.to_xlam_tool` (xlam-function-calling-60k flat parameter map).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from ._errors import SpecError
from ._schema import compile_schema

__all__ = [
    "WHOLE_BODY",
    "ApiSpec",
    "Binding",
    "McpBinding",
    "PythonBinding",
    "RestBinding",
    "RestParameter",
    "validate_parameters_schema",
]

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
"""Valid API names: identifier-like; dots allowed (BFCL's ``math_toolkit.sum_of_multiples``)."""


@dataclass(frozen=True, slots=True)
class PythonBinding:
    """Execute by importing ``module`` and calling ``function`` with keyword arguments.

    Only modules registered in the library's allow-list are importable by the executor.
    """

    module: str
    function: str
    kind: Literal["python"] = "python"


WHOLE_BODY = "*"
"""``RestParameter.wire_name`` of a parameter that is the whole request body."""


@dataclass(frozen=True, slots=True)
class RestParameter:
    """Where one spec parameter goes in the HTTP request.

    ``location`` is ``path``, ``query``, ``header`` or ``body`` (a top-level JSON body
    field); ``wire_name`` is its name on the wire when it differs from the spec's. A
    ``body`` parameter whose ``wire_name`` is :data:`WHOLE_BODY` is the entire JSON body
    (an OpenAPI request body that is not an object, e.g. an array).
    """

    name: str
    location: Literal["path", "query", "header", "body"]
    wire_name: str = ""


@dataclass(frozen=True, slots=True)
class RestBinding:
    """Execute as an HTTP request to ``base_url`` + ``path`` (``{param}`` templated).

    The host comes only from here (the spec), never from arguments. ``auth_env`` names an
    environment variable holding a credential sent in header ``auth_header`` (e.g.
    ``X-RapidAPI-Key``); the value is read at call time and never stored.
    """

    base_url: str
    method: str
    path: str
    parameters: tuple[RestParameter, ...] = ()
    auth_env: str = ""
    auth_header: str = ""
    kind: Literal["rest"] = "rest"


@dataclass(frozen=True, slots=True)
class McpBinding:
    """Execute as tool ``tool`` on the configured MCP server named ``server``."""

    server: str
    tool: str
    kind: Literal["mcp"] = "mcp"


Binding: TypeAlias = PythonBinding | RestBinding | McpBinding


def validate_parameters_schema(schema: Any, *, where: str) -> None:
    """Check that ``schema`` is a JSON Schema object describing keyword parameters.

    Beyond the shape of the top level (``type: object``, ``properties`` an object, every
    ``required`` name a property), the whole schema must compile safely
    (:func:`~executors.compile_schema`: bounded size and depth, the Draft 2020-12
    metaschema, references only inside itself, regexes RE2 can run). Raises
    :class:`SpecError` naming ``where`` and the offending field; an unsafe or malformed
    schema is its subclass :class:`~executors.InvalidSchema` (reason ``invalid_schema``).
    """
    if not isinstance(schema, dict):
        raise SpecError(where, "parameters", "must be a JSON Schema object")
    if schema.get("type") != "object":
        raise SpecError(where, "parameters.type", f"must be 'object', got {schema.get('type')!r}")
    # Compiled as the format stage compiles it (closing objects never changes validity), so
    # validating a spec also warms the stage's cache: one entry per schema.
    compile_schema(schema, where=where, field="parameters", close_objects=True)
    props = schema.get("properties", {})
    missing = [r for r in schema.get("required", []) if r not in props]
    if missing:
        raise SpecError(where, "parameters.required", f"names unknown parameters {missing}")


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One executable (or catalogue-only) API in the unified format.

    ``source`` says where it came from (``python:mathematics``, ``openapi:petstore``,
    ``toolbench:Finance/...``); ``id`` is ``source:name`` and is unique in a library.
    ``binding`` is None for catalogue-only APIs (e.g. ToolBench offline).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    category: str = "general"
    returns: str = ""
    binding: Binding | None = None
    source: str = ""
    version: str = "1"
    examples: tuple[dict[str, Any], ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.source}:{self.name}" if self.source else self.name

    @classmethod
    def create(cls, *, where: str = "<spec>", **fields: Any) -> ApiSpec:
        """Build and validate; ``where`` names the source document in errors."""
        spec = cls(**fields)
        spec.validate(where=where)
        return spec

    def validate(self, *, where: str = "<spec>") -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise SpecError(where, "name", f"{self.name!r} is not a valid function name")
        if not isinstance(self.description, str):
            raise SpecError(where, "description", "must be a string")
        validate_parameters_schema(self.parameters, where=f"{where}#{self.name}")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.parameters.get("required", ()))

    def to_openai_tool(self) -> dict[str, Any]:
        """``{"type": "function", "function": {name, description, parameters}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def to_xlam_tool(self) -> dict[str, Any]:
        """The xlam-function-calling-60k shape: a flat ``{param: {description, type,
        default}}`` map with Python-style types and ``", optional"`` for optional ones."""
        from ._xlam_types import json_schema_to_xlam_type

        required = set(self.required)
        params: dict[str, Any] = {}
        for pname, pschema in self.parameters.get("properties", {}).items():
            typ = json_schema_to_xlam_type(pschema)
            entry: dict[str, Any] = {
                "description": pschema.get("description", ""),
                "type": typ if pname in required else f"{typ}, optional",
            }
            if "default" in pschema:
                entry["default"] = pschema["default"]
            if "enum" in pschema:
                entry["enum"] = pschema["enum"]
            params[pname] = entry
        return {"name": self.name, "description": self.description, "parameters": params}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "<spec>") -> ApiSpec:
        """Load and validate a spec dict (as written by :meth:`to_dict`)."""
        if not isinstance(data, dict):
            raise SpecError(where, "<root>", "must be an object")
        for key in ("name", "description", "parameters"):
            if key not in data:
                raise SpecError(where, key, "is missing")
        binding = _binding_from_dict(data.get("binding"), where=where)
        try:
            spec = cls(
                name=data["name"],
                description=data["description"],
                parameters=data["parameters"],
                category=data.get("category", "general"),
                returns=data.get("returns", ""),
                binding=binding,
                source=data.get("source", ""),
                version=str(data.get("version", "1")),
                examples=tuple(data.get("examples", ())),
            )
        except TypeError as exc:
            raise SpecError(where, "<root>", str(exc)) from None
        spec.validate(where=where)
        return spec


def _binding_from_dict(data: Any, *, where: str) -> Binding | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SpecError(where, "binding", "must be an object")
    kind = data.get("kind")
    try:
        if kind == "python":
            return PythonBinding(module=data["module"], function=data["function"])
        if kind == "rest":
            params = tuple(
                RestParameter(p["name"], p["location"], p.get("wire_name", ""))
                for p in data.get("parameters", ())
            )
            return RestBinding(
                base_url=data["base_url"],
                method=data["method"],
                path=data["path"],
                parameters=params,
                auth_env=data.get("auth_env", ""),
                auth_header=data.get("auth_header", ""),
            )
        if kind == "mcp":
            return McpBinding(server=data["server"], tool=data["tool"])
    except (KeyError, TypeError) as exc:
        raise SpecError(where, f"binding.{exc}", "is missing or malformed") from None
    raise SpecError(where, "binding.kind", f"unknown binding kind {kind!r}")
