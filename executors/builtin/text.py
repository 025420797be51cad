"""String utilities. Input is treated strictly as data; texts are capped at 100000 chars."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from ._validate import integer

__all__ = [
    "caesar_cipher",
    "character_frequency",
    "count_vowels",
    "extract_numbers",
    "is_anagram",
    "is_palindrome",
    "levenshtein_distance",
    "longest_common_prefix",
    "reverse_string",
    "slugify",
    "truncate_text",
    "word_count",
]

MAX_TEXT = 100_000


def _text(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def word_count(text: str) -> dict[str, int]:
    """Counts the words, characters and lines of a text.

    Args:
        text: The text to count.

    Returns:
        An object with words, characters and lines.
    """
    t = _text("text", text)
    return {"words": len(t.split()), "characters": len(t), "lines": len(t.splitlines())}


def reverse_string(text: str) -> str:
    """Reverses a string character by character.

    Args:
        text: The text to reverse.

    Returns:
        The reversed text.
    """
    return _text("text", text)[::-1]


def is_palindrome(text: str, ignore_non_alphanumeric: bool = True) -> bool:
    """Checks whether a text reads the same backwards, ignoring case.

    Args:
        text: The text to check.
        ignore_non_alphanumeric: Whether to ignore spaces and punctuation.

    Returns:
        True if the text is a palindrome.
    """
    t = _text("text", text).casefold()
    if ignore_non_alphanumeric:
        t = "".join(c for c in t if c.isalnum())
    return t == t[::-1]


def character_frequency(text: str, case_sensitive: bool = False) -> dict[str, int]:
    """Counts how often each letter or digit occurs in a text.

    Args:
        text: The text to analyse.
        case_sensitive: Whether "A" and "a" are counted separately.

    Returns:
        An object mapping characters to counts, most frequent first.
    """
    t = _text("text", text)
    if not case_sensitive:
        t = t.lower()
    return dict(Counter(c for c in t if c.isalnum()).most_common())


def count_vowels(text: str) -> int:
    """Counts the vowels (a, e, i, o, u, any case) in a text.

    Args:
        text: The text to analyse.

    Returns:
        The number of vowels.
    """
    return sum(c in "aeiou" for c in _text("text", text).lower())


def slugify(text: str, separator: str = "-") -> str:
    """Turns a text into a URL slug: ASCII lowercase words joined by a separator.

    Args:
        text: The text to convert, e.g. "Hello, World!".
        separator: The separator between words: "-" or "_".

    Returns:
        The slug, e.g. "hello-world".
    """
    if separator not in ("-", "_"):
        raise ValueError("separator must be '-' or '_'")
    ascii_text = unicodedata.normalize("NFKD", _text("text", text)).encode("ascii", "ignore")
    words = re.findall(r"[a-z0-9]+", ascii_text.decode().lower())
    return separator.join(words)


def caesar_cipher(text: str, shift: int) -> str:
    """Shifts each ASCII letter of a text through the alphabet (Caesar cipher).

    Args:
        text: The text to encode; non-letters are kept.
        shift: The number of positions to shift; negative to decode.

    Returns:
        The shifted text.
    """
    t = _text("text", text)
    s = integer("shift", shift) % 26
    out = []
    for c in t:
        if "a" <= c <= "z":
            out.append(chr((ord(c) - 97 + s) % 26 + 97))
        elif "A" <= c <= "Z":
            out.append(chr((ord(c) - 65 + s) % 26 + 65))
        else:
            out.append(c)
    return "".join(out)


def levenshtein_distance(source: str, target: str) -> int:
    """Calculates the edit distance between two strings (insertions, deletions, substitutions).

    Args:
        source: The first string (at most 5000 characters).
        target: The second string (at most 5000 characters).

    Returns:
        The minimum number of single-character edits.
    """
    a, b = _text("source", source), _text("target", target)
    if len(a) > 5000 or len(b) > 5000:
        raise ValueError("levenshtein_distance accepts strings of at most 5000 characters")
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def is_anagram(first: str, second: str) -> bool:
    """Checks whether two texts use the same letters, ignoring case, spaces and punctuation.

    Args:
        first: The first text.
        second: The second text.

    Returns:
        True if the texts are anagrams of each other.
    """

    def key(s: str) -> Counter[str]:
        return Counter(c for c in s.casefold() if c.isalnum())

    return key(_text("first", first)) == key(_text("second", second))


def truncate_text(text: str, max_length: int, suffix: str = "...") -> str:
    """Shortens a text to a maximum length, ending with a suffix when cut.

    Args:
        text: The text to shorten.
        max_length: The maximum length of the result, suffix included (at least the
            suffix length).
        suffix: The marker appended when the text is cut.

    Returns:
        The text itself if short enough, otherwise its cut prefix plus the suffix.
    """
    t, sfx = _text("text", text), _text("suffix", suffix)
    n = integer("max_length", max_length, low=len(sfx))
    return t if len(t) <= n else t[: n - len(sfx)] + sfx


def extract_numbers(text: str) -> list[float]:
    """Extracts all decimal numbers written in a text.

    Args:
        text: The text to scan, e.g. "3 apples cost 4.50".

    Returns:
        The numbers in order of appearance, e.g. [3.0, 4.5].
    """
    return [float(m) for m in re.findall(r"-?\d+(?:\.\d+)?", _text("text", text))]


def longest_common_prefix(words: list[str]) -> str:
    """Finds the longest prefix shared by all strings of a list.

    Args:
        words: The strings to compare (non-empty list).

    Returns:
        The common prefix (possibly empty).
    """
    if not isinstance(words, list) or not words:
        raise ValueError("words must be a non-empty list of strings")
    items = [_text(f"words[{i}]", w) for i, w in enumerate(words)]
    lo, hi = min(items), max(items)
    i = 0
    while i < len(lo) and lo[i] == hi[i]:
        i += 1
    return lo[:i]
