"""Blueprint validator: ``blueprints`` -> ``blueprint-pass`` | ``rejects`` (+ ``blueprint-tasks``).

A blueprint passes three checks, in order; the first it fails is its one reject:

1. **Format.** Reason codes::

       unknown_domain     the task names no domain this stage knows (not refined)
       no_actions         the blueprint has no actions
       unknown_tool       an action names a tool the task did not offer or the domain lacks
       invalid_arguments  an action's arguments do not fit the tool's JSON Schema

   Arguments are checked by the same function :meth:`Environment.call
   <executors.environments.Environment.call>` validates with, so the two never disagree.

2. **Execution.** The actions run in order on a fresh environment of the task's domain,
   reset to ``task.env_seed``::

       action_failed      an action failed (the message names its index, tool, and the
                          environment's reason and message: not_found, policy_violation...)
       no_state_change    no action changed the database (state digest before == after)

3. **Review.** The committee (:class:`~._blueprint_review.ReviewCommittee`) reads the
   blueprint and its replay results::

       review_rejected    fewer than ``quorum`` reviewers approved; the message holds the
                          reviewers' feedback (an abstaining reviewer, whose reply was
                          unreadable, counts as no approval and is named there too)

A passing blueprint becomes a :class:`~topics.BlueprintPass` with the replay results
(aligned with the actions), the final state digest and the reviews.

**Refinement.** Every failing draft is exactly one reject. When a draft of a task's
``attempt`` below ``settings.max_rounds`` fails (any reason but ``unknown_domain``), the
stage also writes a refined :class:`~topics.BlueprintTask` to ``blueprint-tasks``: the same
task with ``attempt + 1``, ``feedback`` the objections (the failing check's message, or the
reviewers' feedback) and ``previous`` the draft. Its id derives from the draft's, so a
redelivered draft makes the same refined task, which the log then holds once.

The replay runs in a worker thread (SQLite work is a few milliseconds; the event loop keeps
serving the LLM calls meanwhile), one private in-memory database per blueprint.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import anyio.to_thread

from executors._virtual import argument_problem  # what Environment.call validates with
from executors.environments import AIRLINE, RETAIL, Domain, Environment
from topics import Blueprint, BlueprintPass, BlueprintTask, CallResult, Topic

from ..llm import ChatModel
from ..runtime._multi_turn_metrics import multi_turn_metrics
from ..runtime._stage import Output, make_reject, stage_version
from ._blueprint_review import CommitteeDecision, ReviewCommittee, ReviewSettings

__all__ = ["DOMAINS", "REFINED", "BlueprintValidator", "Replay", "ValidatorSettings", "replay"]

REFINED = "refined"
"""The ``detail`` of a draft's reject when the validator also wrote a refined task for it."""

DOMAINS: Mapping[str, Domain] = {RETAIL.name: RETAIL, AIRLINE.name: AIRLINE}
"""The domains a validator knows by default, by name."""


@dataclass(frozen=True, slots=True)
class ValidatorSettings:
    """What the validator checks and how often it asks for a refined draft (part of the
    version).

    max_rounds: refinement rounds per sampled task: a failing draft whose task's
      ``attempt`` is below it gets a refined task (``attempt + 1``), so a task has at most
      ``max_rounds + 1`` drafts; 0 disables refinement.
    require_state_change: reject (``no_state_change``) a blueprint none of whose actions
      changes the database: APIGen-MT's tasks are about changing something, and only a
      state change makes the interplay's final-state comparison mean anything.

    Usage::

        ValidatorSettings(max_rounds=3)  # up to four drafts per task
    """

    max_rounds: int = 2
    require_state_change: bool = True

    def __post_init__(self) -> None:
        if self.max_rounds < 0:
            raise ValueError(f"max_rounds must be >= 0, got {self.max_rounds}")


@dataclass(frozen=True, slots=True)
class Replay:
    """A blueprint's actions run on a fresh environment: ``results`` of the actions that
    ran (all, unless ``failed`` names the index of the one that failed and ended it),
    the state digests ``before`` and ``after``."""

    results: tuple[CallResult, ...]
    before: str
    after: str
    failed: int | None = None


def replay(domain: Domain, seed: int, blueprint: Blueprint) -> Replay:
    """Run ``blueprint``'s actions in order on ``domain`` reset to ``seed``; stops at the
    first failing action. Blocking (SQLite in memory); never raises for bad actions."""
    env = Environment(domain)
    env.reset(seed)
    try:
        before = env.state_digest()
        results: list[CallResult] = []
        for index, action in enumerate(blueprint.actions):
            start = time.perf_counter()
            outcome = env.call(action.name, action.arguments)
            latency = time.perf_counter() - start
            if not outcome.ok:
                failed = CallResult(
                    False, reason=outcome.reason, message=outcome.message, latency_s=latency
                )
                results.append(failed)
                return Replay(tuple(results), before, env.state_digest(), index)
            results.append(CallResult(True, outcome.value, latency_s=latency))
        return Replay(tuple(results), before, env.state_digest())
    finally:
        env.close()


def _fingerprint(domain: Domain) -> str:
    """What of a domain decides replays: schema, policy, tool specs, and the seeded data of
    seed 0 (a changed generator changes it), as 16 hex digits."""
    env = Environment(domain)
    env.reset(0)
    try:
        seeded = env.state_digest()
    finally:
        env.close()
    h = hashlib.blake2b(digest_size=8)
    for part in (domain.schema, domain.policy, seeded):
        h.update(part.encode())
    for tool in domain.tools:
        h.update(repr((tool.name, tool.parameters, tool.writes)).encode())
    return h.hexdigest()


class BlueprintValidator:
    """The blueprint-validator stage (see the module docstring).

    reviewers: the committee's models, in order (empty: no review, every blueprint that
      replays is approved).
    settings: rounds and checks (:class:`ValidatorSettings`).
    review: the committee's quorum, temperature, budget and prompt (:class:`ReviewSettings`).
    domains: the domains by name (default :data:`DOMAINS`: retail and airline).
    pause_on_outage: wait out a reviewer endpoint's outage (True) or count it as an
      abstention (False); timing only, not in the version.
    config: further settings that decide verdicts (the reviewers' endpoints...), hashed
      into the version; never secrets.

    Usage::

        validator = BlueprintValidator([model] * 3, review=ReviewSettings(quorum=2))
    """

    name = "blueprint-validator"
    input_topic = Topic.BLUEPRINTS
    input_type = Blueprint

    def __init__(
        self,
        reviewers: Sequence[ChatModel] = (),
        *,
        settings: ValidatorSettings | None = None,
        review: ReviewSettings | None = None,
        domains: Mapping[str, Domain] | None = None,
        pause_on_outage: bool = True,
        version_name: str = "blueprint-validator-v1",
        config: object = None,
    ) -> None:
        self.settings = settings or ValidatorSettings()
        self.committee = ReviewCommittee(reviewers, review, pause_on_outage=pause_on_outage)
        self.domains = dict(domains if domains is not None else DOMAINS)
        self.version = stage_version(
            version_name,
            {
                "settings": self.settings,
                "committee": self.committee.config,
                "domains": {n: _fingerprint(d) for n, d in sorted(self.domains.items())},
                "config": config,
            },
        )
        self.passed_total = 0
        self.rejected_total = 0
        self.refined_total = 0
        self._metrics = multi_turn_metrics().stage(self.name, self.version)
        self._metrics.declare(self.domains, max_rounds=self.settings.max_rounds)

    def __repr__(self) -> str:
        return (
            f"<BlueprintValidator {self.version} passed={self.passed_total}"
            f" rejected={self.rejected_total} refined={self.refined_total} {self.committee!r}>"
        )

    async def process(self, event: Blueprint) -> list[Output]:
        task = event.task
        domain = self.domains.get(task.domain)
        if domain is None:
            known = sorted(self.domains)
            return self._fail(event, "unknown_domain", f"{task.domain!r} not in {known}", False)
        problem = self._format_problem(event, domain)
        if problem is not None:
            return self._fail(event, *problem)
        ran = await anyio.to_thread.run_sync(replay, domain, task.env_seed, event)
        if ran.failed is not None:
            action = event.actions[ran.failed]
            result = ran.results[ran.failed]
            message = (
                f"action {ran.failed} ({action.name}) failed: {result.reason}: {result.message}"
            )
            return self._fail(event, "action_failed", message)
        if self.settings.require_state_change and ran.before == ran.after:
            writes = [a.name for a in event.actions if (t := domain.tool(a.name)) and t.writes]
            message = (
                f"the actions leave the database unchanged (write actions: {writes or 'none'})"
            )
            return self._fail(event, "no_state_change", message)
        decision = await self.committee.review(event, ran.results)
        if not decision.approved:
            return self._fail(event, "review_rejected", _review_message(decision), True, decision)
        self.passed_total += 1
        self._metrics.draft(task.domain, task.attempt, "passed")
        passed = BlueprintPass(
            meta=event.meta.child(self.name, self.version),
            blueprint=event,
            results=ran.results,
            final_state=ran.after,
            reviews=decision.reviews,
        )
        return [Output(Topic.BLUEPRINT_PASS, passed)]

    def _format_problem(self, event: Blueprint, domain: Domain) -> tuple[str, str] | None:
        if not event.actions:
            return "no_actions", "the blueprint has no actions"
        offered = {t.name for t in event.task.tools}
        for index, action in enumerate(event.actions):
            if action.name not in offered or domain.tool(action.name) is None:
                where = "the task's tools" if action.name not in offered else domain.name
                return "unknown_tool", f"action {index}: {action.name!r} is not in {where}"
        for index, action in enumerate(event.actions):
            spec = next(s for s in domain.specs if s.name == action.name)
            if problem := argument_problem(spec, action.arguments):
                return "invalid_arguments", f"action {index} ({action.name}): {problem}"
        return None

    def _fail(
        self,
        event: Blueprint,
        reason: str,
        message: str,
        refine: bool = True,
        decision: CommitteeDecision | None = None,
    ) -> list[Output]:
        self.rejected_total += 1
        task = event.task
        domain = task.domain if task.domain in self.domains else "unknown"
        refined_too = refine and task.attempt < self.settings.max_rounds
        out = [
            make_reject(
                self.name,
                self.version,
                reason=reason,
                message=message,
                event=event,
                input_topic=self.input_topic,
                # The task goes on with a refined draft: this reject is not its end.
                detail=REFINED if refined_too else "",
            )
        ]
        self._metrics.draft(domain, task.attempt, "refined" if refined_too else "rejected")
        if refined_too:
            feedback = decision.objections if decision is not None else ()
            self.refined_total += 1
            refined: BlueprintTask = replace(
                task,
                meta=event.meta.child(self.name, self.version, "refine"),
                attempt=task.attempt + 1,
                feedback=feedback or (f"{reason}: {message}",),
                previous=event,
            )
            out.append(Output(Topic.BLUEPRINT_TASKS, refined))
        return out


def _review_message(decision: CommitteeDecision) -> str:
    head = (
        f"{decision.approvals} of {len(decision.reviews)} reviewers approved"
        f" ({decision.abstentions} abstained); {decision.quorum} needed"
    )
    return "; ".join((head, *decision.objections))
