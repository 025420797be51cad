"""Interplay: ``blueprint-pass`` -> ``trajectories`` | ``rejects`` (issue 18, phase 2).

For each validated blueprint, a user model plays the customer from the blueprint (its
intent, the outputs it wants to hear, the values of the ground-truth actions; see
:mod:`streamer.prompts._interplay`) and an agent model (chosen by weight, deterministically
per blueprint id) serves it with the task's sampled tools against a fresh environment reset
to the task's seed, under the domain's own policy (not the event's copy of it). Turn by turn:

1. the user model writes a user turn; :data:`~streamer.prompts._interplay.USER_STOP` in it
   ends the conversation (``ended="user_done"``; that turn is kept);
2. the agent model answers; its tool calls run on the environment and their results go back
   to it, and it is asked again, up to ``max_tool_steps`` times per user turn; a reply
   without tool calls is a message to the user, who speaks next.

Rejects (reason codes): ``turn_limit`` (the user had ``max_turns`` turns and did not stop),
``tool_step_limit`` (the agent still called tools after ``max_tool_steps`` rounds, or made
more than ``max_calls_per_step`` calls in one reply), ``agent_unparseable`` (a reply not of
the agent's JSON shape), ``unknown_domain`` (the task names no domain the stage has), and
``llm_<reason>`` for an LLM failure about the request. As in the generator, an endpoint
outage pauses the calls to that model (:class:`~streamer.llm._outage.EndpointGate`) and a
refused credential stops the stage (:class:`~streamer.runtime.StageHalted`).

Every call passes a ``seed`` derived from the blueprint id, the speaker and the turn index,
so endpoints that honour seeds give a replayed blueprint the same conversation.

The simulated endpoint plays both parts (:mod:`streamer.llm._sim_interplay`); its user adds
machine-readable hints to its turns for its agent to read. That is a test double's
protocol: this stage neither writes nor reads them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from executors.environments import AIRLINE, RETAIL, Domain, Environment
from topics import (
    BlueprintPass,
    BlueprintTask,
    Call,
    CallResult,
    Role,
    Topic,
    Trajectory,
    Turn,
    Usage,
)

from ..llm import ChatModel, Completion, LlmError
from ..llm._outage import EndpointGate
from ..prompts import ChatMessage
from ..prompts._interplay import (
    AGENT_PROMPT,
    AGENT_SCHEMA,
    USER_PROMPT,
    USER_SCHEMA,
    USER_STOP,
    AgentReply,
    AgentReplyError,
    read_agent_reply,
    read_user_reply,
    render_agent,
    render_user,
)
from ..runtime._multi_turn_metrics import CONVERSATION_ENDS, multi_turn_metrics
from ..runtime._stage import Output, make_reject, stage_version
from ._asking import WeightedModel, ask_model, choose_weighted

__all__ = ["ConversationFailed", "Interplay", "InterplaySettings"]


@dataclass(frozen=True, slots=True)
class InterplaySettings:
    """How a conversation runs; every field is part of the stage version.

    ``max_turns``: most user turns (the greeting counts); a user who has not said
    ``###STOP###`` by then is a ``turn_limit`` reject. ``max_tool_steps``: most agent replies
    with tool calls in a row, per user turn. ``max_calls_per_step``: most tool calls in one
    agent reply. ``user_temperature`` / ``agent_temperature``: sampling temperatures.
    ``max_tokens``: completion cap per call, in tokens.

    Usage::

        InterplaySettings(max_turns=12, agent_temperature=0.0)
    """

    max_turns: int = 10
    max_tool_steps: int = 4
    max_calls_per_step: int = 8
    user_temperature: float = 0.7
    agent_temperature: float = 0.0
    max_tokens: int = 1024

    def __post_init__(self) -> None:
        if self.max_turns < 1 or self.max_tool_steps < 1 or self.max_calls_per_step < 1:
            raise ValueError("max_turns, max_tool_steps and max_calls_per_step must be >= 1")


class ConversationFailed(Exception):
    """A conversation that cannot become a trajectory; ``reason`` is the reject's code."""

    def __init__(self, reason: str, message: str, model: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.model = model


WeightedAgent = WeightedModel
"""An agent model and its relative weight (> 0)."""


@dataclass(slots=True)
class _Conversation:
    """One conversation's running state."""

    blueprint_id: str
    env: Environment
    offered: dict[str, dict[str, Any]]
    turns: list[Turn]
    actions: list[Call]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        self.cost_usd += completion.cost_usd


class Interplay:
    """The interplay stage; see the module docstring.

    user: the model playing the user. agents: the agent models with weights.
    domains: the environments a task may name (retail and airline by default).
    config: further settings that decide the answers (model kinds, endpoints), hashed into
    the version; never secrets. pause_on_outage: as for the generator (timing only).
    """

    name = "interplay"
    input_topic = Topic.BLUEPRINT_PASS
    input_type = BlueprintPass

    def __init__(
        self,
        user: ChatModel,
        agents: Sequence[WeightedAgent],
        *,
        settings: InterplaySettings | None = None,
        domains: Sequence[Domain] = (RETAIL, AIRLINE),
        config: object = None,
        pause_on_outage: bool = True,
    ) -> None:
        if not agents:
            raise ValueError("the interplay stage needs at least one agent model")
        for model, weight in agents:
            if weight <= 0:
                raise ValueError(f"agent {model.name!r} has weight {weight}; weights must be > 0")
        self.user = user
        self.agents = list(agents)
        self.settings = settings or InterplaySettings()
        self.domains = {d.name: d for d in domains}
        names = {user.name, *(m.name for m, _ in agents)}
        self.gates = {n: EndpointGate(n) for n in names} if pause_on_outage else {}
        self.version = stage_version(
            "interplay-v1",
            {
                "user": user.name,
                "agents": [(m.name, w) for m, w in agents],
                "settings": asdict(self.settings),
                "prompts": [USER_PROMPT.stage_version, AGENT_PROMPT.stage_version],
                "domains": sorted(self.domains),
                "config": config,
            },
        )
        self._metrics = multi_turn_metrics().stage(self.name, self.version)
        self._metrics.declare(self.domains, ends=CONVERSATION_ENDS)

    def __repr__(self) -> str:
        return (
            f"<Interplay {self.version} user={self.user.name!r} "
            f"agents={[m.name for m, _ in self.agents]} max_turns={self.settings.max_turns}>"
        )

    def choose(self, event: BlueprintPass) -> ChatModel:
        """The agent for a blueprint: a weighted draw seeded by the blueprint id."""
        return choose_weighted(self.agents, event.blueprint.meta.id)

    async def process(self, event: BlueprintPass) -> list[Output]:
        agent = self.choose(event)
        task = event.blueprint.task
        domain = self.domains.get(task.domain)
        if domain is None:
            self._metrics.conversation_ended("unknown", "unknown_domain")
            return [self._reject(event, "unknown_domain", f"no domain {task.domain!r}", agent.name)]
        env = Environment(domain)
        try:
            env.reset(task.env_seed)
            chat = _Conversation(event.blueprint.meta.id, env, _offered(domain, task), [], [])
            ended = await self._converse(event, agent, chat)
            final_state = env.state_digest()
        except ConversationFailed as failed:
            self._metrics.conversation_ended(domain.name, failed.reason)
            return [self._reject(event, failed.reason, failed.message, failed.model)]
        finally:
            env.close()
        self._metrics.conversation_ended(domain.name, ended)
        trajectory = Trajectory(
            meta=event.meta.child(self.name, self.version),
            blueprint=event,
            user_model=self.user.name,
            agent_model=agent.name,
            turns=tuple(chat.turns),
            actions=tuple(chat.actions),
            final_state=final_state,
            ended=ended,
            usage=Usage(chat.prompt_tokens, chat.completion_tokens),
            cost_usd=chat.cost_usd,
        )
        return [Output(Topic.TRAJECTORIES, trajectory)]

    async def _converse(self, event: BlueprintPass, agent: ChatModel, chat: _Conversation) -> str:
        """Runs the conversation into ``chat``; its ``ended``, or :class:`ConversationFailed`."""
        s = self.settings
        blueprint = event.blueprint
        for turn in range(s.max_turns):
            messages = render_user(
                chat.blueprint_id,
                blueprint.intent,
                blueprint.outputs,
                blueprint.actions,
                chat.turns,
            )
            seed = _seed(chat.blueprint_id, "user", turn)
            completion = await self._ask(self.user, messages, USER_SCHEMA, s.user_temperature, seed)
            chat.add(completion)
            text = read_user_reply(completion.text, completion.parsed)
            chat.turns.append(Turn(Role.USER, text))
            if USER_STOP in text:
                return "user_done"
            if turn == s.max_turns - 1:
                raise ConversationFailed(
                    "turn_limit", f"the user did not stop within {s.max_turns} turns", agent.name
                )
            await self._serve(agent, chat, turn, chat.env.domain.policy)
        raise AssertionError("unreachable: the last turn stops or fails")

    async def _serve(self, agent: ChatModel, chat: _Conversation, turn: int, policy: str) -> None:
        """The agent's replies to one user turn: tool rounds, then a message to the user."""
        s = self.settings
        tools = list(chat.offered.values())
        for step in range(s.max_tool_steps + 1):
            messages = render_agent(policy, tools, chat.turns)
            seed = _seed(chat.blueprint_id, "agent", turn, step)
            completion = await self._ask(agent, messages, AGENT_SCHEMA, s.agent_temperature, seed)
            chat.add(completion)
            reply = _agent_reply(completion, agent.name)
            if not reply.calls:
                chat.turns.append(Turn(Role.ASSISTANT, reply.content))
                return
            if step == s.max_tool_steps or len(reply.calls) > s.max_calls_per_step:
                raise ConversationFailed(
                    "tool_step_limit",
                    f"the agent made {len(reply.calls)} call(s) in round {step + 1} of user "
                    f"turn {turn + 1} (limits: {s.max_tool_steps} rounds, "
                    f"{s.max_calls_per_step} calls a round)",
                    agent.name,
                )
            chat.turns.append(Turn(Role.ASSISTANT, reply.content, calls=reply.calls))
            for call in reply.calls:
                chat.actions.append(call)
                result = _run(chat, call)
                chat.turns.append(Turn(Role.TOOL, name=call.name, result=result))

    async def _ask(
        self,
        model: ChatModel,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        temperature: float,
        seed: int,
    ) -> Completion:
        async def ask() -> Completion:
            return await model.complete_json(
                messages,
                schema,
                temperature=temperature,
                max_tokens=self.settings.max_tokens,
                seed=seed,
            )

        gate = self.gates.get(model.name)
        try:
            return await ask_model(ask, gate, model=model.name, part="interplay")
        except LlmError as exc:
            raise ConversationFailed(f"llm_{exc.reason}", exc.message, model.name) from exc

    def _reject(self, event: BlueprintPass, reason: str, message: str, model: str) -> Output:
        return make_reject(
            self.name,
            self.version,
            reason=reason,
            message=message,
            event=event,
            input_topic=self.input_topic,
            model=model,
        )


def _seed(blueprint_id: str, speaker: str, turn: int, step: int = 0) -> int:
    return zlib.crc32(f"{blueprint_id}:{speaker}:{turn}:{step}".encode())


def _offered(domain: Domain, task: BlueprintTask) -> dict[str, dict[str, Any]]:
    """The tools the agent gets: the task's sampled ones the domain has, else all of them."""
    wanted = {t.name for t in task.tools}
    chosen = [t for t in domain.tools if t.name in wanted] or list(domain.tools)
    return {
        t.name: {
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "writes": t.writes,
        }
        for t in chosen
    }


def _agent_reply(completion: Completion, model: str) -> AgentReply:
    try:
        return read_agent_reply(completion.parsed)
    except AgentReplyError as exc:
        raise ConversationFailed("agent_unparseable", str(exc), model) from None


def _run(chat: _Conversation, call: Call) -> CallResult:
    """Runs one agent call on the environment; a tool not offered is not run."""
    if call.name not in chat.offered:
        return CallResult(False, reason="unknown_tool", message=f"{call.name!r} is not offered")
    result = chat.env.call(call.name, call.arguments)
    if result.ok:
        return CallResult(True, result=result.value)
    return CallResult(False, reason=result.reason, message=result.message)
