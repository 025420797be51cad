"""The stable reason codes of environment tool calls, and the error tools raise.

Hierarchy::

    ExecutorsError
    └── ToolError    a tool refused or failed a call; ``reason`` is a code of :data:`REASONS`

:meth:`~executors.environments.Environment.call` never raises: a :class:`ToolError` (or
anything unforeseen, as ``environment_error``) becomes a failed
:class:`~executors.environments.ToolResult` and the call's transaction is rolled back.
"""

from __future__ import annotations

from .._errors import ExecutorsError

__all__ = ["REASONS", "ToolError"]

REASONS: dict[str, str] = {
    "unknown_tool": "the call names a tool the domain does not have",
    "invalid_arguments": "the arguments do not fit the tool's JSON Schema (format-checker rules)",
    "not_found": "an id in the arguments names no row (user, order, item, flight, payment method)",
    "invalid_request": "the arguments fit the schema but contradict each other or the data",
    "policy_violation": "the written policy forbids the change and the tool itself enforces it",
    "unavailable": "no stock, no seats or no flight on that date for what was asked",
    "insufficient_funds": "the payment method's balance does not cover the amount",
    "environment_error": "the tool itself failed (a bug); the message names the exception",
}
"""Every reason code a failed tool call can carry, with its meaning."""


class ToolError(ExecutorsError):
    """A tool call refused with a stable ``reason`` from :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown environment reason {reason!r}")
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
