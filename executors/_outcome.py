"""What every executor returns, and the protocol executors implement.

Executors never raise into the pipeline: every call ends in an :class:`Outcome`, either
``ok`` with a JSON-normalized ``result`` or a failure with a stable ``reason`` code from
:data:`executors.REASONS` and a fine-grained ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ._spec import ApiSpec

__all__ = ["Executor", "Outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one call. ``latency_s`` is wall time in seconds (0 for cache hits);
    ``simulated`` marks an answer a virtual API made up (:class:`~executors.VirtualExecutor`),
    not a real execution."""

    ok: bool
    result: Any = None
    reason: str = ""
    message: str = ""
    latency_s: float = 0.0
    cached: bool = False
    simulated: bool = False

    @classmethod
    def success(cls, result: Any, latency_s: float = 0.0) -> Outcome:
        return cls(ok=True, result=result, latency_s=latency_s)

    @classmethod
    def failure(cls, reason: str, message: str, latency_s: float = 0.0) -> Outcome:
        return cls(ok=False, reason=reason, message=message, latency_s=latency_s)


class Executor(Protocol):
    """Executes calls of APIs with one kind of binding."""

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        """Run ``spec`` with keyword ``arguments`` (JSON data); never raises."""
        ...

    async def aclose(self) -> None:
        """Release workers, connections and sessions."""
        ...
