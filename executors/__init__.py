"""The API library, format converters and rate-limited executors."""

from ._errors import REASONS, ExecutionFailure, ExecutorsError, SpecError
from ._library import AmbiguousApiName, ApiLibrary
from ._outcome import Executor, Outcome
from ._rate_limits import Rate, RateLimits
from ._rest import RestExecutor
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
    "ExecutionFailure",
    "Executor",
    "ExecutorsError",
    "McpBinding",
    "Outcome",
    "PythonBinding",
    "Rate",
    "RateLimits",
    "RestBinding",
    "RestExecutor",
    "RestParameter",
    "SpecError",
    "validate_parameters_schema",
]
