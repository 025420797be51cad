"""The APIGen stages, each a service on the stage runner."""

from ._format import FormatChecker, FormatError, FormatRules, check_calls, parse_pairs

__all__ = ["FormatChecker", "FormatError", "FormatRules", "check_calls", "parse_pairs"]
