"""Stateful environments for multi-turn tasks (issue 18): domains in the style of
tau-bench, each a SQLite schema, a seeded data generator, tools that read and change the
database, and a written policy; reset per task, deterministic, in memory.
See docs/environments.md."""

from ._airline import AIRLINE, AIRLINE_POLICY
from ._environment import Domain, Environment, Tool, ToolResult
from ._errors import REASONS, ToolError
from ._executor import EnvironmentExecutor
from ._retail import RETAIL, RETAIL_POLICY

__all__ = [
    "AIRLINE",
    "AIRLINE_POLICY",
    "REASONS",
    "RETAIL",
    "RETAIL_POLICY",
    "Domain",
    "Environment",
    "EnvironmentExecutor",
    "Tool",
    "ToolError",
    "ToolResult",
]
