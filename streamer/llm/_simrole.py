"""What a simulated multi-turn role is (see :mod:`._simroles`, which lists them)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RoleRequest", "SimRole"]


@dataclass(frozen=True, slots=True)
class RoleRequest:
    """One request to a role: the chat ``messages`` as sent, ``block`` the text of the
    role's tag block, ``rng`` the request's answer RNG (see the simulator's reproducibility
    note), ``corruption`` the configured fault rates by kind (per the role's own unit,
    documented with its kinds). The role adds every fault it injected to ``injected``."""

    messages: Sequence[Mapping[str, Any]]
    block: str
    rng: random.Random
    corruption: Mapping[str, float]
    injected: Counter[str]


@dataclass(frozen=True, slots=True)
class SimRole:
    """A part the simulator plays: requests with a ``<tag>`` block are answered by
    ``answer`` (the assistant message's content; ValueError/KeyError/TypeError for a
    request it cannot read, which the endpoint answers with a 400). ``corruptions`` maps
    each fault kind the role can inject to the ``(stage, reason)`` reject it must cause."""

    tag: str
    answer: Callable[[RoleRequest], str]
    corruptions: Mapping[str, tuple[str, str]]
