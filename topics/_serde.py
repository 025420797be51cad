"""orjson serialization of events, with validated decoding.

Encoding relies on orjson's native dataclass support. Decoding parses with orjson and
validates with a pydantic ``TypeAdapter`` over the same frozen dataclasses, so malformed or
mistyped bytes raise :class:`MalformedEvent` (reason ``malformed_event``) instead of
producing half-built events.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

from ._errors import MalformedEvent
from ._events import (
    SCHEMA_VERSION,
    ExecPass,
    FormatPass,
    Generation,
    Reject,
    Sample,
    SemanticPass,
)
from ._names import Topic
from ._trajectories import (
    Blueprint,
    BlueprintPass,
    BlueprintTask,
    Event,
    Trajectory,
    TrajectoryPass,
)

__all__ = ["decode", "decode_for_topic", "encode", "event_type_for_topic"]

E = TypeVar("E", bound=Event)

_TOPIC_TYPES: dict[str, type[Any]] = {
    Topic.SAMPLES: Sample,
    Topic.GENERATIONS: Generation,
    Topic.FORMAT_PASS: FormatPass,
    Topic.EXEC_PASS: ExecPass,
    Topic.SEMANTIC_PASS: SemanticPass,
    Topic.REJECTS: Reject,
    Topic.BLUEPRINT_TASKS: BlueprintTask,
    Topic.BLUEPRINTS: Blueprint,
    Topic.BLUEPRINT_PASS: BlueprintPass,
    Topic.TRAJECTORIES: Trajectory,
    Topic.TRAJECTORY_PASS: TrajectoryPass,
}


def event_type_for_topic(topic: str) -> type[Any]:
    """The event class carried by ``topic`` (its base name, before any ``.version`` suffix)."""
    base = Topic.base(topic)
    try:
        return _TOPIC_TYPES[base]
    except KeyError:
        raise ValueError(f"unknown topic {topic!r}; known: {sorted(_TOPIC_TYPES)}") from None


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def encode(event: Event) -> bytes:
    """Serialize an event to JSON bytes."""
    return orjson.dumps(event)


def decode(data: bytes, cls: type[E]) -> E:
    """Parse and validate ``data`` as an event of type ``cls``.

    Raises :class:`MalformedEvent` naming what is wrong: not JSON, not an object, a schema
    version this code does not read, or a field that fails validation.
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(obj).__name__}")
    meta = obj.get("meta")
    if isinstance(meta, dict):
        version = meta.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise MalformedEvent(
                f"schema_version {version!r} is not readable (this build reads {SCHEMA_VERSION})"
            )
    try:
        event: E = _adapter(cls).validate_python(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise MalformedEvent(
            f"invalid {cls.__name__}: {where}: {first['msg']} ({exc.error_count()} error(s))"
        ) from None
    return event


def decode_for_topic(topic: str, data: bytes) -> Event:
    """Decode ``data`` as the event type that ``topic`` carries."""
    result: Event = decode(data, event_type_for_topic(topic))
    return result
