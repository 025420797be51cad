"""LLM access: one client layer for OpenAI-compatible endpoints, the embedded local model
and a simulated endpoint for tests and benchmarks.

Everything the stages call implements :class:`ChatModel` (``complete_json``) and fails
only with :class:`LlmError`, whose ``reason`` is a stable code.
"""

from __future__ import annotations

from ._client import LlmClient, LlmEndpoint, LlmStats
from ._errors import REASONS, LlmError, LlmReason
from ._local import LocalModel, default_model_path
from ._model import ChatModel, Completion, OutputMode, parse_json_content
from ._simdata import CORRUPTIONS, SIMULATED_EXEC_FAILURE
from ._simulator import (
    Latency,
    RunningSimulator,
    SimulatorConfig,
    SimulatorStats,
    create_app,
    run_simulator,
)

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
