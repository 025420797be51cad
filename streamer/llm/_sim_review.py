"""Simulated blueprint reviewer of the multi-turn pipeline (see :mod:`._simroles`).

Answers requests with a ``<blueprint_review>`` block (:mod:`streamer.prompts._review`) with
``{"approved", "feedback"}``: it approves a blueprint whose replay results all succeeded
and disapproves one with a failed result, and its feedback begins with
:data:`SIMULATED_REVIEWER`, so nobody mistakes it for a judgement. It is a test double.

Fault ``review_reject`` -> ``("blueprint-validator", "review_rejected")``: a blueprint it
would approve is disapproved instead when its draw falls below the rate. The rate is **per
distinct reviewed blueprint**, and the draw is fixed by a hash of the block's blueprint
(its id, intent, actions, outputs and results), not by the request: every reviewer of a
committee, and every retry or redelivery, sees the same verdict, so an injected fault
rejects the blueprint through any quorum, exactly once. A refined draft is another
blueprint (its id and usually its text differ), so it draws afresh and may pass.

Counting: the fault is counted once per distinct blueprint hash per simulator (the
``injected`` counter the simulator passes, i.e. its ``/stats``), however many reviewers
ask about it and however often (three seats, a retried truncated reply, a redelivered
blueprint): the role remembers the hashes it counted for each counter. So the count equals
the ``review_rejected`` rejects of distinct blueprints a run makes, which is what its store
holds (a redelivered reject has the same id).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import Counter
from typing import Any

import orjson

from ._simrole import RoleRequest, SimRole

__all__ = ["ROLES", "SIMULATED_REVIEWER", "review_draw"]

SIMULATED_REVIEWER = "[simulated reviewer: a rule-based test double, not a model's judgement]"
"""How every feedback of the simulated reviewer begins."""

_KEYS = ("blueprint_id", "intent", "actions", "outputs", "ordered", "results")


def review_draw(review: dict[str, Any]) -> tuple[float, bytes]:
    """A uniform number in [0, 1) fixed by the reviewed blueprint in ``review`` (the
    block's JSON), and the hash it comes from."""
    key = orjson.dumps([review.get(k) for k in _KEYS], option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(key, digest_size=16).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, digest


class _Counted:
    """The blueprint hashes already counted, per ``injected`` counter (one per simulator).

    A Counter is not hashable, so entries are keyed by ``id`` and hold a weak reference
    that tells a live counter from a new one at a reused address."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # simulators may serve from several threads
        self._by_counter: dict[int, tuple[weakref.ref[Counter[str]], set[bytes]]] = {}

    def first_time(self, injected: Counter[str], digest: bytes) -> bool:
        with self._lock:
            entry = self._by_counter.get(id(injected))
            if entry is None or entry[0]() is not injected:
                for key in [k for k, (ref, _) in self._by_counter.items() if ref() is None]:
                    del self._by_counter[key]
                entry = (weakref.ref(injected), set())
                self._by_counter[id(injected)] = entry
            if digest in entry[1]:
                return False
            entry[1].add(digest)
            return True


_COUNTED = _Counted()


def _answer(request: RoleRequest) -> str:
    review = orjson.loads(request.block)
    if not isinstance(review, dict):
        raise ValueError("the blueprint_review block is not a JSON object")
    results = review.get("results")
    if not isinstance(results, list):
        raise ValueError("the blueprint_review block has no results list")
    failed = [i for i, r in enumerate(results) if isinstance(r, dict) and "error" in r]
    rate = request.corruption.get("review_reject", 0.0)
    draw, digest = review_draw(review)
    if failed:
        approved, why = False, f"action {failed[0]} failed when replayed"
    elif rate > 0 and draw < rate:
        approved, why = False, "injected review_reject"
        if _COUNTED.first_time(request.injected, digest):
            request.injected["review_reject"] += 1
    else:
        approved, why = True, "every action succeeded when replayed"
    return orjson.dumps({"approved": approved, "feedback": f"{SIMULATED_REVIEWER} {why}"}).decode()


ROLES: tuple[SimRole, ...] = (
    SimRole(
        tag="blueprint_review",
        answer=_answer,
        corruptions={"review_reject": ("blueprint-validator", "review_rejected")},
    ),
)
"""The blueprint review roles the simulated endpoint plays."""
