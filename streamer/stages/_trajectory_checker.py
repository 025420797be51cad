"""Trajectory checker: ``trajectories`` -> ``trajectory-pass`` | ``rejects`` (issue 18).

A trajectory is accepted when the agent did what the blueprint's ground truth says, judged
by these rules, in this order (the first that fails is the reject's reason):

1. ``action_mismatch`` — the agent's **successful write calls** equal the blueprint's write
   actions: same names and arguments (compared as canonical JSON: sorted keys, so key order
   does not matter and ``1`` differs from ``1.0``), in order when ``blueprint.ordered``,
   as a multiset otherwise. Reads are never compared; a write that failed changed nothing
   and is left to rule 4. The message names the first difference (a missing, extra or
   different write).
2. ``state_mismatch`` — the trajectory's ``final_state`` equals the blueprint's (the
   environment's digest after the ground-truth actions). With equal writes on a
   deterministic environment this fails only when order mattered although the blueprint
   said it did not, or the event is not what the interplay stage wrote.
3. ``missing_output`` — every blueprint output is stated in some assistant message, as
   the grounding rules read text (:class:`streamer.grounding.Mentions`: case, whitespace
   and typography normalized, numbers in any written form, so "12.50" states ``12.5``).
4. ``policy_violation`` — no write call of the agent was refused by its tool with reason
   ``policy_violation``. A refused write leaves no trace in the writes or the state, so an
   agent that tried something the policy forbids and then did the right thing would pass
   rules 1-3; this rule rejects it.

The ground truth decides first because it says what the user needed: a trajectory that
got the writes wrong is an action mismatch whatever else it did. Tool results are taken
from the tool turns in order, aligned with ``actions``; an action without a tool turn
counts as failed. A trajectory whose domain the checker does not have is rejected with
``unknown_domain``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from executors.environments import AIRLINE, RETAIL, Domain
from topics import Call, CallResult, Role, Topic, Trajectory, TrajectoryPass

from ..grounding import Mentions
from ..runtime._stage import Output, make_reject, stage_version

__all__ = ["TrajectoryChecker", "TrajectoryVerdict", "check_trajectory"]

RULES_VERSION = "1"
"""Bumped when a rule's meaning changes (part of the stage version)."""


@dataclass(frozen=True, slots=True)
class TrajectoryVerdict:
    """A check's outcome: ``reason`` empty when the trajectory passes, else the first
    failed rule's code, with a ``message`` naming what differs."""

    reason: str = ""
    message: str = ""

    @property
    def passed(self) -> bool:
        return not self.reason


def _key(call: Call) -> str:
    args = orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
    return f"{call.name}({args})"


def _writes(domain: Domain, calls: Sequence[Call]) -> list[Call]:
    out = []
    for call in calls:
        tool = domain.tool(call.name)
        if tool is not None and tool.writes:
            out.append(call)
    return out


def _results(trajectory: Trajectory) -> list[CallResult | None]:
    """The tool turns' results aligned with ``actions`` (None for an action without one)."""
    found = [t.result for t in trajectory.turns if t.role is Role.TOOL]
    found += [None] * (len(trajectory.actions) - len(found))
    return found[: len(trajectory.actions)]


def _action_difference(expected: list[Call], got: list[Call], ordered: bool) -> str:
    """The first difference between two write sequences, or "" when they match."""
    if ordered:
        for i, (want, have) in enumerate(zip(expected, got, strict=False)):
            if _key(want) != _key(have):
                return f"write {i + 1}: expected {_key(want)}, got {_key(have)}"
        if len(expected) > len(got):
            return f"write {len(got) + 1} missing: expected {_key(expected[len(got)])}"
        if len(got) > len(expected):
            return f"extra write {len(expected) + 1}: {_key(got[len(expected)])}"
        return ""
    missing = Counter(map(_key, expected))
    missing.subtract(map(_key, got))
    for call in expected:
        if missing[_key(call)] > 0:
            return f"missing write (any order): {_key(call)}"
    for call in got:
        if missing[_key(call)] < 0:
            return f"extra write (any order): {_key(call)}"
    return ""


def check_trajectory(trajectory: Trajectory, domain: Domain) -> TrajectoryVerdict:
    """The rules of the module docstring, in order, over one trajectory."""
    passed = trajectory.blueprint
    blueprint = passed.blueprint
    results = _results(trajectory)
    succeeded = [c for c, r in zip(trajectory.actions, results, strict=True) if r and r.ok]
    difference = _action_difference(
        _writes(domain, blueprint.actions), _writes(domain, succeeded), blueprint.ordered
    )
    if difference:
        return TrajectoryVerdict("action_mismatch", difference)
    if trajectory.final_state != passed.final_state:
        return TrajectoryVerdict(
            "state_mismatch",
            f"final state {trajectory.final_state[:12]} is not the blueprint's "
            f"{passed.final_state[:12]}",
        )
    said = [Mentions(t.content) for t in trajectory.turns if t.role is Role.ASSISTANT]
    for output in blueprint.outputs:
        if not any(m.grounds(output) for m in said):
            return TrajectoryVerdict("missing_output", f"no agent message states {output!r}")
    for call, result in zip(trajectory.actions, results, strict=True):
        refused = result is not None and result.reason == "policy_violation"
        if refused and _writes(domain, [call]):
            message = result.message if result is not None else ""
            return TrajectoryVerdict("policy_violation", f"{_key(call)} refused: {message}")
    return TrajectoryVerdict()


class TrajectoryChecker:
    """The trajectory checker stage over ``domains`` (retail and airline by default)."""

    name = "trajectory-checker"
    input_topic = Topic.TRAJECTORIES
    input_type = Trajectory

    def __init__(
        self,
        *,
        domains: Sequence[Domain] = (RETAIL, AIRLINE),
        version_name: str = "trajectory-checker-v1",
    ) -> None:
        """``version_name``: the explicit part of the version (a replay names its own)."""
        self.domains = {d.name: d for d in domains}
        self.version = stage_version(
            version_name, {"rules": RULES_VERSION, "domains": sorted(self.domains)}
        )

    def __repr__(self) -> str:
        return f"<TrajectoryChecker {self.version} domains={sorted(self.domains)}>"

    async def process(self, event: Trajectory) -> list[Output]:
        name = event.blueprint.blueprint.task.domain
        domain = self.domains.get(name)
        verdict = (
            check_trajectory(event, domain)
            if domain is not None
            else TrajectoryVerdict("unknown_domain", f"no domain {name!r}")
        )
        if not verdict.passed:
            return [
                make_reject(
                    self.name,
                    self.version,
                    reason=verdict.reason,
                    message=verdict.message,
                    event=event,
                    input_topic=self.input_topic,
                    model=event.agent_model,
                )
            ]
        passed = TrajectoryPass(meta=event.meta.child(self.name, self.version), trajectory=event)
        return [Output(Topic.TRAJECTORY_PASS, passed)]
