"""Curation's rules and the stable reason codes their rejections carry.

Every API that goes into :func:`~executors.curation.curate_specs` comes out kept or
rejected by exactly one named rule with one reason code; the report counts them per rule
and reason. Accessibility rejections carry the executor's own reason (``timeout``,
``http_error``, ``function_error``... see :data:`executors.REASONS`) or one of the
accessibility codes below.

Hierarchy of the errors raised for bad input (not for bad APIs, which are data)::

    ExecutorsError
    └── CurationError          reason "invalid_curation_config": a taxonomy, examples
                               file or option is malformed (names the file and field)
"""

from __future__ import annotations

from .._errors import ExecutorsError

__all__ = ["REJECT_REASONS", "RULES", "CurationError"]

RULES: dict[str, str] = {
    "conversion": "the source documentation could not be parsed into a spec",
    "documentation": "the API's description is missing or unusable",
    "parameters": "the API has no parameters, or a parameter without a type or description",
    "names": "a name is not a valid function name and cannot be renamed safely",
    "duplicates": "the API repeats one already kept",
    "accessibility": "the API did not answer successfully to one call with example arguments",
    "regeneration": "the LLM could not write usable documentation for the API",
}
"""Every rule, by name, with what it checks."""

REJECT_REASONS: dict[str, str] = {
    "unparseable_doc": "the converter rejected the item (the message names the field)",
    "empty_description": "the description is empty",
    "short_description": "the description has fewer words or characters than configured",
    "boilerplate_description": "the description is a placeholder or just repeats the name",
    "non_english_description": "the description is mostly not in the Latin alphabet",
    "copied_description": "the description is (nearly) the same as another API's",
    "no_parameters": "the API takes no parameters (excluded as in the APIGen paper)",
    "untyped_parameter": "a parameter's schema declares no type",
    "undocumented_parameter": "a parameter has no description",
    "invalid_name": "a parameter name is invalid and its binding cannot map a new one",
    "duplicate": "same name and parameter schema as an API kept earlier",
    "near_duplicate": "same parameter schema and a near-identical description",
    "unreachable_host": "the API's host did not resolve or accept a connection (probed once)",
    "no_example": "a required parameter has no example or default to call it with",
    "missing_credential": "the environment variable holding the API's credential is unset",
    "regeneration_failed": "the LLM's answer was an error or did not pass the quality rules",
}
"""Curation's own reason codes with their meaning (executor reasons come on top)."""


class CurationError(ExecutorsError):
    """Bad curation input: ``where`` names the file or option, ``field`` the entry."""

    reason = "invalid_curation_config"

    def __init__(self, where: str, field: str, problem: str) -> None:
        super().__init__(f"{where}: {field}: {problem}")
        self.where = where
        self.field = field
        self.problem = problem
