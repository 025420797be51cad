"""Grounding: does a text (the query) state an argument value, in any common written form?

The semantic rules and the simulated judge ask this of every argument value. Both sides
are normalized first (NFKC, curly quotes and dashes made plain, case folded, whitespace
collapsed); then a value is grounded when the query states it as follows.

=============  ===========================================================================
value          grounded by
=============  ===========================================================================
string         the same text as a whole word or phrase (``"cat"`` is not in "category";
               a trailing ``s``/``es``/``'s`` is allowed: "tomatoes" grounds ``"tomato"``;
               scripts without spaces, e.g. CJK, match anywhere), or by any rule below
               that the string's own form selects (a number, date, time, code, list)
number         the same number in any supported form: ``200000`` by "200000", "200,000",
               "200 000", "$200,000", "USD 200000", "200k", "0.2M"; ``5`` by "5.0",
               "5.00", "five"; signs must agree ("-5" does not ground ``5``); digits
               must not continue ("2000" does not ground ``20``)
percent/rate   when the parameter's name or description says rate, percent, percentage
               or pct (or has ``%``): ``0.15`` by "15%" / "15 percent", and ``15`` by
               "0.15"; always ``15`` by "15%"
date           ``"2024-03-05"`` by "March 5, 2024", "Mar 5th 2024", "5 March 2024",
               "5th of March, 2024", "2024/03/05", "03/05/2024", "05.03.2024"; a date
               written without a year ("March 5") grounds that day in any year; a month
               ("March 2024") grounds ``"2024-03"``
time           ``"10:00"`` by "10 am", "10:00 AM", "10 o'clock"; ``"15:30"`` by "3:30 pm";
               a clock time without am/pm ("at 3:00") grounds both ``03:00`` and ``15:00``;
               a date-time grounds when its date does and its time is midnight or stated
code           ISO currency and language codes by their names or symbols: ``"USD"`` by
               "dollars" or "$", ``"JPY"`` by "Japanese yen", ``"es"`` by "Spanish"
list           each element grounded; a string ``"a, b and c"`` when each part is
free text      a string of three or more words of three or more letters, when at least
               80 % of those words are in the query ("Discuss the new proposal ...")
=============  ===========================================================================

Ambiguity is resolved towards what the query literally allows, never towards a guess:
numeric dates whose day and month could swap (``03/05/2024``) ground both readings; two-digit
years follow :func:`time.strptime`'s ``%y`` (69-99 are 1900s, 00-68 2000s); a decimal comma
is not read ("3,5" is 3 and 5, "3,500" is 3500); scale letters that are also units ("5m",
"5k") ground both the scaled and the bare number. Number words cover zero to ninety-nine,
"a"/"one" to "nine" hundred, and those followed by thousand, million or billion; not
ordinals, fractions or "two hundred fifty".

Usage::

    mentions = Mentions("I borrowed $200,000 at 3.5% on March 5, 2024")
    mentions.grounds(200000)                        # True
    mentions.grounds(0.035, "interest_rate")        # True: a rate, 3.5 %
    mentions.grounds("2024-03-05")                  # True
    mentions.grounds(20000)                         # False
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = ["Mentions", "groundable", "normalize_text", "percent_hint"]

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
# Scanners start with a digit so the regex engine can skip ahead; what may stand before the
# digits (sign, currency) is matched backwards from them, what may follow (exponent, scale,
# percent) forwards.
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


def _read_numbers(text: str) -> tuple[set[Decimal], set[Decimal]]:
    """Every number ``text`` (normalized) writes with digits, and those written as percent."""
    numbers: set[Decimal] = set()
    percents: set[Decimal] = set()
    for _, _, found, pct in _scan_numbers(text):
        numbers.update(found)
        if pct:
            percents.add(found[0])
    return numbers, percents


_NUMBER_SHAPE = re.compile(r"[-+ a-z$€£¥₹₩]{0,14}[0-9][0-9., ]*(?:e[-+]?[0-9]+)?[ a-z%]*")


def _whole_number(value: str) -> NumberSpan | None:
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


def _read_number_words(text: str, words: frozenset[str]) -> set[Decimal]:
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


def _decimal(value: int | float) -> Decimal | None:
    try:
        d = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    except (ValueError, ArithmeticError):
        return None
    return d if d.is_finite() else None


_PERCENT_WORDS = frozenset({"rate", "rates", "percent", "percents", "percentage", "pct"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def percent_hint(hint: str) -> bool:
    """True when a parameter's name and description (``hint``) say rate or percent, so a
    value may be written as a fraction or as a percentage."""
    if "%" in hint:
        return True
    words = re.split(r"[^a-z]+", _CAMEL.sub(r"\1 \2", hint).lower())
    return not _PERCENT_WORDS.isdisjoint(words)


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
_CLOCK = re.compile(
    r"(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?::\d{2}(?:\.\d+)?)?"
    r"(?: ?(?P<ap>am|pm|a\.m\.?|p\.m\.?|o'clock))?(?![0-9a-z:])"
)
_DATETIME = re.compile(
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


def _scan_dates(text: str) -> Iterator[DateSpan]:
    yield from _numeric_dates(text)
    yield from _month_dates(text)


def _whole_date(value: str) -> list[DateReading]:
    """The readings of ``value`` (normalized) if it is one date and nothing else."""
    if _YEAR_MONTH.fullmatch(value):
        year, month = re.split(r"[-/]", value)
        reading: DateReading = (int(year), int(month), None)
        return [reading] if _valid(reading) else []
    for start, end, readings in _scan_dates(value):
        if start == 0 and end == len(value):
            return readings
    return []


def _clock(m: re.Match[str], twelve_hour: bool) -> list[tuple[int, int]]:
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


def _read_times(text: str) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for m in _CLOCK.finditer(text):
        if not m.start() or text[m.start() - 1] not in "0123456789:.":
            out.update(_clock(m, True))
    if "noon" in text:
        out.add((12, 0))
    if "midnight" in text:
        out.add((0, 0))
    return out


# --- codes ----------------------------------------------------------------------------------

# "code name|name|symbol", entries separated by ";" or new lines. A code may appear in
# several tables (``ca``: California, Canada); any of its names then states it.
_CURRENCIES = """
usd dollar|us dollar|u.s. dollar|american dollar|$|us$; eur euro|€
gbp pound|british pound|pound sterling|sterling|£; jpy yen|japanese yen|¥
cny yuan|chinese yuan|renminbi|rmb; inr rupee|indian rupee|₹; cad canadian dollar
aud australian dollar; nzd new zealand dollar; hkd hong kong dollar; sgd singapore dollar
chf swiss franc; mxn mexican peso|peso; krw korean won|south korean won|₩
rub ruble|rouble|russian ruble; brl brazilian real|reais; zar rand|south african rand
sek swedish krona|swedish kronor; nok norwegian krone|norwegian kroner
dkk danish krone|danish kroner; try turkish lira
"""
_LANGUAGES = """
en english; es spanish|español; fr french|français; de german|deutsch; it italian
pt portuguese; nl dutch; ru russian; zh chinese|mandarin; ja japanese; ko korean
ar arabic; hi hindi; tr turkish; pl polish; sv swedish; el greek; he hebrew
vi vietnamese; th thai; uk ukrainian; sw swahili
"""
_REGIONS = """
al alabama; ak alaska; az arizona; ar arkansas; ca california; co colorado
ct connecticut; de delaware; fl florida; ga georgia; hi hawaii; id idaho; il illinois
in indiana; ia iowa; ks kansas; ky kentucky; la louisiana; me maine; md maryland
ma massachusetts; mi michigan; mn minnesota; ms mississippi; mo missouri; mt montana
ne nebraska; nv nevada; nh new hampshire; nj new jersey; nm new mexico; ny new york
nc north carolina; nd north dakota; oh ohio; ok oklahoma; or oregon; pa pennsylvania
ri rhode island; sc south carolina; sd south dakota; tn tennessee; tx texas; ut utah
vt vermont; va virginia; wa washington; wv west virginia; wi wisconsin; wy wyoming
dc district of columbia|washington
on ontario; qc quebec; bc british columbia; ab alberta; nsw new south wales
us united states|america|usa; usa united states|america|us; uk united kingdom|britain|england
gb united kingdom|great britain|britain|england; ca canada; mx mexico; br brazil
ar argentina; cl chile; co colombia; pe peru; fr france; de germany; es spain; it italy
pt portugal; nl netherlands|holland; be belgium; ch switzerland; at austria; se sweden
no norway; dk denmark; fi finland; ie ireland; pl poland; gr greece; tr turkey
ru russia; ua ukraine; cn china; jp japan; kr korea|south korea; in india; id indonesia
th thailand; vn vietnam; my malaysia; sg singapore; ph philippines; au australia
nz new zealand; za south africa; ke kenya; ng nigeria; eg egypt; ma morocco
ae united arab emirates|uae|dubai; sa saudi arabia; il israel
"""


def _table(*tables: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for entry in (e.strip() for t in tables for line in t.splitlines() for e in line.split(";")):
        if entry:
            code, names = entry.split(" ", 1)
            out[code] = (*out.get(code, ()), *names.split("|"))
    return out


_CODES = _table(_CURRENCIES, _LANGUAGES, _REGIONS)
"""ISO 4217 currency, ISO 639-1 language, US state and ISO 3166 country codes -> the
names and symbols that state them (a plural "s" is allowed, as for every word)."""
_REGION_CODES = _table(_REGIONS)
_REGION_NAMES = frozenset(name for names in _REGION_CODES.values() for name in names)
_AFTER_PLACE = re.compile(r",? ([a-z][a-z .]{1,30})")

_LIST_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b)\s*")
_TEXT_WORD = re.compile(r"[^\W_]{3,}")


def _is_word_char(ch: str) -> bool:
    # Latin letters and digits bound words; scripts without spaces (CJK, ...) do not.
    return ch.isalnum() and ord(ch) < 0x250


def _find_bounded(text: str, needle: str) -> bool:
    """``needle`` occurs in ``text`` as a whole word or phrase (plural endings allowed)."""
    if not needle:
        return False
    left = _is_word_char(needle[0])
    right = _is_word_char(needle[-1])
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        if (not left or start == 0 or not _is_word_char(text[start - 1])) and (
            not right or _bounded_end(text, end)
        ):
            return True
        start = text.find(needle, start + 1)
    return False


def _bounded_end(text: str, end: int) -> bool:
    for suffix in ("", "s", "es", "'s"):
        stop = end + len(suffix)
        if text.startswith(suffix, end) and (stop == len(text) or not _is_word_char(text[stop])):
            return True
    return False


class Mentions:
    """What one text mentions, read lazily (each kind once) to match many values against.

    ``text`` is the normalized text; numbers, dates, times and words are read from it the
    first time a value needs them, so an event whose values are all plain strings pays for
    string searches only.
    """

    __slots__ = ("_dates", "_numbers", "_percents", "_times", "_word_numbers", "_words", "text")

    def __init__(self, text: str) -> None:
        self.text = normalize_text(text)
        self._numbers: set[Decimal] | None = None
        self._percents: set[Decimal] = set()
        self._word_numbers: set[Decimal] | None = None
        self._dates: set[DateReading] | None = None
        self._times: set[tuple[int, int]] | None = None
        self._words: frozenset[str] | None = None

    def __repr__(self) -> str:
        kinds = ("numbers", "word_numbers", "dates", "times", "words")
        read = [k for k in kinds if getattr(self, f"_{k}") is not None]
        return f"<Mentions {len(self.text)} chars, read: {', '.join(read) or 'nothing yet'}>"

    def numbers(self) -> set[Decimal]:
        """Numbers written with digits (any sign, separator, currency, scale or percent)."""
        if self._numbers is None:
            self._numbers, self._percents = _read_numbers(self.text)
        return self._numbers

    def percents(self) -> set[Decimal]:
        """The numbers written as a percentage ("15%" -> 15)."""
        self.numbers()
        return self._percents

    def word_numbers(self) -> set[Decimal]:
        """Numbers written in words ("twenty-five", "two hundred", "five thousand")."""
        if self._word_numbers is None:
            self._word_numbers = _read_number_words(self.text, self.words())
        return self._word_numbers

    def dates(self) -> set[DateReading]:
        """Every reading of every date written (numeric, ISO or with a month name)."""
        if self._dates is None:
            self._dates = {r for _, _, readings in _scan_dates(self.text) for r in readings}
        return self._dates

    def times(self) -> set[tuple[int, int]]:
        """``(hour, minute)`` of every clock time written."""
        if self._times is None:
            self._times = _read_times(self.text)
        return self._times

    def words(self) -> frozenset[str]:
        """The words (runs of letters and digits) of three or more characters."""
        if self._words is None:
            self._words = frozenset(_TEXT_WORD.findall(self.text))
        return self._words

    def grounds(self, value: Any, hint: str = "") -> bool:
        """True when the text states ``value`` (a string, number or list of them);
        ``hint`` is the parameter's name and description (see :func:`percent_hint`)."""
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, int | float):
            d = _decimal(value)
            return d is not None and self._number(d, hint, percent=False)
        if isinstance(value, str):
            return self._string(normalize_text(value), hint, split=True)
        if isinstance(value, list):
            return bool(value) and all(self.grounds(v, hint) for v in value)
        return False

    def _number(self, d: Decimal, hint: str, *, percent: bool) -> bool:
        numbers = self.numbers()
        if d in numbers:
            return True
        if (percent or percent_hint(hint)) and (
            d * 100 in self.percents() or (abs(d) >= 1 and d / 100 in numbers)
        ):
            return True
        return d == d.to_integral_value() and 0 <= d < 10**12 and d in self.word_numbers()

    def _string(self, value: str, hint: str, *, split: bool) -> bool:
        if _find_bounded(self.text, value):
            return True
        if any(ch.isdigit() for ch in value) and self._formatted(value, hint):
            return True
        aliases = _CODES.get(value)
        if aliases is not None and any(_find_bounded(self.text, a) for a in aliases):
            return True
        if split:
            parts = [p for p in _LIST_SPLIT.split(value) if p]
            if len(parts) >= 2 and all(self._string(p, hint, split=False) for p in parts[:-1]):
                last = parts[-1]
                if self._string(last, hint, split=False) or self._region_unstated(parts[-2], last):
                    return True
            words = _TEXT_WORD.findall(value)
            if len(words) >= 3:
                present = self.words()
                return sum(w in present for w in words) >= 0.8 * len(words)
        return False

    def _region_unstated(self, place: str, region: str) -> bool:
        """A place's trailing region ("San Francisco, CA") that the query leaves out: APIs
        ask for it by convention, so only a different region after the place refutes it."""
        if region not in _REGION_CODES and region not in _REGION_NAMES:
            return False
        at = self.text.find(place)
        after = _AFTER_PLACE.match(self.text, at + len(place)) if at >= 0 else None
        if after is None:
            return True
        words = after[1]
        own = {region, *_REGION_CODES.get(region, ())}
        named = {n for n in _REGION_NAMES if words.startswith(n) and _bounded_end(words, len(n))}
        return not named or bool(named & own)

    def _formatted(self, value: str, hint: str) -> bool:
        """A string that is wholly a number, date, date-time or time, matched by value."""
        if (number := _whole_number(value)) is not None:
            _, _, found, pct = number
            return any(self._number(d, hint, percent=pct) for d in found)
        if (m := _DATETIME.fullmatch(value)) is not None:
            clock = _CLOCK.fullmatch(m["time"])
            at = _clock(clock, False) if clock else []
            return self._date(_whole_date(m["date"])) and (
                not at or at[0] == (0, 0) or at[0] in self.times()
            )
        if readings := _whole_date(value):
            return self._date(readings)
        if (clock := _CLOCK.fullmatch(value)) is not None:
            return any(t in self.times() for t in _clock(clock, False))
        return False

    def _date(self, readings: list[DateReading]) -> bool:
        stated = self.dates()
        for year, month, day in readings:
            for sy, sm, sd in stated:
                if sm == month and (sd == day or day is None) and (sy is None or sy == year):
                    return True
        return False


def _hint(name: str, schema: Mapping[str, Any]) -> str:
    description = schema.get("description")
    return f"{name} {description}" if isinstance(description, str) else name


def groundable(value: Any, schema: Any, name: str = "") -> list[tuple[Any, str]]:
    """The values of one argument that grounding looks for, as ``(value, hint)``: strings of
    two or more characters and numbers, outside enums (an enum value need not be quoted),
    recursing into lists (items) and objects (properties). ``hint`` is the innermost
    parameter's name and description."""
    return list(_groundable(value, schema if isinstance(schema, Mapping) else {}, name))


def _groundable(value: Any, schema: Mapping[str, Any], name: str) -> Iterator[tuple[Any, str]]:
    if "enum" in schema or isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        if len(value.strip()) >= 2:
            yield value, _hint(name, schema)
    elif isinstance(value, int | float):
        yield value, _hint(name, schema)
    elif isinstance(value, list):
        items = schema.get("items")
        sub: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
        if "description" not in sub and isinstance(schema.get("description"), str):
            sub = {**sub, "description": schema["description"]}  # a list of rates is rates
        for v in value:
            yield from _groundable(v, sub, name)
    elif isinstance(value, dict):
        found = schema.get("properties")
        props: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        for k, v in value.items():
            prop = props.get(k)
            yield from _groundable(v, prop if isinstance(prop, Mapping) else {}, str(k))
