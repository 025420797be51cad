"""The APIGen stages, each a service on the stage runner."""

from ._format import FormatChecker, FormatError, FormatRules, check_calls, parse_pairs
from ._sampler import (
    ApiSampler,
    Sampler,
    SamplerConfig,
    SeedFeedback,
    SeedPool,
    StyleController,
    tool_from_spec,
)
from ._sink import DatasetSink, FunnelSink

__all__ = [
    "ApiSampler",
    "DatasetSink",
    "FormatChecker",
    "FormatError",
    "FormatRules",
    "FunnelSink",
    "Sampler",
    "SamplerConfig",
    "SeedFeedback",
    "SeedPool",
    "StyleController",
    "check_calls",
    "parse_pairs",
    "tool_from_spec",
]
