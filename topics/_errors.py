"""Errors of the event and transport layer.

Hierarchy::

    TopicsError
    ├── MalformedEvent        reason "malformed_event": bytes that do not decode to the event
    └── TransportError        reason "transport_error": the log or broker failed
        ├── TopicNotFound     reason "topic_not_found"
        └── StorageFull       reason "storage_full": the embedded log's disk is full
"""

from __future__ import annotations

__all__ = ["MalformedEvent", "StorageFull", "TopicNotFound", "TopicsError", "TransportError"]


class TopicsError(Exception):
    """Base class; ``reason`` is the stable code that reject events and metrics carry."""

    reason = "topics_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedEvent(TopicsError):
    reason = "malformed_event"


class TransportError(TopicsError):
    reason = "transport_error"


class TopicNotFound(TransportError):
    reason = "topic_not_found"


class StorageFull(TransportError):
    reason = "storage_full"
