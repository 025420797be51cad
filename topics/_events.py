"""Event contracts: the immutable records that flow between stages.

Every event carries an :class:`EventMeta`: a stable ``id`` derived from its parent, the
producing stage, that stage's version and a discriminator (so reprocessing the same input
with the same stage version yields the same id and downstream writers can deduplicate), the
parent's id, the root ``sample_id`` (lineage), the versions of every stage it passed, the
schema version and a creation timestamp (Unix seconds; excluded from the id).

Topic -> event type::

    samples        Sample
    generations    Generation
    format-pass    FormatPass
    exec-pass      ExecPass
    semantic-pass  SemanticPass
    rejects        Reject

The multi-turn topics' events are in ``_trajectories.py``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

__all__ = [
    "SCHEMA_VERSION",
    "Call",
    "CallResult",
    "EventMeta",
    "Example",
    "ExecPass",
    "FormatPass",
    "Generation",
    "GenerationSettings",
    "Judgement",
    "QueryStyle",
    "Reject",
    "Sample",
    "SemanticPass",
    "SingleTurnEvent",
    "Tool",
    "Usage",
    "derive_id",
]

SCHEMA_VERSION = 1
"""Version of the serialized layout. Bumped on any incompatible change to these types."""

JSON: TypeAlias = Any
"""A JSON value (dict, list, str, int, float, bool or None) as produced by orjson."""


class QueryStyle(StrEnum):
    """The APIGen query styles, plus irrelevance (no offered tool fits; answer is no call)."""

    SIMPLE = "simple"
    MULTIPLE = "multiple"
    PARALLEL = "parallel"
    PARALLEL_MULTIPLE = "parallel_multiple"
    IRRELEVANCE = "irrelevance"


def derive_id(*parts: str) -> str:
    """A stable 128-bit hex id from ordered string parts (blake2b, unambiguous joining)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode()
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class EventMeta:
    """Identity and lineage shared by every event.

    ``versions`` maps each stage the event (or its ancestors) passed to that stage's version,
    in pipeline order, e.g. ``(("sampler", "v1-3fa2"), ("generator", "v1-91bc"))``.

    ``run_id`` names the run whose sampler issued the root task; every derived event keeps
    it, so a stage can tell one run's work from another's left on the same topics. Events
    written before the field existed read as ``""`` (no run).
    """

    id: str
    parent_id: str | None
    sample_id: str
    stage: str
    stage_version: str
    versions: tuple[tuple[str, str], ...] = ()
    schema_version: int = SCHEMA_VERSION
    created_at: float = 0.0
    run_id: str = ""

    def child(self, stage: str, stage_version: str, *discriminator: str) -> EventMeta:
        """Meta for an event that ``stage`` derives from this one.

        ``discriminator`` tells apart several children of one parent (e.g. the pair index).
        """
        return EventMeta(
            id=derive_id(self.id, stage, stage_version, *discriminator),
            parent_id=self.id,
            sample_id=self.sample_id,
            stage=stage,
            stage_version=stage_version,
            versions=(*self.versions, (stage, stage_version)),
            created_at=time.time(),
            run_id=self.run_id,
        )

    def version_of(self, stage: str) -> str | None:
        """The version of ``stage`` this event passed, or None."""
        for name, version in self.versions:
            if name == stage:
                return version
        return None


@dataclass(frozen=True, slots=True)
class Tool:
    """An API as offered to the LLM: the unified spec's name, description and JSON Schema.

    ``api_id`` names the API in the library (``source:name``) and ``api_version`` its
    version, so the execution stage can resolve the binding without trusting the model.
    """

    name: str
    description: str
    parameters: dict[str, JSON]
    category: str = ""
    api_id: str = ""
    api_version: str = "1"


@dataclass(frozen=True, slots=True)
class Call:
    """One function call: a name and keyword arguments (JSON data only)."""

    name: str
    arguments: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class Example:
    """A verified query/answer pair used as a seed example in prompts."""

    query: str
    answers: tuple[Call, ...]
    tools: tuple[str, ...] = ()
    source_id: str = ""


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """How the generator should call the LLM for one sample.

    ``pairs`` is how many query/answer pairs one call asks for; ``temperature`` is the
    sampling temperature; ``max_tokens`` caps the completion length in tokens. ``model`` pins
    a generator model by name; empty lets the generator choose by weight.
    """

    pairs: int = 1
    temperature: float = 0.7
    max_tokens: int = 1024
    model: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one LLM call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Sample:
    """A sampling task on the ``samples`` topic.

    ``template_id`` names the generator template drawn for the task and
    ``template_version`` that template's version (``<version>-<content hash>``); tasks
    written before templates were sampled read as ``"default"`` and ``""``.
    """

    meta: EventMeta
    style: QueryStyle
    tools: tuple[Tool, ...]
    examples: tuple[Example, ...] = ()
    template_id: str = "default"
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    template_version: str = ""


@dataclass(frozen=True, slots=True)
class Generation:
    """Raw LLM output for one sample on the ``generations`` topic.

    ``latency_s`` is the wall time of the LLM call in seconds; ``cost_usd`` its price in US
    dollars from the configured price table (0 when unknown).
    """

    meta: EventMeta
    sample: Sample
    model: str
    raw: str
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class FormatPass:
    """One query/answer pair that passed the format checker (``format-pass``)."""

    meta: EventMeta
    sample: Sample
    model: str
    pair_index: int
    query: str
    calls: tuple[Call, ...]


@dataclass(frozen=True, slots=True)
class CallResult:
    """The outcome of executing one call: ``ok`` with a JSON ``result``, or a failure.

    ``simulated`` is True when a virtual API made the result up (``--virtual-apis``: the
    API has no binding, a simulator model answered from its documentation) instead of a
    real execution; events written before the field existed read as False.
    """

    ok: bool
    result: JSON = None
    reason: str = ""
    message: str = ""
    latency_s: float = 0.0
    cached: bool = False
    simulated: bool = False


@dataclass(frozen=True, slots=True)
class ExecPass:
    """A pair whose calls all executed (``exec-pass``); results align with ``calls``."""

    meta: EventMeta
    sample: Sample
    model: str
    pair_index: int
    query: str
    calls: tuple[Call, ...]
    results: tuple[CallResult, ...]


@dataclass(frozen=True, slots=True)
class Judgement:
    """The semantic checker's verdict: rule checks and the LLM judge(s)."""

    passed: bool
    reasoning: str = ""
    judges: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SemanticPass:
    """A verified pair (``semantic-pass``): what the dataset sink writes."""

    meta: EventMeta
    sample: Sample
    model: str
    pair_index: int
    query: str
    calls: tuple[Call, ...]
    results: tuple[CallResult, ...]
    judgement: Judgement


@dataclass(frozen=True, slots=True)
class Reject:
    """A failure at ``meta.stage`` with a stable ``reason`` code (``rejects``).

    ``rejected`` is the input event as JSON when it decoded, else the raw bytes as text
    (``errors="replace"``) so nothing is lost. ``model`` and ``style`` are copied from the
    input where known, for per-model and per-style funnels. ``detail`` qualifies the
    reason for machines where the stage knows more than the code (``contaminated``: the
    reference set matched); empty otherwise and in events written before the field.
    """

    meta: EventMeta
    reason: str
    message: str
    rejected: JSON
    input_topic: str = ""
    model: str = ""
    style: str = ""
    pair_index: int = -1
    detail: str = ""


SingleTurnEvent: TypeAlias = Sample | Generation | FormatPass | ExecPass | SemanticPass | Reject
"""Every event type of the single-turn topics (all events: :data:`topics.Event`)."""
