"""Errors of the LLM layer.

Hierarchy::

    LlmError                 one type the stages catch; ``reason`` is the stable code
      reasons:
        rate_limited         429 after all retries (or a Retry-After beyond the bound)
        server_error         5xx after all retries
        timeout              no answer within ``timeout_s``, after all retries
        connection_error     the endpoint could not be reached, after all retries
        bad_response         the body is not a chat completion (non-JSON, truncated, no choices),
                             after all retries; or a completion with no content (not retried)
        bad_request          the endpoint rejected the request (4xx other than 401/403/429)
        auth_error           401/403, or the API key variable is not set

What each means to the data: an *outage* (``rate_limited``, ``server_error``, ``timeout``,
``connection_error``; :attr:`LlmError.outage`) says nothing about the request, so the
pipeline pauses and asks again later, and ``apigen check`` reports the record "not judged";
an ``auth_error`` (:attr:`LlmError.fatal`) would fail every request alike, so it stops the
run or the check; the others are about this request and reject it.

A completion whose *content* is not JSON is not an error: :class:`~streamer.llm.Completion`
comes back with ``parsed=None`` and the format stage rejects it as the model's fault.

Every message is redacted of the configured secrets (:func:`executors.default_redactor`)
when the error is made: it travels into reject events, logs and ``apigen check``'s output.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from executors import default_redactor

__all__ = ["OUTAGES", "REASONS", "LlmError", "LlmReason"]

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

OUTAGES: frozenset[LlmReason] = frozenset(
    {"rate_limited", "server_error", "timeout", "connection_error"}
)
"""The reasons that say the endpoint is unavailable, not that the request is wrong."""


class LlmError(Exception):
    """A failed LLM call. ``reason`` is one of :data:`REASONS`; ``attempts`` counts tries.

    ``status`` is the HTTP status when there was one; ``retry_after`` the server's
    ``Retry-After`` in seconds, when it sent one; ``endpoint`` names the endpoint that failed
    (its configured name and base URL without credentials; set by the client, never the key).
    ``retryable`` is True for outages and for bodies that are not a chat completion (a
    proxy's error page, a cut-off body); pass it to say otherwise.
    """

    retry_after: float | None = None
    endpoint: str = ""

    def __init__(
        self,
        reason: LlmReason,
        message: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        retryable: bool | None = None,
    ) -> None:
        message = default_redactor().redact(message)
        super().__init__(f"{reason}: {message}")
        self.reason: LlmReason = reason
        self.message = message
        self.status = status
        self.attempts = attempts
        self._retryable = (
            retryable if retryable is not None else reason in OUTAGES or reason == "bad_response"
        )

    @property
    def retryable(self) -> bool:
        """Whether another attempt of the same request may succeed."""
        return self._retryable

    @property
    def outage(self) -> bool:
        """The endpoint is unavailable (see :data:`OUTAGES`): no verdict on the request."""
        return self.reason in OUTAGES

    @property
    def fatal(self) -> bool:
        """Every request to this endpoint would fail alike (the credentials are refused)."""
        return self.reason == "auth_error"

    def __repr__(self) -> str:
        return (
            f"LlmError({self.reason!r}, {self.message!r}, status={self.status},"
            f" endpoint={self.endpoint!r})"
        )
