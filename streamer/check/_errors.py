"""Errors of the dataset readers and the reason codes a record that cannot be read gets.

Hierarchy::

    Exception
    ├── DatasetFormatError   a whole file cannot be checked (a usage error: exit status 2)
    └── BadRecord            one record cannot be read; it becomes that record's ``fail``

A :class:`BadRecord` never leaves a reader: the record boundary turns it into an
:class:`~streamer.check.InvalidRecord` with its reason code (:data:`READ_REASONS`) and the
file and line, and the next record is read.
"""

from __future__ import annotations

from typing import Any

__all__ = ["READ_REASONS", "BadRecord", "DatasetFormatError"]

READ_REASONS: dict[str, str] = {
    "invalid_encoding": "the bytes are not text in the file's encoding (invalid UTF-8 at a line)",
    "invalid_record": "not JSON, a truncated or broken JSON list, or not the format's shape",
    "invalid_tools": "the tools are not a list of tool objects, or a tool has no usable name",
    "invalid_schema": "a tool's parameters are not a JSON Schema this checker accepts",
    "limit_exceeded": "the record is larger, deeper, or has more tools or calls than allowed",
}
"""Reason code -> meaning, for records that fail before any stage runs (stage ``None``)."""


class DatasetFormatError(Exception):
    """A whole file cannot be checked (unreadable, unknown format, BFCL answers missing)."""

    reason = "invalid_dataset"


class BadRecord(Exception):
    """One record that cannot be read, with its stable ``reason`` from :data:`READ_REASONS`.

    record: the decoded record when it decoded but broke a limit (its id still names it).
    """

    def __init__(self, reason: str, message: str, record: Any = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.record = record
