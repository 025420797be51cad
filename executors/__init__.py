"""The API library, format converters and rate-limited executors.

The names below load on first use (PEP 562 ``__getattr__``): a Python executor worker
imports one function module of ``executors.builtin`` and should not pay for httpx,
jsonschema, prometheus_client and the MCP client, which importing every submodule here
cost each worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._cache import ResultCache
    from ._dispatch import Dispatcher
    from ._errors import REASONS, ExecutionFailure, ExecutorsError, InvalidSchema, SpecError
    from ._library import AmbiguousApiName, ApiLibrary
    from ._mcp import McpExecutor, McpServerConfig
    from ._network import HostRefused, HostRule, NetworkPolicy, fetch_url
    from ._outcome import Executor, Outcome
    from ._python import PythonExecutor
    from ._rate_limits import HostLimits, Rate, RateLimits
    from ._redact import REDACTED, Redactor, default_redactor
    from ._rest import RestExecutor
    from ._schema import SchemaValidator, ValueProblem, check_value, compile_schema, format_path
    from ._spec import (
        WHOLE_BODY,
        ApiSpec,
        Binding,
        McpBinding,
        PythonBinding,
        RestBinding,
        RestParameter,
        validate_parameters_schema,
    )
    from ._virtual import Simulator, VirtualExecutor, VirtualFallback
    from ._virtual_cache import VirtualCache
else:
    import importlib

    _WHERE = {
        "_cache": ("ResultCache",),
        "_dispatch": ("Dispatcher",),
        "_errors": ("REASONS", "ExecutionFailure", "ExecutorsError", "InvalidSchema", "SpecError"),
        "_library": ("AmbiguousApiName", "ApiLibrary"),
        "_mcp": ("McpExecutor", "McpServerConfig"),
        "_network": ("HostRefused", "HostRule", "NetworkPolicy", "fetch_url"),
        "_outcome": ("Executor", "Outcome"),
        "_python": ("PythonExecutor",),
        "_rate_limits": ("HostLimits", "Rate", "RateLimits"),
        "_redact": ("REDACTED", "Redactor", "default_redactor"),
        "_rest": ("RestExecutor",),
        "_schema": (
            "SchemaValidator",
            "ValueProblem",
            "check_value",
            "compile_schema",
            "format_path",
        ),
        "_spec": (
            *("WHOLE_BODY", "ApiSpec", "Binding", "McpBinding", "PythonBinding", "RestBinding"),
            *("RestParameter", "validate_parameters_schema"),
        ),
        "_virtual": ("Simulator", "VirtualExecutor", "VirtualFallback"),
        "_virtual_cache": ("VirtualCache",),
    }
    _MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

    def __getattr__(name: str) -> object:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


__all__ = [
    "REASONS",
    "REDACTED",
    "WHOLE_BODY",
    "AmbiguousApiName",
    "ApiLibrary",
    "ApiSpec",
    "Binding",
    "Dispatcher",
    "ExecutionFailure",
    "Executor",
    "ExecutorsError",
    "HostLimits",
    "HostRefused",
    "HostRule",
    "InvalidSchema",
    "McpBinding",
    "McpExecutor",
    "McpServerConfig",
    "NetworkPolicy",
    "Outcome",
    "PythonBinding",
    "PythonExecutor",
    "Rate",
    "RateLimits",
    "Redactor",
    "RestBinding",
    "RestExecutor",
    "RestParameter",
    "ResultCache",
    "SchemaValidator",
    "Simulator",
    "SpecError",
    "ValueProblem",
    "VirtualCache",
    "VirtualExecutor",
    "VirtualFallback",
    "check_value",
    "compile_schema",
    "default_redactor",
    "fetch_url",
    "format_path",
    "validate_parameters_schema",
]
