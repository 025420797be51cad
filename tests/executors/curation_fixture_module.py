"""A small Python API library for curation tests: healthy functions and broken ones.

Each broken function is broken in exactly one way, named in its comment (the reason code
curation must reject it with). Not part of the built-in library.
"""

from __future__ import annotations

import time

__all__ = [
    "add_numbers",
    "add_numbers_again",
    "always_raises",
    "needs_input",
    "no_arguments",
    "repeat_text",
    "sleeps_too_long",
    "tiny",
    "undocumented",
]

API_CATEGORY = "Financial"
"""Curation's taxonomy maps this source category to Finance."""


def add_numbers(a: int = 2, b: int = 3) -> int:
    """Adds two whole numbers and returns their sum as a whole number.

    Args:
        a: The first number to add.
        b: The second number to add.
    """
    return a + b


def repeat_text(text: str = "ab", times: int = 2) -> str:
    """Repeats a piece of text the given number of times and returns the result.

    Args:
        text: The text to repeat.
        times: How many copies to return, at least zero.
    """
    return text * times


def always_raises(value: int = 1) -> int:  # function_error
    """Checks a value against a rule that no value can satisfy, and returns it.

    Args:
        value: The value to check.
    """
    raise ValueError(f"value {value} breaks the rule")


def sleeps_too_long(seconds: float = 30.0) -> float:  # timeout
    """Waits for the given number of seconds before answering with that number.

    Args:
        seconds: How long to wait, in seconds.
    """
    time.sleep(seconds)
    return seconds


def no_arguments() -> int:  # no_parameters
    """Returns the answer to life, the universe and everything, always the same."""
    return 42


def undocumented(x: int = 1) -> int:  # unparseable_doc
    return x


def add_numbers_again(a: int = 2, b: int = 3) -> int:  # near_duplicate (of add_numbers)
    """Adds two whole numbers and returns their sum as a whole number.

    Args:
        a: The first number to add.
        b: The second number to add.
    """
    return a + b


def needs_input(text: str) -> str:  # no_example (healthy, but nothing to call it with)
    """Returns the given text in upper case letters, unchanged otherwise.

    Args:
        text: The text to convert.
    """
    return text.upper()


def tiny(x: int = 1) -> int:  # short_description (regenerated when an LLM is given)
    """Echoes x.

    Args:
        x: The number to return.
    """
    return x
