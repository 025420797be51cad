"""How texts write values: numbers, number words, dates and clock times, read into values.

The readers behind :mod:`streamer.grounding._grounding` (which decides what a value's written
forms are and documents them): each takes a text already passed through
:func:`normalize_text` and returns what it states. Scanners start at a digit, where the
regex engine can skip ahead; what may stand before the digits (sign, currency) is matched
backwards from them and what may follow (exponent, scale, percent) forwards, since one
pattern with optional prefixes is tried at every position and costs several times more.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

__all__ = [
    "CLOCK",
    "DATETIME",
    "DateReading",
    "NumberSpan",
    "clock_readings",
    "normalize_text",
    "number_spans",
    "read_number_words",
    "read_numbers",
    "read_times",
    "scan_dates",
    "to_decimal",
    "whole_date",
    "whole_number",
]

_PLAIN = str.maketrans(
    {
        **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u00b4`"), "'"),
        **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"), '"'),
        **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"), "-"),
    }
)


_ESCAPES = re.compile(r"\\[nrt]")


def normalize_text(text: str) -> str:
    """NFKC, plain quotes and dashes, case folded, runs of whitespace as one space."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_PLAIN)
    if "\\" in text:  # escapes left in the text by a dataset ("line one\\nline two")
        text = _ESCAPES.sub(" ", text)
    return " ".join(text.casefold().split())


# --- numbers --------------------------------------------------------------------------------

_SCALES = {
    "k": 10**3,
    "thousand": 10**3,
    "hundred": 100,
    "m": 10**6,
    "mn": 10**6,
    "mil": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "trillion": 10**12,
    "lakh": 10**5,
    "crore": 10**7,
}
_DIGITS = re.compile(r"\d(?:\d{0,2}(?:,\d{3})+(?![0-9])|\d{0,2}(?: \d{3})+(?![0-9])|\d*)(?:\.\d+)?")
_CODE_PREFIXES = ("usd", "eur", "gbp", "jpy", "cny", "rmb", "inr", "cad", "aud", "chf")
_BEFORE = re.compile(
    r"(?<![0-9a-z\u00c0-\u024f])(?P<sign>[-+]|minus |negative )?"
    rf"(?:[$€£¥₹₩]|us\$|(?:{'|'.join(_CODE_PREFIXES)}) ?)?"
    r"(?P<sign2>-)?(?P<dot>\.)?\Z"
)
_SPACED_PREFIXES = ("minus ", "negative ", *(f"{c} " for c in _CODE_PREFIXES))
_AFTER = re.compile(
    r"(?:e(?P<exp>[-+]?\d{1,3})(?![0-9]))?"
    r"(?: ?(?P<scale>thousand|hundred|million|billion|trillion|lakh|crore|mn|mil|bn|k|m|b)s?"
    r"(?![0-9a-z]))?"
    r"(?: ?(?P<pct>%|percent(?![a-z])|per cent(?![a-z])|pct(?![a-z])))?"
)

# What may follow digits without an exponent, scale or percent after them (the common case,
# decided without running _AFTER): the end, punctuation, or a space and a plain word.
_PLAIN_ENDS = frozenset(
    ["", *(c for c in " ,.;:!?)]}'\"/-" if c != " ")]
    + [f"{a}{b}" for a in ",.;:!?)]}'\"/-" for b in " ,.;:!?)]}'\"/-0123456789"]
    + [f" {c}" for c in "adfgijnoqrsuvwxyz0123456789(\"'$"]
)
NumberSpan = tuple[int, int, list[Decimal], bool]
"""``(start, end, values, is_percent)`` of one number written in a text."""


def _prefix(text: str, start: int) -> tuple[int, bool, bool] | None:
    """``(where the number starts, negative, a bare fraction like ".5")`` for digits at
    ``start``; None when they continue a word ("A4") or a number ("1.2.3")."""
    prev = text[start - 1] if start else " "
    if not (prev.isalnum() or prev in "-+.$€£¥₹₩") and not (
        prev == " " and text.endswith(_SPACED_PREFIXES, 0, start)
    ):
        return start, False, False  # the common case: a space or punctuation before
    if prev == "." and start >= 2 and text[start - 2].isdigit():
        return None
    m = _BEFORE.search(text, max(0, start - 16), start)
    if m is None:
        return None
    negative = bool(m["sign2"]) or m["sign"] not in (None, "+")
    return m.start(), negative, bool(m["dot"])


def _scan_numbers(text: str) -> Iterator[NumberSpan]:
    for m in _DIGITS.finditer(text):
        start, end = m.span()
        prefix = _prefix(text, start)
        if prefix is None or (prefix[2] and "." in m[0]):
            continue
        after = _AFTER.match(text, end) if text[end : end + 2] not in _PLAIN_ENDS else None
        digits = m[0].replace(",", "")
        try:
            base = Decimal(("." if prefix[2] else "") + digits.replace(" ", ""))
            if after and after["exp"]:
                base = base.scaleb(int(after["exp"]))
        except ArithmeticError:
            continue
        found = [base]
        if after and after["scale"]:
            found.append(base * _SCALES[after["scale"]])
        if " " in m[0] or (len(m[0]) > 4 and m[0][3] == ","):
            # "1 200 300" and "[200,300,400]" may be lists as well as one number ("25,000"
            # and "250,000" are not: a group after the first starts with a zero)
            groups = re.split("[, ]", m[0])  # the last keeps its decimals
            if " " in m[0] or all(g[0] != "0" for g in groups):
                found += [Decimal(g) for g in groups if g[0] != "0" or g == "0"]
        if prefix[1]:
            found = [-d for d in found]
        yield (
            prefix[0],
            max(after.end(), end) if after else end,
            found,
            bool(after and after["pct"]),
        )


def number_spans(text: str) -> list[NumberSpan]:
    """Each number ``text`` (normalized) writes with digits, where, and its readings."""
    return list(_scan_numbers(text))


def read_numbers(text: str) -> tuple[set[Decimal], set[Decimal]]:
    """Every number ``text`` (normalized) writes with digits, and those written as percent."""
    numbers: set[Decimal] = set()
    percents: set[Decimal] = set()
    for _, _, found, pct in _scan_numbers(text):
        numbers.update(found)
        if pct:
            percents.add(found[0])
    return numbers, percents


_NUMBER_SHAPE = re.compile(r"[-+ a-z$€£¥₹₩]{0,14}[0-9][0-9., ]*(?:e[-+]?[0-9]+)?[ a-z%]*")


def whole_number(value: str) -> NumberSpan | None:
    """The number ``value`` (normalized) consists of, if it is one number and nothing else."""
    if _NUMBER_SHAPE.fullmatch(value) is None:  # a quick no for dates, times, codes
        return None
    spans = list(_scan_numbers(value))
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(value):
        return spans[0]
    return None


_UNITS = (  # noqa: SIM905 (one line of words reads better)
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_VALUES = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORDS = frozenset([*_UNITS, *_TENS, "hundred", "thousand", "million", "billion"])
_WORD_NUMBER = re.compile(
    rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?:[- ](?P<unit>{'|'.join(_UNITS[1:10])}))?"
    rf"|(?P<small>{'|'.join(_UNITS)})|(?P<a>a))"
    r"(?: (?P<hundred>hundred))?(?: (?P<scale>thousand|million|billion))?\b"
)


def read_number_words(text: str, words: frozenset[str]) -> set[Decimal]:
    out: set[Decimal] = set()
    if words.isdisjoint(_NUMBER_WORDS):
        return out
    for m in _WORD_NUMBER.finditer(text):
        if m["a"] and not (m["hundred"] or m["scale"]):
            continue
        if m["tens"]:
            value = _WORD_VALUES[m["tens"]] + (_WORD_VALUES[m["unit"]] if m["unit"] else 0)
        else:
            value = _WORD_VALUES.get(m["small"] or "one", 1)
        if m["hundred"]:
            value *= 100
        if not m["a"]:  # "a thousand" is 1000, never 1
            out.add(Decimal(value))
        if m["scale"]:
            out.add(Decimal(value * _SCALES[m["scale"]]))
    return out


def to_decimal(value: int | float) -> Decimal | None:
    try:
        d = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    except (ValueError, ArithmeticError):
        return None
    return d if d.is_finite() else None


# --- dates and times ------------------------------------------------------------------------

_MONTH_NAMES = (  # noqa: SIM905
    "january february march april may june july august september october november december"
).split()
_MONTHS = (
    {name: i for i, name in enumerate(_MONTH_NAMES, 1)}
    | {name[:3]: i for i, name in enumerate(_MONTH_NAMES, 1)}
    | {"sept": 9}
)
_MONTH_PREFIXES = tuple(name[:3] for name in _MONTH_NAMES)
_NUMERIC_DATE = re.compile(r"\d{1,4}(?P<sep>[-/.])\d{1,2}(?P=sep)\d{1,4}(?![0-9])")
_DAY_AFTER = re.compile(r"\.? (?P<d>\d{1,2})(?:st|nd|rd|th)?(?![0-9a-z])")
_DAY_BEFORE = re.compile(r"(?<![0-9])(?P<d>\d{1,2})(?:st|nd|rd|th)? (?:of )?\Z")
_YEAR_AFTER = re.compile(r"\.?,? (?P<y>\d{4})(?![0-9])")
_YEAR_MONTH = re.compile(r"\d{4}[-/]\d{1,2}")
CLOCK = re.compile(
    r"(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?::\d{2}(?:\.\d+)?)?"
    r"(?: ?(?P<ap>am|pm|a\.m\.?|p\.m\.?|o'clock))?(?![0-9a-z:])"
)
DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2})[t ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"(?:z|[-+]\d{2}:?\d{2})?"
)
_WORD = re.compile(r"[a-z]+")

DateReading = tuple[int | None, int, int | None]
"""``(year, month, day)``; None where the text leaves it out."""
DateSpan = tuple[int, int, list[DateReading]]


def _valid(reading: DateReading) -> bool:
    year, month, day = reading
    try:
        date(year if year is not None else 2000, month, day if day is not None else 1)
    except ValueError:
        return False
    return True


def _year(text: str) -> int:
    y = int(text)
    return y if len(text) == 4 else y + (1900 if y >= 69 else 2000)


def _numeric_dates(text: str) -> Iterator[DateSpan]:
    for m in _NUMERIC_DATE.finditer(text):
        start = m.start()
        if start and (text[start - 1].isdigit() or text[start - 1] in "./-"):
            continue
        a, b, c = m[0].split(m["sep"])
        if len(a) == 4 and len(c) <= 2:
            readings: list[DateReading] = [(int(a), int(b), int(c))]
        elif len(a) <= 2 and len(c) in (2, 4):
            readings = [(_year(c), int(a), int(b)), (_year(c), int(b), int(a))]
        else:
            continue
        yield start, m.end(), [r for r in readings if _valid(r)]


def _month_words(text: str) -> Iterator[tuple[int, int, int]]:
    """``(start, end, month)`` of every month name (found by its first three letters: a
    dozen substring searches cost less than a regex alternation over the text)."""
    for prefix in _MONTH_PREFIXES:
        i = text.find(prefix)
        while i >= 0:
            if not i or not text[i - 1].isalpha():
                word = _WORD.match(text, i)
                month = _MONTHS.get(word[0]) if word else None
                if word and month:
                    yield i, word.end(), month
            i = text.find(prefix, i + 3)


def _month_dates(text: str) -> Iterator[DateSpan]:
    for start, end, month in _month_words(text):
        day: int | None = None
        if (after := _DAY_AFTER.match(text, end)) is not None:
            day, end = int(after["d"]), after.end()
        elif (before := _DAY_BEFORE.search(text, max(0, start - 12), start)) is not None:
            day, start = int(before["d"]), before.start()
        year = _YEAR_AFTER.match(text, end)
        if day is None and year is None:
            continue
        reading = (int(year["y"]) if year else None, month, day)
        if _valid(reading):
            yield start, year.end() if year else end, [reading]


def scan_dates(text: str) -> Iterator[DateSpan]:
    yield from _numeric_dates(text)
    yield from _month_dates(text)


def whole_date(value: str) -> list[DateReading]:
    """The readings of ``value`` (normalized) if it is one date and nothing else."""
    if _YEAR_MONTH.fullmatch(value):
        year, month = re.split(r"[-/]", value)
        reading: DateReading = (int(year), int(month), None)
        return [reading] if _valid(reading) else []
    for start, end, readings in scan_dates(value):
        if start == 0 and end == len(value):
            return readings
    return []


def clock_readings(m: re.Match[str], twelve_hour: bool) -> list[tuple[int, int]]:
    """``(hour, minute)`` readings; ``twelve_hour``: a time without am/pm may be either
    half of the day (how a query writes times, not how a value does)."""
    if not m["m"] and not m["ap"]:
        return []
    h, minute = int(m["h"]), int(m["m"] or 0)
    ap = (m["ap"] or "")[:1]
    if ap in ("a", "p"):
        if not 1 <= h <= 12 or minute > 59:
            return []
        return [(h % 12 + (12 if ap == "p" else 0), minute)]
    if h > 23 or minute > 59:
        return []
    return [(h, minute), (h + 12, minute)] if twelve_hour and 1 <= h <= 11 else [(h, minute)]


def read_times(text: str) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for m in CLOCK.finditer(text):
        if not m.start() or text[m.start() - 1] not in "0123456789:.":
            out.update(clock_readings(m, True))
    if "noon" in text:
        out.add((12, 0))
    if "midnight" in text:
        out.add((0, 0))
    return out
