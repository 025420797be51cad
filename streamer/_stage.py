"""What a pipeline stage is, to the runner.

A stage reads one input topic, turns each event into zero or more :class:`Output` events,
and is identified by a name and a version. The version is an explicit name plus a hash of
the stage's configuration and prompts (:func:`stage_version`), so changing a checker rule or
a judge prompt yields a new version, new event ids and a separate replay lineage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from topics import Event, EventMeta, Reject, Topic, derive_id

__all__ = ["MAX_RAW_REJECT_BYTES", "Output", "Stage", "make_reject", "stage_version"]

MAX_RAW_REJECT_BYTES = 4096
"""How many bytes of an undecodable input a reject keeps: a huge poison event must not make
a reject the log cannot carry (Kafka's default message limit is 1 MiB)."""


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
    )
    return Output(Topic.REJECTS, reject)
