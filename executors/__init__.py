"""The API library, format converters and rate-limited executors."""

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
