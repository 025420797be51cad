"""The replay's error, with its stable reason codes."""

from __future__ import annotations

__all__ = ["ReplayError"]


class ReplayError(ValueError):
    """A replay that cannot run as asked; ``reason`` is a stable code:

    ``invalid_version`` (a version name Kafka cannot carry in a topic name),
    ``invalid_position`` (a ``--from``/``--until`` that is no offset or timestamp),
    ``unknown_stage``, ``no_input`` (the input topic does not exist),
    ``unknown_version`` / ``ambiguous_version`` (a version reference matches no / several
    replays), ``no_judge`` (the semantic stage or the blueprint validator's committee would
    judge with the local model, which is not installed), ``no_downstream`` (a multi-turn
    checker has no later checker to continue through).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
