"""What a pipeline stage is, to the runner.

A stage reads one input topic, turns each event into zero or more :class:`Output` events,
and is identified by a name and a version. The version is an explicit name plus a hash of
the stage's configuration and prompts (:func:`stage_version`), so changing a checker rule or
a judge prompt yields a new version, new event ids and a separate replay lineage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from topics import Event, EventMeta, Reject, Topic, derive_id, encode

__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_RAW_REJECT_BYTES",
    "Output",
    "Stage",
    "StageHalted",
    "UnencodableOutput",
    "encode_bounded",
    "make_reject",
    "stage_version",
    "undeliverable_reject",
]

MAX_RAW_REJECT_BYTES = 4096
"""How many bytes of an undecodable input a reject keeps: a huge poison event must not make
a reject the log cannot carry (Kafka's default message limit is 1 MiB)."""

MAX_EVENT_BYTES = 1_000_000
"""Largest encoded event a runner produces by default, in bytes: Kafka's default message
limit (``message.max.bytes``, 1 MiB) less room for the key and the record's framing."""

_ENCODE_PROBLEMS = {
    "Recursion limit reached": "is nested deeper than the log's JSON limit (254 levels)",
    "Integer exceeds 64-bit range": "holds an integer beyond the 64-bit range",
    "str is not valid UTF-8: surrogates not allowed": "holds a lone UTF-16 surrogate",
}


class UnencodableOutput(Exception):
    """An output event the log cannot carry; ``reason`` is ``unencodable_output`` (JSON
    cannot express it: nesting too deep, an integer beyond 64 bits, a lone surrogate) or
    ``output_too_large`` (more than the runner's ``max_event_bytes``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class StageHalted(Exception):
    """A failure that stops the stage instead of rejecting its input, because every other
    input would fail alike (an LLM endpoint refusing the credentials). The runner neither
    rejects nor commits the input: it stops and raises this. ``reason`` is a stable code
    (e.g. ``llm_auth_error``); ``message`` says what to fix and never holds a secret."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Output:
    """An event to produce to ``topic``."""

    topic: str
    event: Event


class Stage(Protocol):
    """A stage the :class:`~streamer.StageRunner` can run.

    ``process`` must be safe to call concurrently and return, never hang; an unexpected
    exception is turned into a ``stage_error`` reject by the runner.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def input_topic(self) -> str: ...

    @property
    def input_type(self) -> type[Any]: ...

    async def process(self, event: Any) -> Sequence[Output]: ...


def stage_version(name: str, config: Any) -> str:
    """``name`` plus the first 8 hex digits of a hash of ``config`` (JSON-serializable).

    >>> stage_version("format-v1", {"strict": True})[:10]
    'format-v1-'
    """
    blob = orjson.dumps(config, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=repr)
    return f"{name}-{hashlib.blake2b(blob, digest_size=4).hexdigest()}"


def encode_bounded(event: Event, max_bytes: int = MAX_EVENT_BYTES) -> bytes:
    """``encode(event)``, or :class:`UnencodableOutput` when it cannot be encoded or its
    encoding is longer than ``max_bytes``."""
    kind = type(event).__name__
    try:
        data = encode(event)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        problem = _ENCODE_PROBLEMS.get(str(exc), f"cannot be encoded as JSON ({exc})")
        raise UnencodableOutput("unencodable_output", f"the {kind} {problem}") from None
    if len(data) > max_bytes:
        raise UnencodableOutput(
            "output_too_large", f"the {kind} is {len(data):,} bytes; the limit is {max_bytes:,}"
        )
    return data


def undeliverable_reject(
    stage: str,
    version: str,
    failed: Output,
    error: UnencodableOutput,
    *,
    source: Event | None,
    raw: bytes,
    input_topic: str,
    index: int,
    max_bytes: int = MAX_EVENT_BYTES,
) -> tuple[Output, bytes]:
    """The reject that replaces output number ``index`` (``failed``) of processing
    ``source`` (the decoded input; None with ``raw`` bytes), and its encoding.

    It keeps the failed event's sample and pair, so the task it belongs to still reaches an
    outcome, and carries the input as ``rejected``; when that too cannot be carried, a
    one-line description of the failed event takes its place. Always encodable."""
    pair_index = int(getattr(failed.event, "pair_index", -1))
    reject = make_reject(
        stage, version, reason=error.reason, message=error.message, event=source,
        raw=raw if source is None else None, input_topic=input_topic,
        discriminator=f"output-{index}", pair_index=pair_index,
    )  # fmt: skip
    try:
        return reject, encode_bounded(reject.event, max_bytes)
    except UnencodableOutput as again:
        full = reject.event
        assert isinstance(full, Reject)
        meta = failed.event.meta
        summary = (
            f"<{type(failed.event).__name__} {meta.id} of sample {meta.sample_id} "
            f"for {failed.topic}: not kept ({again.message})>"
        )
        slim = replace(full, rejected=summary[:MAX_RAW_REJECT_BYTES], model=full.model[:200])
        return Output(reject.topic, slim), encode(slim)


def make_reject(
    stage: str,
    version: str,
    *,
    reason: str,
    message: str,
    event: Event | None = None,
    raw: bytes | None = None,
    input_topic: str = "",
    discriminator: str = "",
    pair_index: int | None = None,
    model: str | None = None,
    detail: str = "",
) -> Output:
    """A reject event for ``event`` (decoded input) or ``raw`` (undecodable bytes).

    ``discriminator`` tells apart several rejects of one input (e.g. per pair);
    ``pair_index`` overrides the pair index copied from the input.
    """
    if event is not None:
        meta = event.meta.child(stage, version, "reject", discriminator)
        rejected: Any = event
        if model is None:
            model = str(getattr(event, "model", ""))
        sample = getattr(event, "sample", event)
        style = str(getattr(sample, "style", ""))
        if pair_index is None:
            pair_index = int(getattr(event, "pair_index", -1))
    else:
        data = raw or b""
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        meta = EventMeta(
            id=derive_id("malformed", input_topic, digest, stage, version),
            parent_id=None,
            sample_id="",
            stage=stage,
            stage_version=version,
            versions=((stage, version),),
        )
        rejected = data[:MAX_RAW_REJECT_BYTES].decode("utf-8", errors="replace")
        if len(data) > MAX_RAW_REJECT_BYTES:
            rejected += f"... [{len(data) - MAX_RAW_REJECT_BYTES} more bytes]"
        model = model or ""
        style = ""
        pair_index = -1 if pair_index is None else pair_index
    reject = Reject(
        meta=meta,
        reason=reason,
        message=message,
        rejected=rejected,
        input_topic=input_topic,
        model=model,
        style=style,
        pair_index=pair_index,
        detail=detail,
    )
    return Output(Topic.REJECTS, reject)
