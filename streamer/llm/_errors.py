"""Errors of the LLM layer.

Hierarchy::

    LlmError                 one type the stages catch; ``reason`` is the stable code
      reasons:
        rate_limited         429 after all retries (or a Retry-After beyond the bound)
        server_error         5xx after all retries
        timeout              no answer within ``timeout_s``, after all retries
        connection_error     the endpoint could not be reached, after all retries
        bad_response         the body is not a chat completion (non-JSON, truncated, no choices)
        bad_request          the endpoint rejected the request (4xx other than 401/403/429)
        auth_error           401/403, or the API key variable is not set

A completion whose *content* is not JSON is not an error: :class:`~streamer.llm.Completion`
comes back with ``parsed=None`` and the format stage rejects it as the model's fault.

Every message is redacted of the configured secrets (:func:`executors.default_redactor`)
when the error is made: it travels into reject events, logs and ``apigen check``'s output.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from executors import default_redactor

__all__ = ["REASONS", "LlmError", "LlmReason"]

LlmReason: TypeAlias = Literal[
    "rate_limited",
    "server_error",
    "timeout",
    "connection_error",
    "bad_response",
    "bad_request",
    "auth_error",
]

REASONS: dict[LlmReason, str] = {
    "rate_limited": "the endpoint kept answering 429",
    "server_error": "the endpoint kept answering 5xx",
    "timeout": "no answer within the timeout",
    "connection_error": "the endpoint could not be reached",
    "bad_response": "the response body is not a chat completion",
    "bad_request": "the endpoint rejected the request",
    "auth_error": "the endpoint refused the credentials",
}
"""Every reason code an :class:`LlmError` can carry, with its meaning."""

RETRYABLE: frozenset[LlmReason] = frozenset(
    {"rate_limited", "server_error", "timeout", "connection_error"}
)


class LlmError(Exception):
    """A failed LLM call. ``reason`` is one of :data:`REASONS`; ``attempts`` counts tries.

    ``status`` is the HTTP status when there was one; ``retry_after`` the server's
    ``Retry-After`` in seconds, when it sent one.
    """

    retry_after: float | None = None

    def __init__(
        self, reason: LlmReason, message: str, *, status: int | None = None, attempts: int = 1
    ) -> None:
        message = default_redactor().redact(message)
        super().__init__(f"{reason}: {message}")
        self.reason: LlmReason = reason
        self.message = message
        self.status = status
        self.attempts = attempts

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE

    def __repr__(self) -> str:
        return f"LlmError({self.reason!r}, {self.message!r}, status={self.status})"
