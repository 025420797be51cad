"""Per-API quality rules: documentation, parameters and names.

Each check returns :class:`Issue` values (rule, reason code, message). An issue is
``fixable`` when LLM docstring regeneration can repair it (a poor description, a parameter
without a description); the others reject the API outright. Duplicates and copied
descriptions need every API at once and live in :mod:`._dedup`.

Names must be usable as function and keyword-argument names everywhere the dataset goes
(OpenAI tools, xLAM answers, Python calls): ``[A-Za-z_][A-Za-z0-9_]*``, at most 64
characters, not a Python keyword. An invalid API name is renamed with ToolBench's rule
(:func:`~executors.converters.sanitize_name`: ``weather.get-v2`` -> ``weather_get_v2``,
``from`` -> ``is_from``); the binding keeps what execution needs (the Python function, the
MCP tool, the URL). An invalid parameter name is renamed only for REST bindings, whose
:class:`~executors.RestParameter` keeps the original as ``wire_name``; Python and MCP
bindings pass arguments by name, so such APIs are rejected (``invalid_name``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from .._spec import ApiSpec, RestBinding, RestParameter
from ..converters._common import MAX_NAME, PYTHON_RESERVED, clip_name, sanitize_name, unique_name

__all__ = [
    "Issue",
    "NameChange",
    "RuleSettings",
    "description_issues",
    "fix_names",
    "is_function_name",
    "known_names",
    "spec_issues",
    "words",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD = re.compile(r"[^\W_]+")
_BOILERPLATE = re.compile(
    r"^(?:tests?|testing|test(?:ing)? (?:endpoint|api)|todo|tbd|n ?a|none|null|default"
    r"|description|no description(?: available| provided)?|endpoint|api|lorem ipsum.*)$"
)
_SCHEMA_TYPE_KEYS = ("type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref")


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Thresholds of the documentation and parameter rules.

    keep_no_parameters: keep APIs that take no parameters (the APIGen paper excluded them,
      so the default is False).
    min_description_words / min_description_chars: a description shorter than either (in
      words / characters) is ``short_description``.
    min_latin_share: the share (0-1) of a description's letters that must be ASCII; below
      it the text is ``non_english_description`` (a cheap proxy for "not English").
    """

    keep_no_parameters: bool = False
    min_description_words: int = 3
    min_description_chars: int = 12
    min_latin_share: float = 0.8


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem of one API: the ``rule`` that found it and a stable ``reason`` code."""

    rule: str
    reason: str
    message: str
    fixable: bool = False


@dataclass(frozen=True, slots=True)
class NameChange:
    """A renamed API (``field`` = ``name``) or parameter (``parameters.<new name>``)."""

    field: str
    original: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "original": self.original, "name": self.name}


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits; underscores split words)."""
    return _WORD.findall(text.lower())


def is_function_name(name: str) -> bool:
    """True for ``[A-Za-z_][A-Za-z0-9_]*`` names of at most 64 characters, not keywords."""
    return (
        bool(_IDENTIFIER.match(name))
        and len(name) <= MAX_NAME
        and name.lower() not in PYTHON_RESERVED
    )


def description_issues(
    text: str, *, name: str, settings: RuleSettings, field: str = "description"
) -> list[Issue]:
    """The documentation problems of one description (of the API called ``name``)."""
    stripped = text.strip()
    if not stripped:
        return [Issue("documentation", "empty_description", f"{field} is empty", True)]
    tokens = words(stripped)
    if _BOILERPLATE.match(" ".join(tokens)) or (tokens and set(tokens) <= set(words(name))):
        return [
            Issue(
                "documentation",
                "boilerplate_description",
                f"{field} {stripped[:60]!r} is a placeholder or repeats the name",
                True,
            )
        ]
    letters = [c for c in stripped if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < settings.min_latin_share:
        return [
            Issue(
                "documentation",
                "non_english_description",
                f"{field} is mostly not in the Latin alphabet: {stripped[:60]!r}",
                True,
            )
        ]
    if len(tokens) < settings.min_description_words or len(stripped) < (
        settings.min_description_chars
    ):
        return [
            Issue(
                "documentation",
                "short_description",
                f"{field} {stripped!r} is shorter than {settings.min_description_words} words"
                f" or {settings.min_description_chars} characters",
                True,
            )
        ]
    return []


def _typed(schema: Any) -> bool:
    return isinstance(schema, dict) and any(key in schema for key in _SCHEMA_TYPE_KEYS)


def spec_issues(spec: ApiSpec, settings: RuleSettings) -> list[Issue]:
    """Documentation and parameter issues, fatal ones first."""
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    fatal: list[Issue] = []
    fixable = description_issues(spec.description, name=spec.name, settings=settings)
    if not properties and not settings.keep_no_parameters:
        fatal.append(Issue("parameters", "no_parameters", "the API takes no parameters"))
    for pname, schema in properties.items():
        if not _typed(schema):
            fatal.append(
                Issue("parameters", "untyped_parameter", f"parameter {pname!r} has no type")
            )
        elif not str(schema.get("description", "")).strip():
            fixable.append(
                Issue(
                    "parameters",
                    "undocumented_parameter",
                    f"parameter {pname!r} has no description",
                    True,
                )
            )
    return fatal + fixable


def fix_names(spec: ApiSpec, taken: set[str]) -> tuple[ApiSpec, list[NameChange], Issue | None]:
    """``spec`` with valid names, the changes made, or an ``invalid_name`` issue.

    ``taken`` holds the names already used in the spec's source; a new name is made unique
    against it (``name_2``) and added.
    """
    changes: list[NameChange] = []
    name = spec.name
    if not is_function_name(name):
        name = unique_name(clip_name(sanitize_name(name)), taken, clip=True)
        changes.append(NameChange("name", spec.name, name))
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    bad = [p for p in properties if not is_function_name(p)]
    if not bad:
        return (replace(spec, name=name) if changes else spec), changes, None
    binding = spec.binding
    if not isinstance(binding, RestBinding):
        kind = binding.kind if binding is not None else "catalogue-only"
        return (
            spec,
            changes,
            Issue(
                "names",
                "invalid_name",
                f"parameter {bad[0]!r} is not a valid name and a {kind} binding passes "
                "arguments by name, so it cannot be renamed",
            ),
        )
    used = {p for p in properties if p not in bad}
    mapping = {p: p for p in properties}
    for pname in bad:
        mapping[pname] = unique_name(clip_name(sanitize_name(pname)), used)
        changes.append(NameChange(f"parameters.{mapping[pname]}", pname, mapping[pname]))
    new_properties = {}
    for pname, schema in properties.items():
        new_schema = dict(schema)
        if mapping[pname] != pname:
            new_schema.setdefault("title", pname)
        new_properties[mapping[pname]] = new_schema
    parameters = {**spec.parameters, "properties": new_properties}
    if "required" in spec.parameters:
        parameters["required"] = [mapping.get(r, r) for r in spec.parameters["required"]]
    rest_params = tuple(
        RestParameter(mapping.get(p.name, p.name), p.location, p.wire_name or p.name)
        if mapping.get(p.name, p.name) != p.name
        else p
        for p in binding.parameters
    )
    new_spec = replace(
        spec, name=name, parameters=parameters, binding=replace(binding, parameters=rest_params)
    )
    return new_spec, changes, None


def known_names(specs: Collection[ApiSpec]) -> dict[str, set[str]]:
    """The names in use per source, for :func:`fix_names`'s ``taken``."""
    taken: dict[str, set[str]] = {}
    for spec in specs:
        taken.setdefault(spec.source, set()).add(spec.name)
    return taken
