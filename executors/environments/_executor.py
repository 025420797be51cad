"""An :class:`~executors.Executor` over one environment, so code that runs calls through
the executor protocol (``execute(spec, arguments) -> Outcome``) can run a domain's tools.

Usage::

    env = Environment(RETAIL)
    env.reset(seed)
    executor = EnvironmentExecutor(env)
    outcome = await executor.execute(RETAIL.specs[0], {"email": "ava.smith0@example.com"})
"""

from __future__ import annotations

import time
from typing import Any

from .._outcome import Outcome
from .._spec import ApiSpec
from ._environment import Environment

__all__ = ["EnvironmentExecutor"]


class EnvironmentExecutor:
    """Runs specs of ``environment``'s domain (``source`` ``environment:<domain>``) on it;
    a spec of another source fails with ``unknown_tool``. Failures carry the environment's
    reason codes (:data:`~executors.environments.REASONS`). The caller owns the state:
    :meth:`aclose` closes the database, ``reset`` is the caller's to call per task."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def __repr__(self) -> str:
        return f"<EnvironmentExecutor {self.environment!r}>"

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        started = time.perf_counter()
        expected = f"environment:{self.environment.domain.name}"
        if spec.source != expected:
            return Outcome.failure("unknown_tool", f"{spec.id} is not a tool of {expected}")
        result = self.environment.call(spec.name, arguments)
        elapsed = time.perf_counter() - started
        if result.ok:
            return Outcome.success(result.value, latency_s=elapsed)
        return Outcome.failure(result.reason, result.message, latency_s=elapsed)

    async def aclose(self) -> None:
        self.environment.close()
