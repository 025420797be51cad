"""The blueprint review committee: several reviewer models, a quorum of approvals.

Each reviewer gets the reviewer prompt (:mod:`streamer.prompts._review`: the blueprint,
the task's policy and user record, and what each action returned when replayed) and answers
``{"approved": bool, "feedback": str}`` with JSON structured output. A blueprint is approved
when at least ``quorum`` reviewers approve it (default: a majority of the committee).

**Abstentions.** A reviewer whose reply is not that object (not JSON, ``approved`` missing
or not a boolean, ``feedback`` not a string), or whose call failed for this request
(``bad_request``, ``bad_response``, ...), *abstains*: its :class:`~topics.Review` has
``approved=False`` and feedback beginning ``abstained:`` and naming the problem. An
abstention is not an approval, so it counts against the quorum like a "no"; the decision
tells the two apart (:attr:`CommitteeDecision.abstained`), never from the feedback's text,
which is the model's.

**Infrastructure.** An outage of a reviewer's endpoint (429s, 5xx, timeouts, connection
errors beyond the client's retries) is not a verdict: that reviewer's calls pause until it
answers (:class:`~streamer.llm._outage.EndpointGate`), so the event stays unfinished and
uncommitted meanwhile; with ``pause_on_outage=False`` the outage is an abstention. A refused
credential stops the stage: :class:`~streamer.runtime.StageHalted` with reason
``llm_auth_error``, naming the endpoint.

Usage::

    committee = ReviewCommittee([model_a, model_b, model_c], ReviewSettings(quorum=2))
    decision = await committee.review(blueprint, results)
    decision.approved, decision.reviews
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from topics import Blueprint, CallResult, Review, Usage

from ..llm import ChatModel, Completion, LlmError
from ..llm._outage import EndpointGate
from ..prompts import PromptTemplate
from ..prompts._review import REVIEW, render_review, review_schema
from ..runtime._stage import StageHalted
from ._asking import ask_model

__all__ = [
    "ABSTAINED",
    "CommitteeDecision",
    "ReviewCommittee",
    "ReviewSettings",
    "parse_review",
]

ABSTAINED = "abstained: "
"""How the feedback of an abstaining reviewer begins."""

FEEDBACK_CHARS = 2000
"""A reviewer's feedback is kept up to this many characters."""


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    """How the committee reviews (every field is part of the validator's version).

    quorum: approvals needed to approve a blueprint, 1..len(reviewers); None means a
      majority (``len(reviewers) // 2 + 1``).
    temperature: sampling temperature of the review calls.
    max_tokens: completion tokens allowed per review.
    prompt: the reviewer template (placeholder ``review``).

    Usage::

        ReviewSettings(quorum=2, temperature=0.3)  # 2 of 3 reviewers, some diversity
    """

    quorum: int | None = None
    temperature: float = 0.0
    max_tokens: int = 400
    prompt: PromptTemplate = REVIEW


@dataclass(frozen=True, slots=True)
class CommitteeDecision:
    """The committee's verdict on one blueprint.

    ``reviews`` are in committee order and ``abstained`` aligns with them (True: that
    reviewer gave no verdict); ``approved`` is ``approvals >= quorum``.
    """

    reviews: tuple[Review, ...]
    abstained: tuple[bool, ...]
    quorum: int

    @property
    def approvals(self) -> int:
        return sum(r.approved for r in self.reviews)

    @property
    def abstentions(self) -> int:
        return sum(self.abstained)

    @property
    def approved(self) -> bool:
        return self.approvals >= self.quorum

    @property
    def objections(self) -> tuple[str, ...]:
        """The feedback of the reviewers who said no, as ``"<reviewer>: <feedback>"``;
        the abstentions' only when nobody gave a verdict against."""
        seats = list(zip(self.reviews, self.abstained, strict=True))
        against = [r for r, abstained in seats if not r.approved and not abstained]
        against = against or [r for r, abstained in seats if abstained]
        return tuple(f"{r.reviewer}: {r.feedback}" for r in against)


class ReviewCommittee:
    """Asks every reviewer about a blueprint, concurrently, and counts the approvals.

    reviewers: the reviewer models, in committee order (one model may sit several times;
      each seat gets its own request ``seed``, so a sampling model gives independent
      reviews). No reviewers approves every blueprint unreviewed.
    settings: quorum, temperature, token budget and prompt (:class:`ReviewSettings`).
    pause_on_outage: wait out a reviewer endpoint's outage (True, the pipeline) or count
      the outage as that reviewer's abstention (False); timing only, not in the version.
    """

    def __init__(
        self,
        reviewers: Sequence[ChatModel],
        settings: ReviewSettings | None = None,
        *,
        pause_on_outage: bool = True,
    ) -> None:
        self.reviewers = tuple(reviewers)
        self.settings = settings or ReviewSettings()
        quorum = self.settings.quorum
        self.quorum = quorum if quorum is not None else len(self.reviewers) // 2 + 1
        if self.reviewers and not 1 <= self.quorum <= len(self.reviewers):
            raise ValueError(f"quorum {self.quorum} is not within 1..{len(self.reviewers)}")
        if not self.reviewers:
            self.quorum = 0
        self._gates: dict[str, EndpointGate] = {}
        if pause_on_outage:
            self._gates = {m.name: EndpointGate(m.name) for m in self.reviewers}
        self.reviews_total = 0
        """Reviews asked for (one per reviewer per blueprint)."""
        self.abstentions_total = 0
        """Reviews that gave no verdict."""

    def __repr__(self) -> str:
        closed = [name for name, gate in self._gates.items() if gate.closed]
        return (
            f"<ReviewCommittee reviewers={len(self.reviewers)} quorum={self.quorum}"
            f" reviews={self.reviews_total} abstentions={self.abstentions_total}"
            f" paused={closed}>"
        )

    @property
    def config(self) -> dict[str, Any]:
        """What decides the verdicts, for the validator's version (never secrets)."""
        s = self.settings
        return {
            "reviewers": [m.name for m in self.reviewers],
            "quorum": self.quorum,
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "prompt": s.prompt.stage_version,
        }

    async def review(
        self, blueprint: Blueprint, results: Sequence[CallResult]
    ) -> CommitteeDecision:
        """Every reviewer's verdict on ``blueprint`` (``results`` align with its actions).

        Raises :class:`~streamer.runtime.StageHalted` when an endpoint refuses the
        credentials."""
        messages = render_review(blueprint, results, template=self.settings.prompt)
        answers: list[tuple[Review, bool] | None] = [None] * len(self.reviewers)
        halted: list[StageHalted] = []

        async with anyio.create_task_group() as tg:

            async def ask(seat: int) -> None:
                answer = await self._ask(seat, blueprint.meta.id, messages)
                if isinstance(answer, StageHalted):
                    halted.append(answer)
                    tg.cancel_scope.cancel()  # a reviewer paused by an outage must not delay it
                else:
                    answers[seat] = answer

            for seat in range(len(self.reviewers)):
                tg.start_soon(ask, seat)
        if halted:
            raise halted[0]
        done = [a for a in answers if a is not None]
        assert len(done) == len(self.reviewers)
        decision = CommitteeDecision(
            reviews=tuple(r for r, _ in done),
            abstained=tuple(a for _, a in done),
            quorum=self.quorum,
        )
        self.reviews_total += len(done)
        self.abstentions_total += decision.abstentions
        return decision

    async def _ask(
        self, seat: int, blueprint_id: str, messages: Sequence[Any]
    ) -> tuple[Review, bool] | StageHalted:
        model = self.reviewers[seat]
        settings = self.settings

        async def call() -> Completion:
            return await model.complete_json(
                messages,
                review_schema(),
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                seed=zlib.crc32(f"{blueprint_id}:{seat}".encode()),
            )

        gate = self._gates.get(model.name)
        try:
            completion = await ask_model(call, gate, model=model.name, part="reviewer")
        except StageHalted as halted:
            return halted
        except LlmError as exc:
            why = f"{ABSTAINED}the call failed ({exc.reason}): {exc.message}"
            return Review(model.name, False, why[:FEEDBACK_CHARS]), True
        return parse_review(model.name, completion.parsed, completion.usage)


def parse_review(reviewer: str, parsed: Any, usage: Usage | None = None) -> tuple[Review, bool]:
    """The :class:`~topics.Review` a reply's JSON value makes and whether it is an
    abstention: a verdict, or an abstention naming what is wrong with the reply."""
    usage = usage or Usage()
    if not isinstance(parsed, dict):
        why = "the reply is not a JSON object"
    elif not isinstance(parsed.get("approved"), bool):
        why = "the reply has no boolean 'approved'"
    elif not isinstance(parsed.get("feedback", ""), str):
        why = "the reply's 'feedback' is not a string"
    else:
        feedback = str(parsed.get("feedback", ""))[:FEEDBACK_CHARS]
        return Review(reviewer, parsed["approved"], feedback, usage), False
    return Review(reviewer, False, f"{ABSTAINED}{why}", usage), True
