"""Prometheus metrics of the multi-turn pipeline (issue 18) beyond the generic stage ones.

The stage runner already counts every multi-turn stage's inputs, outputs and rejects by
reason (:mod:`._metrics`). What those cannot say, a user watching a multi-turn run asks
here: how many trajectories were verified per domain and how long they are, how often
blueprint drafts pass, fail for good or are sent back for refinement, and why
conversations end. Every family carries ``stage`` and ``version`` (the counting stage's,
so a replay under a new version shows beside the old one) and ``domain``.

Labels are bounded: ``domain`` is a domain the counting stage knows (``retail``,
``airline``; a task naming another counts as ``unknown``), capped like every label at
:data:`~._metrics.MAX_LABEL_VALUES` values; ``attempt`` is the refinement round
``0`` .. ``9``, later rounds ``10+``; ``outcome`` is ``passed`` | ``rejected`` |
``refined``; ``reason`` a stable code (``user_done`` or an interplay reject reason:
``turn_limit``, ``tool_step_limit``, ``agent_unparseable``, ``unknown_domain``,
``llm_<reason>``). Never ids, intents or model output.

Each stage declares its series at 0 when it is made (:meth:`MultiTurnStageMetrics.declare`:
its domains, the validator's attempts and outcomes, the interplay's usual ends), so the
first trajectory of a run shows in ``increase`` and ``rate`` and a domain that yields
nothing shows as 0 rather than missing.

Families::

    apigen_multi_turn_trajectories_verified_total{stage, version, domain}
        trajectories the trajectory sink newly stored (a redelivered pass is not counted)
    apigen_multi_turn_trajectory_user_turns{stage, version, domain}
        histogram: user turns of each stored trajectory (the closing ###STOP### turn counts)
    apigen_multi_turn_trajectory_actions{stage, version, domain}
        histogram: tool calls the agent made in each stored trajectory
    apigen_multi_turn_blueprint_drafts_total{stage, version, domain, attempt, outcome}
        drafts the blueprint validator judged: passed, rejected for good, or rejected and
        answered with a refined task (refined; every failing draft is one reject either way)
    apigen_multi_turn_conversations_ended_total{stage, version, domain, reason}
        conversations the interplay finished, by how they ended (``user_done``: the user
        stopped; anything else is the reject's reason code)

``rate(..._user_turns_sum) / rate(..._user_turns_count)`` is the average user turns per
verified trajectory (the dataset card's figure, live); ``refined / drafts`` the refinement
rate.

Usage::

    drafts = multi_turn_metrics().stage("blueprint-validator", version)
    drafts.draft("retail", attempt=0, outcome="refined")
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from ._metrics import _Bounded

__all__ = [
    "ACTION_BUCKETS",
    "CONVERSATION_ENDS",
    "DRAFT_OUTCOMES",
    "USER_TURN_BUCKETS",
    "MultiTurnMetrics",
    "MultiTurnStageMetrics",
    "multi_turn_metrics",
]

USER_TURN_BUCKETS: tuple[float, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20)
"""Histogram buckets (user turns per trajectory; ``max_turns`` defaults to 10)."""

ACTION_BUCKETS: tuple[float, ...] = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30)
"""Histogram buckets (agent tool calls per trajectory)."""

DRAFT_OUTCOMES: tuple[str, ...] = ("passed", "rejected", "refined")
"""What became of a blueprint draft."""

CONVERSATION_ENDS: tuple[str, ...] = (
    "user_done",
    "turn_limit",
    "tool_step_limit",
    "agent_unparseable",
)
"""The ends the interplay declares at 0 for its domains (``unknown_domain`` and
``llm_<reason>`` ends appear when they happen)."""

_MAX_ATTEMPT = 10
_STAGE = ["stage", "version", "domain"]


def _attempt(attempt: int) -> str:
    return str(attempt) if 0 <= attempt < _MAX_ATTEMPT else f"{_MAX_ATTEMPT}+"


class MultiTurnStageMetrics:
    """The children of one stage at one version; made by :meth:`MultiTurnMetrics.stage`."""

    def __init__(self, families: MultiTurnMetrics, stage: str, version: str) -> None:
        self._f = families
        self.stage = stage
        self.version = version
        self._verified: dict[str, tuple[Counter, Histogram, Histogram]] = {}
        self._drafts: dict[tuple[str, int, str], Counter] = {}
        self._ends: dict[tuple[str, str], Counter] = {}

    def __repr__(self) -> str:
        return (
            f"<MultiTurnStageMetrics {self.stage} {self.version} domains={len(self._verified)}"
            f" drafts={len(self._drafts)} ends={len(self._ends)}>"
        )

    def declare(
        self,
        domains: Iterable[str],
        *,
        verified: bool = False,
        max_rounds: int | None = None,
        ends: Iterable[str] = (),
    ) -> None:
        """Create at 0 the series a stage will count into, before it counts: Prometheus
        sees a series' first increment only if it scraped the series before it (otherwise
        ``increase`` over a short run is 0). ``verified``: the trajectory families;
        ``max_rounds``: the drafts of attempts 0..max_rounds, every outcome; ``ends``:
        conversation ends with these reasons; each for every one of ``domains``."""
        ends = tuple(ends)
        for domain in domains:
            if verified:
                self._verified_children(domain)
            if max_rounds is not None:
                for attempt in range(max_rounds + 1):
                    for outcome in DRAFT_OUTCOMES:
                        self._draft_child(domain, attempt, outcome)
            for reason in ends:
                self._end_child(domain, reason)

    def trajectory_verified(self, domain: str, user_turns: int, actions: int) -> None:
        """One newly stored trajectory of ``domain`` with its user turns and actions."""
        verified, turns, calls = self._verified_children(domain)
        verified.inc()
        turns.observe(user_turns)
        calls.observe(actions)

    def draft(self, domain: str, attempt: int, outcome: str) -> None:
        """One judged blueprint draft (``outcome`` one of :data:`DRAFT_OUTCOMES`)."""
        if outcome not in DRAFT_OUTCOMES:
            raise ValueError(f"outcome {outcome!r} not in {DRAFT_OUTCOMES}")
        self._draft_child(domain, attempt, outcome).inc()

    def conversation_ended(self, domain: str, reason: str) -> None:
        """One conversation finished by the interplay; ``reason`` a stable code."""
        self._end_child(domain, reason).inc()

    def _verified_children(self, domain: str) -> tuple[Counter, Histogram, Histogram]:
        children = self._verified.get(domain)
        if children is None:
            f = self._f
            labels = (self.stage, self.version, f.domains(domain))
            children = (
                f.verified.labels(*labels),
                f.user_turns.labels(*labels),
                f.actions.labels(*labels),
            )
            self._verified[domain] = children
        return children

    def _draft_child(self, domain: str, attempt: int, outcome: str) -> Counter:
        key = (domain, attempt, outcome)
        child = self._drafts.get(key)
        if child is None:
            f = self._f
            child = f.drafts.labels(
                self.stage, self.version, f.domains(domain), _attempt(attempt), outcome
            )
            self._drafts[key] = child
        return child

    def _end_child(self, domain: str, reason: str) -> Counter:
        key = (domain, reason)
        child = self._ends.get(key)
        if child is None:
            f = self._f
            child = f.ends.labels(self.stage, self.version, f.domains(domain), f.reasons(reason))
            self._ends[key] = child
        return child


class MultiTurnMetrics:
    """Every multi-turn family, on ``registry`` (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.domains = _Bounded()
        self.reasons = _Bounded()
        r = registry
        self.verified = Counter(
            "apigen_multi_turn_trajectories_verified",
            "Verified trajectories newly stored by the trajectory sink, by domain.",
            _STAGE,
            registry=r,
        )
        self.user_turns = Histogram(
            "apigen_multi_turn_trajectory_user_turns",
            "User turns per stored verified trajectory (the closing stop turn included).",
            _STAGE,
            buckets=USER_TURN_BUCKETS,
            registry=r,
        )
        self.actions = Histogram(
            "apigen_multi_turn_trajectory_actions",
            "Agent tool calls (actions) per stored verified trajectory.",
            _STAGE,
            buckets=ACTION_BUCKETS,
            registry=r,
        )
        self.drafts = Counter(
            "apigen_multi_turn_blueprint_drafts",
            "Blueprint drafts judged by the validator, by refinement attempt and outcome"
            " (passed; rejected for good; refined: rejected and sent back as a refined task).",
            [*_STAGE, "attempt", "outcome"],
            registry=r,
        )
        self.ends = Counter(
            "apigen_multi_turn_conversations_ended",
            "Conversations the interplay finished, by how they ended (user_done, or the"
            " reject's reason code: turn_limit, tool_step_limit, ...).",
            [*_STAGE, "reason"],
            registry=r,
        )
        self._stages: dict[tuple[str, str], MultiTurnStageMetrics] = {}
        self._lock = threading.Lock()

    def stage(self, stage: str, version: str) -> MultiTurnStageMetrics:
        """The (cached) children of ``stage`` at ``version``."""
        with self._lock:
            found = self._stages.get((stage, version))
            if found is None:
                found = MultiTurnStageMetrics(self, stage, version)
                self._stages[(stage, version)] = found
            return found


_default: MultiTurnMetrics | None = None
_default_lock = threading.Lock()


def multi_turn_metrics() -> MultiTurnMetrics:
    """The process-wide :class:`MultiTurnMetrics` on ``prometheus_client.REGISTRY``."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = MultiTurnMetrics()
    return _default
