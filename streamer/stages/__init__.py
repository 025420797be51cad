"""The APIGen stages, each a service on the stage runner."""

from ._execution import ExecutionChecker, Resolver
from ._format import FormatChecker, FormatError, FormatRules, check_calls, parse_pairs
from ._generator import Generator, WeightedModel
from ._sampler import (
    ApiSampler,
    Sampler,
    SamplerConfig,
    SeedFeedback,
    SeedPool,
    StyleController,
    tool_from_spec,
)
from ._semantic import SemanticChecker, SemanticRules, Verdict, rule_check
from ._sink import DatasetSink, FunnelSink

__all__ = [
    "ApiSampler",
    "DatasetSink",
    "ExecutionChecker",
    "FormatChecker",
    "FormatError",
    "FormatRules",
    "FunnelSink",
    "Generator",
    "Resolver",
    "Sampler",
    "SamplerConfig",
    "SeedFeedback",
    "SeedPool",
    "SemanticChecker",
    "SemanticRules",
    "StyleController",
    "Verdict",
    "WeightedModel",
    "check_calls",
    "parse_pairs",
    "rule_check",
    "tool_from_spec",
]
