"""How a stage asks a model: which of its weighted models answers an event (the same one
for a redelivered or replayed event), and the call through the model's outage gate, where
a refused credential stops the stage instead of rejecting one event after another."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence

from ..llm import ChatModel, Completion, LlmError
from ..llm._outage import EndpointGate
from ..runtime._stage import StageHalted

__all__ = ["WeightedModel", "ask_model", "choose_weighted"]

WeightedModel = tuple[ChatModel, float]
"""A model and its relative weight (> 0)."""


def choose_weighted(models: Sequence[WeightedModel], key: str) -> ChatModel:
    """One of ``models`` by weight, drawn with ``key`` (an event id) as the seed."""
    if len(models) == 1:
        return models[0][0]
    rng = random.Random(key)
    return rng.choices([m for m, _ in models], [w for _, w in models])[0]


async def ask_model(
    ask: Callable[[], Awaitable[Completion]],
    gate: EndpointGate | None,
    *,
    model: str,
    part: str,
    prefix: str = "llm_",
) -> Completion:
    """``ask()`` through ``gate`` (None: directly; an outage then fails the call). A fatal
    error (a refused credential) raises :class:`StageHalted` with reason
    ``<prefix><reason>`` and a message naming ``part`` and the endpoint; any other
    :class:`LlmError` is raised for the caller to turn into its reject."""
    try:
        return await (gate.call(ask) if gate is not None else ask())
    except LlmError as exc:
        if exc.fatal:
            where = exc.endpoint or model
            raise StageHalted(
                f"{prefix}{exc.reason}", f"{part} endpoint {where}: {exc.message}"
            ) from exc
        raise
