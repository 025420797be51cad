"""Errors of the API library and executors.

Hierarchy::

    ExecutorsError
    ├── SpecError              reason "invalid_spec": a spec or source document is malformed
    │   └── InvalidSchema      reason "invalid_schema": a JSON Schema in it is unsafe or malformed
    └── ExecutionFailure       a call did not produce a result (``reason`` is the stable code)
        └── HostRefused        reason "host_refused" (executors._network): the policy
                               refuses the address a host from data would connect to

Executors never raise into the pipeline: they return :class:`~executors.Outcome` values
whose failures carry the same reason codes listed in :data:`REASONS`.
"""

from __future__ import annotations

__all__ = ["REASONS", "ExecutionFailure", "ExecutorsError", "InvalidSchema", "SpecError"]

REASONS: dict[str, str] = {
    "unknown_api": "the call names an API the library does not have",
    "invalid_arguments": "arguments do not fit the function's signature",
    "function_error": "the function raised (out-of-domain arguments and the like)",
    "timeout": "the call exceeded its timeout",
    "worker_crashed": "the worker process died during the call",
    "memory_exceeded": "the call exceeded its memory limit",
    "result_too_large": "the result exceeded the size cap",
    "not_serializable": "the result could not be converted to JSON",
    "http_error": "the REST API answered with an error status",
    "rate_limited": "the API kept answering 429 after retries",
    "connection_error": "the host could not be reached",
    "host_not_allowed": "the request would go to a host the spec does not name",
    "host_refused": "the network policy refuses the host's address (loopback, private, ...)",
    "mcp_error": "the MCP server reported an error",
    "no_binding": "the API has no executable binding",
    "executor_error": "the executor itself raised (a bug); the message names the exception",
    "virtual_api_error": "a virtual API answered the call with an error (it makes no sense)",
    "virtual_bad_response": "the simulator's replies for a virtual API stayed unusable",
    "simulator_error": "the virtual API's simulator model could not be reached or failed",
}
"""Every stable reason code an executor failure can carry, with its meaning."""


class ExecutorsError(Exception):
    reason = "executors_error"


class SpecError(ExecutorsError):
    """A spec that cannot be loaded or converted: names the document and the field."""

    reason = "invalid_spec"

    def __init__(self, document: str, field: str, problem: str) -> None:
        super().__init__(f"{document}: {field}: {problem}")
        self.document = document
        self.field = field
        self.problem = problem


class InvalidSchema(SpecError):
    """A JSON Schema that cannot be judged safely (see :mod:`executors._schema`)."""

    reason = "invalid_schema"


class ExecutionFailure(ExecutorsError):
    """A call that failed with a stable ``reason`` from :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
