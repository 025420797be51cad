"""The parts the simulated endpoint plays in the multi-turn pipeline (issue 18): blueprint
writer (:mod:`._sim_blueprint`), reviewer (:mod:`._sim_review`), user and agent
(:mod:`._sim_interplay`).

A role is recognized by a prompt block, ``<tag>...</tag>``, in any of a request's messages
(the last one that has it): the multi-turn prompts put one there, as the single-turn
prompts put ``<tools>`` and ``<samples>``. Each role declares the faults it can inject and
the reject, as ``(stage, reason)``, each must cause, so ``GET /stats`` reports what a run's
rejects must add up to, as it does for the single-turn corruptions.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..prompts import extract_block
from ._sim_blueprint import ROLES as BLUEPRINT
from ._sim_interplay import ROLES as INTERPLAY
from ._sim_review import ROLES as REVIEW
from ._simrole import RoleRequest, SimRole

__all__ = [
    "RoleRequest",
    "SimRole",
    "answer_role",
    "role_corruptions",
    "role_expected_rejects",
]


def _roles() -> tuple[SimRole, ...]:
    return (*BLUEPRINT, *REVIEW, *INTERPLAY)


def role_corruptions() -> dict[str, tuple[str, str]]:
    """Every multi-turn fault kind and the reject it must cause."""
    out: dict[str, tuple[str, str]] = {}
    for role in _roles():
        out.update(role.corruptions)
    return out


def role_expected_rejects(injected: Mapping[str, int]) -> Counter[tuple[str, str]]:
    """Reject counts per ``(stage, reason)`` the injected multi-turn faults must cause."""
    kinds = role_corruptions()
    out: Counter[tuple[str, str]] = Counter()
    for kind, n in injected.items():
        if n and kind in kinds:
            out[kinds[kind]] += n
    return out


def answer_role(
    messages: Sequence[Any],
    rng: random.Random,
    corruption: Mapping[str, float],
    injected: Counter[str],
) -> str | None:
    """The content a role answers ``messages`` with, or None when no role's block is in
    them."""
    texts = [str(m.get("content") or "") for m in reversed(messages) if isinstance(m, Mapping)]
    for role in _roles():
        for text in texts:
            block = extract_block(text, role.tag)
            if block is not None:
                request = RoleRequest(
                    [m for m in messages if isinstance(m, Mapping)],
                    block,
                    rng,
                    corruption,
                    injected,
                )
                return role.answer(request)
    return None
