"""Event contracts of the multi-turn pipeline (after APIGen-MT, issue 18).

Phase 1 makes and validates **task blueprints**; phase 2 plays each validated blueprint as
a conversation between a simulated user and the agent, against a fresh environment::

    blueprint-tasks   BlueprintTask    sampled domain, environment seed, user, tools
    blueprints        Blueprint        intent + ground-truth actions + expected outputs
    blueprint-pass    BlueprintPass    replayed on the environment and approved by reviewers
    trajectories      Trajectory       the conversation the agent had for a blueprint
    trajectory-pass   TrajectoryPass   actions and final state matched: what the sink writes
    rejects           Reject           (shared with the single-turn pipeline)

A rejected blueprint may be refined: the validation stage writes a new
:class:`BlueprintTask` with ``attempt + 1`` and the reviewers' ``feedback`` (bounded by the
configured number of rounds), so refinement is a loop through topics like seed feedback,
replayable and exactly-once like every other step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from ._events import Call, CallResult, EventMeta, SingleTurnEvent, Tool, Usage

__all__ = [
    "Blueprint",
    "BlueprintPass",
    "BlueprintTask",
    "Event",
    "MultiTurnEvent",
    "Review",
    "Role",
    "Trajectory",
    "TrajectoryPass",
    "Turn",
]


@dataclass(frozen=True, slots=True)
class BlueprintTask:
    """What to write a blueprint for (``blueprint-tasks``).

    ``domain`` names an environment domain (``retail``, ``airline``); ``env_seed`` seeds its
    database (:meth:`executors.environments.Environment.reset`), so the user record and
    every later replay see the same data. ``user_id`` is the sampled user the intent is
    for; ``user_record`` that user's row(s) as the prompt shows them (JSON text).
    ``tools`` are the sampled tools offered, ``policy`` the domain's written policy.
    ``attempt`` counts refinement rounds (0 = first draft); ``feedback`` holds the
    reviewers' and checkers' objections to the previous draft, ``previous`` that draft.
    """

    meta: EventMeta
    domain: str
    env_seed: int
    user_id: str
    user_record: str
    tools: tuple[Tool, ...]
    policy: str
    attempt: int = 0
    feedback: tuple[str, ...] = ()
    previous: Blueprint | None = None


@dataclass(frozen=True, slots=True)
class Blueprint:
    """A task blueprint written by the model (``blueprints``).

    ``intent`` is the user's goal in the user's words, with every fact the agent needs
    (the simulated user reveals them turn by turn); ``actions`` the ground-truth calls
    that fulfil it, in order; ``outputs`` the facts the agent must tell the user (e.g. a
    refund amount). ``ordered`` is False when the actions may run in any order (only the
    writes are compared then, as a multiset).
    """

    meta: EventMeta
    task: BlueprintTask
    model: str
    intent: str
    actions: tuple[Call, ...]
    outputs: tuple[str, ...] = ()
    ordered: bool = True
    raw: str = ""
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Review:
    """One committee member's verdict on a blueprint: ``approved`` and why."""

    reviewer: str
    approved: bool
    feedback: str = ""
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class BlueprintPass:
    """A blueprint whose actions ran on a fresh environment and that the committee
    approved (``blueprint-pass``). ``results`` align with ``blueprint.actions``;
    ``final_state`` is the environment's :meth:`state_digest` after them."""

    meta: EventMeta
    blueprint: Blueprint
    results: tuple[CallResult, ...]
    final_state: str
    reviews: tuple[Review, ...] = ()


class Role(StrEnum):
    """Who speaks a turn of a trajectory."""

    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class Turn:
    """One message: ``content`` text; an assistant turn may carry ``calls`` (tool calls);
    a tool turn carries ``name`` and its ``result``."""

    role: Role
    content: str = ""
    calls: tuple[Call, ...] = ()
    name: str = ""
    result: CallResult | None = None


@dataclass(frozen=True, slots=True)
class Trajectory:
    """The conversation an agent had for a validated blueprint (``trajectories``).

    ``actions`` are the agent's calls in order (also in ``turns``), ``final_state`` the
    environment's digest at the end; ``ended`` says why it ended (``user_done``,
    ``turn_limit``, ...). ``user_model`` played the user, ``agent_model`` the agent.
    """

    meta: EventMeta
    blueprint: BlueprintPass
    user_model: str
    agent_model: str
    turns: tuple[Turn, ...]
    actions: tuple[Call, ...]
    final_state: str
    ended: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class TrajectoryPass:
    """A verified trajectory (``trajectory-pass``): what the multi-turn sink writes."""

    meta: EventMeta
    trajectory: Trajectory


MultiTurnEvent: TypeAlias = BlueprintTask | Blueprint | BlueprintPass | Trajectory | TrajectoryPass
"""Every event type of the multi-turn topics (rejects are :class:`~topics.Reject`)."""

Event: TypeAlias = SingleTurnEvent | MultiTurnEvent
"""Every event type on any topic."""
