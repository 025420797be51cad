"""Blueprint writer: ``blueprint-tasks`` -> ``blueprints`` | ``rejects`` (issue 18, phase 1).

Renders the writer prompt for a task (:func:`~streamer.prompts._blueprint.render_blueprint_task`;
a refinement round shows the feedback and the previous draft), asks one of the weighted
models (chosen deterministically per task id, so a re-delivered task goes to the same model)
for JSON with structured output, and parses the reply into a :class:`~topics.Blueprint`.

What this stage rejects, by reason:

- ``blueprint_unparseable``: the reply is not JSON, or not a JSON object;
- ``blueprint_malformed``: the object lacks ``intent`` or ``actions`` or has a field of the
  wrong type or size; the reject's ``detail`` names the field (``actions[2].arguments``);
- ``llm_<reason>``: the LLM call failed for a reason about the request.

Whether the tools exist and the actions run is the validator's question, not this stage's.
LLM failures are handled as in :class:`~streamer.stages.Generator`: an outage pauses the
calls to that model (:class:`~streamer.llm._outage.EndpointGate`), a refused credential
stops the stage (:class:`~streamer.runtime.StageHalted`, ``llm_auth_error``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from topics import Blueprint, BlueprintTask, Call, Topic

from ..llm import ChatModel, Completion, LlmError, parse_json_content
from ..llm._outage import EndpointGate
from ..prompts import PromptTemplate
from ..prompts._blueprint import BLUEPRINT_WRITER, blueprint_schema, render_blueprint_task
from ..runtime._stage import Output, make_reject, stage_version
from ._asking import WeightedModel, ask_model, choose_weighted

__all__ = [
    "BlueprintDraft",
    "BlueprintProblem",
    "BlueprintWriter",
    "BlueprintWriterSettings",
    "parse_blueprint",
]


@dataclass(frozen=True, slots=True)
class BlueprintWriterSettings:
    """How the writer asks and what it accepts (all of it hashed into the stage version).

    temperature: the sampling temperature sent with each request.
    max_tokens: the completion's token budget per blueprint, in tokens.
    max_actions: most ground-truth actions a blueprint may have (more: malformed).
    max_outputs: most expected outputs a blueprint may have (more: malformed).
    max_intent_chars: longest intent accepted, in characters.

    Usage::

        BlueprintWriter([(model, 1.0)], BlueprintWriterSettings(temperature=0.3))
    """

    temperature: float = 0.7
    max_tokens: int = 2048
    max_actions: int = 16
    max_outputs: int = 8
    max_intent_chars: int = 4000


class BlueprintProblem(Exception):
    """A reply that is no blueprint. ``reason`` is ``blueprint_unparseable`` or
    ``blueprint_malformed``; ``field`` names the offending field (empty when the whole
    reply is at fault)."""

    def __init__(self, reason: str, message: str, field: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class BlueprintDraft:
    """The parts of a parsed writer reply."""

    intent: str
    actions: tuple[Call, ...]
    outputs: tuple[str, ...]
    ordered: bool


def _malformed(field: str, problem: str) -> BlueprintProblem:
    return BlueprintProblem("blueprint_malformed", f"field {field} {problem}", field)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _action(value: Any, where: str) -> Call:
    if not isinstance(value, dict):
        raise _malformed(where, f"must be an object, got {_kind(value)}")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _malformed(f"{where}.name", f"must be a non-empty string, got {_kind(name)}")
    if "arguments" not in value:
        raise _malformed(f"{where}.arguments", "is missing")
    arguments = value["arguments"]
    if not isinstance(arguments, dict):
        raise _malformed(f"{where}.arguments", f"must be a JSON object, got {_kind(arguments)}")
    return Call(name, arguments)


def parse_blueprint(value: Any, settings: BlueprintWriterSettings | None = None) -> BlueprintDraft:
    """The blueprint in a writer's parsed reply, or :class:`BlueprintProblem`.

    ``outputs`` defaults to none and ``ordered`` to True; an empty ``actions`` list is
    kept (the validator rejects it as ``no_actions``)."""
    cfg = settings or BlueprintWriterSettings()
    if not isinstance(value, dict):
        raise BlueprintProblem(
            "blueprint_unparseable", f"the reply is a JSON {_kind(value)}, not an object"
        )
    intent = value.get("intent")
    if not isinstance(intent, str) or not intent.strip():
        raise _malformed("intent", f"must be a non-empty string, got {_kind(intent)}")
    if len(intent) > cfg.max_intent_chars:
        raise _malformed("intent", f"has {len(intent)} characters; at most {cfg.max_intent_chars}")
    actions = value.get("actions")
    if not isinstance(actions, list):
        raise _malformed("actions", f"must be a list, got {_kind(actions)}")
    if len(actions) > cfg.max_actions:
        raise _malformed("actions", f"has {len(actions)} items; at most {cfg.max_actions}")
    outputs = value.get("outputs", [])
    if not isinstance(outputs, list):
        raise _malformed("outputs", f"must be a list, got {_kind(outputs)}")
    if len(outputs) > cfg.max_outputs:
        raise _malformed("outputs", f"has {len(outputs)} items; at most {cfg.max_outputs}")
    for i, output in enumerate(outputs):
        if not isinstance(output, str):
            raise _malformed(f"outputs[{i}]", f"must be a string, got {_kind(output)}")
    ordered = value.get("ordered", True)
    if not isinstance(ordered, bool):
        raise _malformed("ordered", f"must be true or false, got {_kind(ordered)}")
    calls = tuple(_action(a, f"actions[{i}]") for i, a in enumerate(actions))
    return BlueprintDraft(intent.strip(), calls, tuple(outputs), ordered)


class BlueprintWriter:
    """The blueprint writer stage over one or more weighted models."""

    name = "blueprint-writer"
    input_topic = Topic.BLUEPRINT_TASKS
    input_type = BlueprintTask

    def __init__(
        self,
        models: Sequence[WeightedModel],
        settings: BlueprintWriterSettings | None = None,
        *,
        prompt: PromptTemplate = BLUEPRINT_WRITER,
        config: object = None,
        pause_on_outage: bool = True,
    ) -> None:
        """``config``: further settings that decide the answers (the models' kinds,
        endpoints, seeds), hashed into the version; never secrets. ``pause_on_outage``:
        wait out an endpoint outage (True) or reject the task with ``llm_<reason>``
        (False); timing only, so not part of the version."""
        if not models:
            raise ValueError("the blueprint writer needs at least one model")
        for model, weight in models:
            if weight <= 0:
                raise ValueError(f"model {model.name!r} has weight {weight}; weights must be > 0")
        self.models = list(models)
        self.settings = settings or BlueprintWriterSettings()
        self.prompt = prompt
        self.gates = {m.name: EndpointGate(m.name) for m, _ in models} if pause_on_outage else {}
        self.version = stage_version(
            "blueprint-writer-v1",
            {
                "models": [(m.name, w) for m, w in models],
                "prompt": prompt.stage_version,
                "settings": self.settings,
                "config": config,
            },
        )

    def __repr__(self) -> str:
        names = [m.name for m, _ in self.models]
        closed = sorted(n for n, g in self.gates.items() if g.closed)
        return f"<BlueprintWriter {self.version} models={names} paused={closed}>"

    def choose(self, task: BlueprintTask) -> ChatModel:
        """A weighted draw seeded by the task id (the same task, the same model)."""
        return choose_weighted(self.models, task.meta.id)

    def _reject(
        self, task: BlueprintTask, model: str, reason: str, message: str, detail: str = ""
    ) -> Output:
        return make_reject(
            self.name,
            self.version,
            reason=reason,
            message=message,
            event=task,
            input_topic=self.input_topic,
            model=model,
            detail=detail,
        )

    async def process(self, event: BlueprintTask) -> list[Output]:
        model = self.choose(event)
        messages = render_blueprint_task(event, template=self.prompt)
        schema = blueprint_schema(event.tools)

        async def ask() -> Completion:
            return await model.complete_json(
                messages,
                schema,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
                seed=zlib.crc32(event.meta.id.encode()),
            )

        gate = self.gates.get(model.name)
        try:
            completion = await ask_model(ask, gate, model=model.name, part="blueprint writer")
        except LlmError as exc:
            return [self._reject(event, model.name, f"llm_{exc.reason}", exc.message)]
        parsed = completion.parsed
        if parsed is None:
            parsed = parse_json_content(completion.text)
        try:
            if parsed is None:
                raise BlueprintProblem("blueprint_unparseable", "the reply is not JSON")
            draft = parse_blueprint(parsed, self.settings)
        except BlueprintProblem as problem:
            return [self._reject(event, model.name, problem.reason, problem.message, problem.field)]
        blueprint = Blueprint(
            meta=event.meta.child(self.name, self.version, "0"),
            task=event,
            model=model.name,
            intent=draft.intent,
            actions=draft.actions,
            outputs=draft.outputs,
            ordered=draft.ordered,
            raw=completion.text,
            usage=completion.usage,
            cost_usd=completion.cost_usd,
        )
        return [Output(Topic.BLUEPRINTS, blueprint)]
