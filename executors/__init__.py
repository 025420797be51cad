"""The API library, format converters and rate-limited executors."""

from ._cache import ResultCache
from ._dispatch import Dispatcher
from ._errors import REASONS, ExecutionFailure, ExecutorsError, InvalidSchema, SpecError
from ._library import AmbiguousApiName, ApiLibrary
from ._mcp import McpExecutor, McpServerConfig
from ._outcome import Executor, Outcome
from ._python import PythonExecutor
from ._rate_limits import Rate, RateLimits
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

__all__ = [
    "REASONS",
    "WHOLE_BODY",
    "AmbiguousApiName",
    "ApiLibrary",
    "ApiSpec",
    "Binding",
    "Dispatcher",
    "ExecutionFailure",
    "Executor",
    "ExecutorsError",
    "InvalidSchema",
    "McpBinding",
    "McpExecutor",
    "McpServerConfig",
    "Outcome",
    "PythonBinding",
    "PythonExecutor",
    "Rate",
    "RateLimits",
    "RestBinding",
    "RestExecutor",
    "RestParameter",
    "ResultCache",
    "SchemaValidator",
    "SpecError",
    "ValueProblem",
    "check_value",
    "compile_schema",
    "format_path",
    "validate_parameters_schema",
]
