"""Generator: ``samples`` -> ``generations`` | ``rejects``.

Renders the generation prompt for a task, asks one of the configured models (chosen by
weight, deterministically per sample so a re-delivered sample goes to the same model) for
``settings.pairs`` query/answer pairs with JSON-schema structured output (and a ``seed``
derived from the sample id, so endpoints that honour it answer a re-delivered or replayed
sample the same way), and records the raw text with model, usage, latency and cost.

An LLM failure about the request becomes a reject with reason ``llm_<reason>`` (e.g.
``llm_bad_response``), never a crash. Failures of the infrastructure are not verdicts on the
task: an endpoint outage (429s, 5xx, timeouts, connection errors beyond the client's retries)
pauses the calls to that model until it answers again
(:class:`~streamer.llm._outage.EndpointGate`; the input is not finished, so not committed,
meanwhile); with ``pause_on_outage=False`` it is a reject like the others. A refused
credential (``auth_error``) stops the stage: :class:`~streamer.runtime.StageHalted` with
reason ``llm_auth_error``, naming the endpoint.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

from topics import Generation, Sample, Topic

from ..llm import ChatModel, Completion, LlmError
from ..llm._outage import EndpointGate
from ..prompts import FULL_GENERATION, GenerationPrompt
from ..runtime._stage import Output, make_reject, stage_version
from ._asking import WeightedModel, ask_model, choose_weighted

__all__ = ["Generator", "WeightedModel"]


class Generator:
    """The generator stage over one or more weighted models."""

    name = "generator"
    input_topic = Topic.SAMPLES
    input_type = Sample

    def __init__(
        self,
        models: Sequence[WeightedModel],
        *,
        prompt: GenerationPrompt = FULL_GENERATION,
        version_name: str = "generator-v1",
        config: object = None,
        pause_on_outage: bool = True,
        templates: Mapping[str, GenerationPrompt] | None = None,
    ) -> None:
        """``config``: further settings that decide the answers (the models' kinds,
        endpoints, seeds; see :mod:`streamer.pipeline._versions`), hashed into the version; never
        secrets. ``pause_on_outage``: wait out an endpoint outage (True) or reject the task
        with ``llm_<reason>`` (False); timing only, so not part of the version.
        ``templates``: prompts by template id, for tasks whose ``template_id`` names one
        (drawn by the sampler); other tasks get ``prompt``."""
        if not models:
            raise ValueError("the generator needs at least one model")
        for model, weight in models:
            if weight <= 0:
                raise ValueError(f"model {model.name!r} has weight {weight}; weights must be > 0")
        self.models = list(models)
        self._by_name = {m.name: m for m, _ in models}
        self.gates = {m.name: EndpointGate(m.name) for m, _ in models} if pause_on_outage else {}
        self.prompt = prompt
        self.templates = dict(templates or {})
        versioned: dict[str, object] = {
            "models": [(m.name, w) for m, w in models],
            "prompt": prompt.template.stage_version,
            "config": config,
        }
        if self.templates:
            versioned["templates"] = {
                i: p.template.stage_version for i, p in self.templates.items()
            }
        self.version = stage_version(version_name, versioned)

    def choose(self, sample: Sample) -> ChatModel:
        """The pinned model, else a weighted draw seeded by the sample id."""
        pinned = sample.settings.model
        if pinned and pinned in self._by_name:
            return self._by_name[pinned]
        return choose_weighted(self.models, sample.meta.id)

    async def process(self, event: Sample) -> list[Output]:
        model = self.choose(event)
        settings = event.settings
        prompt = self.templates.get(event.template_id, self.prompt)
        messages = prompt.render(event.tools, event.examples, event.style, settings.pairs)
        schema = prompt.schema(event.tools, event.style, settings.pairs)

        async def ask() -> Completion:
            return await model.complete_json(
                messages,
                schema,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                seed=zlib.crc32(event.meta.id.encode()),
            )

        gate = self.gates.get(model.name)
        try:
            completion = await ask_model(ask, gate, model=model.name, part="generator")
        except LlmError as exc:
            return [
                make_reject(
                    self.name,
                    self.version,
                    reason=f"llm_{exc.reason}",
                    message=exc.message,
                    event=event,
                    input_topic=self.input_topic,
                    model=model.name,
                )
            ]
        generation = Generation(
            meta=event.meta.child(self.name, self.version, "0"),
            sample=event,
            model=model.name,  # the configured generator: the funnel row it is counted in
            raw=completion.text,
            usage=completion.usage,
            latency_s=completion.latency_s,
            cost_usd=completion.cost_usd,
        )
        return [Output(Topic.GENERATIONS, generation)]
