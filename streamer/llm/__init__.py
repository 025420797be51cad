"""LLM access: one client layer for OpenAI-compatible endpoints, the embedded local model
and a simulated endpoint for tests and benchmarks.

Everything the stages call implements :class:`ChatModel` (``complete_json``) and fails
only with :class:`LlmError`, whose ``reason`` is a stable code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._client import LlmClient, LlmEndpoint, LlmStats
from ._errors import REASONS, LlmError, LlmReason
from ._local import LocalModel, default_model_path
from ._model import ChatModel, Completion, OutputMode, parse_json_content
from ._simdata import CORRUPTIONS, SIMULATED_EXEC_FAILURE

if TYPE_CHECKING:
    from ._simulator import (
        Latency,
        RunningSimulator,
        SimulatorConfig,
        SimulatorStats,
        create_app,
        run_simulator,
    )
else:
    # The simulated endpoint's names load with it on first use: its server (aiohttp.web)
    # is start-up cost that a client of a real endpoint does not need.
    _SIMULATOR = {
        "Latency",
        "RunningSimulator",
        "SimulatorConfig",
        "SimulatorStats",
        "create_app",
        "run_simulator",
    }

    def __getattr__(name: str) -> object:
        if name in _SIMULATOR:
            from . import _simulator

            value = getattr(_simulator, name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CORRUPTIONS",
    "REASONS",
    "SIMULATED_EXEC_FAILURE",
    "ChatModel",
    "Completion",
    "Latency",
    "LlmClient",
    "LlmEndpoint",
    "LlmError",
    "LlmReason",
    "LlmStats",
    "LocalModel",
    "OutputMode",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorStats",
    "create_app",
    "default_model_path",
    "parse_json_content",
    "run_simulator",
]
