"""What a run changes when its generators are the embedded local model (SmolLM2-135M).

A 135M-parameter model on one CPU thread writes usable pairs only for easy tasks, so such a
run asks for the ``simple`` style only (one call of one tool), offers APIs with few scalar
parameters, caps the completion length, and uses the compact prompts for the generator and,
when the judge is local too, for the judge. The checkers stay as strict as for any model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from executors import ApiSpec
from topics import QueryStyle

from ._model_config import ModelConfig

__all__ = ["LOCAL_RUN", "LocalRunDefaults", "all_local"]


@dataclass(frozen=True, slots=True)
class LocalRunDefaults:
    """The sampler and prompt settings of a run on the local model.

    styles: share of tasks per query style (only ``simple`` by default).
    max_parameters: APIs offered declare at most this many parameters.
    parameter_types: JSON types every parameter of an offered API must have.
    max_tokens: completion cap of a generation call, in tokens (an answer with one call of
      two short arguments and a query is 40-90 tokens).
    """

    styles: Mapping[QueryStyle, float] = field(default_factory=lambda: {QueryStyle.SIMPLE: 1.0})
    max_parameters: int = 2
    parameter_types: tuple[str, ...] = ("string", "number", "integer", "boolean")
    max_tokens: int = 192

    def offers(self, spec: ApiSpec) -> bool:
        """True if ``spec`` is easy enough: 1..``max_parameters`` scalar parameters."""
        properties = spec.parameters.get("properties")
        if not isinstance(properties, dict) or not 1 <= len(properties) <= self.max_parameters:
            return False
        return all(
            isinstance(p, dict) and p.get("type") in self.parameter_types
            for p in properties.values()
        )


LOCAL_RUN = LocalRunDefaults()
"""The defaults ``apigen run`` uses when every generator is ``kind = "local"``."""


def all_local(models: Sequence[ModelConfig]) -> bool:
    """True if there is at least one model and every one is the in-process local model."""
    return bool(models) and all(m.kind == "local" for m in models)
