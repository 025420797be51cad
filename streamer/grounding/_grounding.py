"""Grounding: does a text (the query) state an argument value, in any common written form?

The semantic rules and the simulated judge ask this of every argument value. Both sides
are normalized first (NFKC, curly quotes and dashes made plain, case folded, whitespace
collapsed); then a value is grounded when the query states it as follows.

=============  ===========================================================================
value          grounded by
=============  ===========================================================================
string         the same text as a whole word or phrase (``"cat"`` is not in "category";
               a trailing ``s``/``es``/``'s`` is allowed either side: "tomatoes" grounds
               ``"tomato"``, "a heart" grounds ``"hearts"``; quotes around the value count
               for nothing;
               scripts without spaces, e.g. CJK, match anywhere), or by any rule below
               that the string's own form selects (a number, date, time, code, list)
number         the same number in any supported form: ``200000`` by "200000", "200,000",
               "200 000", "$200,000", "USD 200000", "200k", "0.2M"; ``5`` by "5.0",
               "5.00", "five"; signs must agree ("-5" does not ground ``5``); digits
               must not continue ("2000" does not ground ``20``)
percent/rate   when the parameter's name or description names a quantity given in
               percent (rate, percent, percentage, pct, ratio, fraction, proportion,
               share, yield, return, interest, discount, tax, tip, growth, probability,
               contribution, efficiency; or has ``%``): ``0.15`` by "15%" / "15 percent",
               and ``15`` by "0.15"; always ``15`` by "15%"
date           ``"2024-03-05"`` by "March 5, 2024", "Mar 5th 2024", "5 March 2024",
               "5th of March, 2024", "2024/03/05", "03/05/2024", "05.03.2024"; a date
               written without a year ("March 5") grounds that day in any year; a month
               ("March 2024") grounds ``"2024-03"``
time           ``"10:00"`` by "10 am", "10:00 AM", "10 o'clock"; ``"15:30"`` by "3:30 pm";
               a clock time without am/pm ("at 3:00") grounds both ``03:00`` and ``15:00``;
               a date-time grounds when its date does and its time is midnight or stated
code           ISO currency and language codes by their names or symbols: ``"USD"`` by
               "dollars" or "$", ``"JPY"`` by "Japanese yen", ``"es"`` by "Spanish"
formula        the same expression up to spaces around operators, ``**`` for ``^`` and
               ``*`` between a number and a letter: ``"3*x**2 - 1"`` by "3x^2-1"
list           each element grounded; a string ``"a, b and c"`` when each part is
free text      a string of three or more words of three or more letters, when at least
               80 % of those words are in the query ("Discuss the new proposal ...")
=============  ===========================================================================

Not looked for (:func:`groundable` leaves them out, as it leaves out enum values, booleans
and one-character strings): values a query names only indirectly, which its words cannot
confirm or refute — a ticker symbol (an upper-case code in a ``symbol``/``ticker``
parameter: "Apple" means ``AAPL``) and coordinates (numbers in ``latitude``/``longitude``
parameters: "Paris" means 48.8566). Whether they are right is the judge's question.

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

import itertools
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ._documented import code_meanings, is_documented_default, labelled_parts
from ._measures import read_measures, read_ordinals
from ._places import CITY_NAMES, near_word, zone_city
from ._written import (
    CLOCK,
    DATETIME,
    DateReading,
    clock_readings,
    normalize_text,
    read_number_words,
    read_numbers,
    read_times,
    scan_dates,
    to_decimal,
    whole_date,
    whole_number,
)

__all__ = ["Mentions", "argument_values", "groundable", "normalize_text", "percent_hint"]

# Quantities that queries give as percentages (a "5%" return is a return of 0.05).
_PERCENT_WORDS = frozenset(
    re.findall(
        r"\w+",
        "rate rates percent percents percentage percentages pct ratio fraction proportion share"
        " yield return returns interest discount tax tip growth probability contribution"
        " contributions efficiency",
    )
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def percent_hint(hint: str) -> bool:
    """True when a parameter's name and description (``hint``) say rate or percent, so a
    value may be written as a fraction or as a percentage."""
    if "%" in hint:
        return True
    words = re.split(r"[^a-z]+", _CAMEL.sub(r"\1 \2", hint).lower())
    return not _PERCENT_WORDS.isdisjoint(words)


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

_OPERATORS = re.compile(r"[-+*/=^]")
_AROUND_OPERATORS = re.compile(r" ?([-+*/=^<>()]) ?")
_IMPLICIT_TIMES = re.compile(r"(?<=[0-9)])\*(?=[a-z(])")


def _formula(text: str) -> str:
    """``3*x**2 - 1`` -> ``3x^2-1``: one way to write a formula."""
    text = _AROUND_OPERATORS.sub(r"\1", text.replace("**", "^"))
    return _IMPLICIT_TIMES.sub("", text)


def _plain_number(text: str, value: int | float) -> bool:
    """``value`` written as it prints ("30", "0.035", "-5") with nothing beside it that could
    make it part of another number: no sign, letter, digit, decimal point or digit group
    before, no digit, letter or decimals after. When unsure, False: the full reading
    decides."""
    needle = str(value) if isinstance(value, int) else repr(value)
    if "e" in needle or "n" in needle:  # 1e+16, nan, inf: the full reading decides
        return False
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = text[start - 1] if start else " "
        after = text[end : end + 2]
        clear_before = not (before.isalnum() or before in "-+.,")
        clear_after = not after or not (
            after[0].isalnum() or (after[0] in ".," and after[1:2].isdigit())
        )
        if clear_before and clear_after:
            return True
        start = text.find(needle, start + 1)
    return False


def _find_formula(text: str, formula: str) -> bool:
    """``formula`` in ``text`` as a whole: not a term of a longer one ("2x^3" is not in
    "2x^3-3x^2")."""
    start = text.find(formula)
    while start >= 0:
        end = start + len(formula)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "-+*/^.") and not (
            after.isalnum() or after in "-+*/^"
        ):
            return True
        start = text.find(formula, start + 1)
    return False


_PLURAL = re.compile(r"[a-z]{3,}s")
_ANY_WORD = re.compile(r"[^\W_]+")
_GENERIC = frozenset({"service", "services", "type", "types", "item", "items", "option"})
_POSITION = re.compile(r"\b(?:index|position|rank|nth|ordinal)")
_ZERO_BASED = re.compile(r"\b(?:zero|0)[- ]?(?:based|indexed)\b")
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

    __slots__ = (
        "_dates",
        "_formulas",
        "_measures",
        "_numbers",
        "_percents",
        "_times",
        "_word_list",
        "_word_numbers",
        "_words",
        "text",
    )

    def __init__(self, text: str) -> None:
        self.text = normalize_text(text)
        self._numbers: set[Decimal] | None = None
        self._percents: set[Decimal] = set()
        self._word_numbers: set[Decimal] | None = None
        self._dates: set[DateReading] | None = None
        self._times: set[tuple[int, int]] | None = None
        self._words: frozenset[str] | None = None
        self._formulas: str | None = None
        self._measures: set[Decimal] | None = None
        self._word_list: list[str] | None = None

    def __repr__(self) -> str:
        kinds = ("numbers", "word_numbers", "dates", "times", "words")
        read = [k for k in kinds if getattr(self, f"_{k}") is not None]
        return f"<Mentions {len(self.text)} chars, read: {', '.join(read) or 'nothing yet'}>"

    def numbers(self) -> set[Decimal]:
        """Numbers written with digits (any sign, separator, currency, scale or percent)."""
        if self._numbers is None:
            self._numbers, self._percents = read_numbers(self.text)
        return self._numbers

    def percents(self) -> set[Decimal]:
        """The numbers written as a percentage ("15%" -> 15)."""
        self.numbers()
        return self._percents

    def word_numbers(self) -> set[Decimal]:
        """Numbers written in words ("twenty-five", "two hundred", "five thousand")."""
        if self._word_numbers is None:
            self._word_numbers = read_number_words(self.text, self.words())
        return self._word_numbers

    def dates(self) -> set[DateReading]:
        """Every reading of every date written (numeric, ISO or with a month name)."""
        if self._dates is None:
            self._dates = {r for _, _, readings in scan_dates(self.text) for r in readings}
        return self._dates

    def times(self) -> set[tuple[int, int]]:
        """``(hour, minute)`` of every clock time written."""
        if self._times is None:
            self._times = read_times(self.text)
        return self._times

    def formulas(self) -> str:
        """The text with formulas written one way (see :func:`_formula`)."""
        if self._formulas is None:
            self._formulas = _formula(self.text)
        return self._formulas

    def measures(self) -> set[Decimal]:
        """Numbers written with a unit, in the base unit ("50 mH" -> 0.05)."""
        if self._measures is None:
            self._measures = read_measures(self.text)
        return self._measures

    def word_list(self) -> list[str]:
        """Every word (run of letters and digits), in order."""
        if self._word_list is None:
            self._word_list = _ANY_WORD.findall(self.text)
        return self._word_list

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
        if "efault" in hint and is_documented_default(value, hint):  # [Dd]efault
            return True  # the tool's documentation states it
        if isinstance(value, int | float):
            if self._numbers is None and _plain_number(self.text, value):
                return True  # written as the value prints: no need to read every number
            d = to_decimal(value)
            if d is not None and self._number(d, hint, percent=False):
                return True
            return self._coded(value, hint)
        if isinstance(value, str):
            return self._string(normalize_text(value), hint, split=True)
        if isinstance(value, list):
            if self._range(value, hint):
                return True
            return bool(value) and all(self.grounds(v, hint) for v in value)
        return False

    def _coded(self, value: int | float | str, hint: str) -> bool:
        """A code whose meaning the parameter's description gives ("1 for Bangkok") and the
        text states; or a position ("the second item") of a zero-based index."""
        if isinstance(value, int | str):
            for meaning in code_meanings(value, normalize_text(hint)):
                if self._string(meaning, "", split=False):
                    return True
                head = meaning.split()[0]
                if len(head) >= 4 and head not in _GENERIC and _find_bounded(self.text, head):
                    return True  # "ironing and cleaning services" states "ironing service"
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
            lowered = hint.casefold()
            if _POSITION.search(lowered) is not None:
                zero_based = _ZERO_BASED.search(lowered) is not None
                return value + zero_based in read_ordinals(self.text)
        return False

    def _range(self, values: list[Any], hint: str) -> bool:
        """An arithmetic series whose first and last values and step the text states
        ("from 22 to 80, by 2"), as a list of three or more numbers."""
        if not _series(values):
            return False
        step = values[1] - values[0]
        ends = self.grounds(values[0], hint) and self.grounds(values[-1], hint)
        return ends and (abs(step) == 1 or self.grounds(abs(step), hint))

    def _number(self, d: Decimal, hint: str, *, percent: bool) -> bool:
        numbers = self.numbers()
        if d in numbers or d in self.measures():
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
        if _OPERATORS.search(value) and _find_formula(self.formulas(), _formula(value)):
            return True
        aliases = _CODES.get(value, ()) + CITY_NAMES.get(value, ())
        if aliases and any(_find_bounded(self.text, a) for a in aliases):
            return True
        if (city := zone_city(value)) is not None and self._string(city, "", split=False):
            return True  # "America/New_York" by "New York time"
        if ":" in value and (parts := labelled_parts(value, normalize_text(hint))) is not None:
            return all(self._string(p, hint, split=True) for p in parts)
        if self._coded(value, hint) or self._near(value):
            return True
        if len(value) > 2 and value[0] == value[-1] and value[0] in "'\"":
            return self._string(value[1:-1], hint, split=split)  # "'radium'" is radium
        if split and _PLURAL.fullmatch(value):  # "hearts" by "a heart"
            return _find_bounded(self.text, value[:-1]) or (
                value.endswith("es") and _find_bounded(self.text, value[:-2])
            )
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

    def _near(self, value: str) -> bool:
        """The value's words as a run of the text's words, allowing one typo in each long
        word ("Orlanda" states "Orlando") or, for a name of two or more words, in any order
        ("park ji sung" states "Ji Sung Park")."""
        wanted = _ANY_WORD.findall(value)
        typo = 1 <= len(wanted) <= 12 and any(len(w) >= 6 for w in wanted)
        reorder = 2 <= len(wanted) <= 4 and all(w.isalpha() for w in wanted)
        if not typo and not reorder:
            return False
        words = self.word_list()
        n = len(wanted)
        for i in range(len(words) - n + 1):
            run = words[i : i + n]
            if all(near_word(a, b) for a, b in zip(run, wanted, strict=True)):
                return True
            if reorder and sorted(run) == sorted(wanted):
                return True
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
        if (number := whole_number(value)) is not None:
            _, _, found, pct = number
            return any(self._number(d, hint, percent=pct) for d in found)
        if (m := DATETIME.fullmatch(value)) is not None:
            clock = CLOCK.fullmatch(m["time"])
            at = clock_readings(clock, False) if clock else []
            return self._date(whole_date(m["date"])) and (
                not at or at[0] == (0, 0) or at[0] in self.times()
            )
        if readings := whole_date(value):
            return self._date(readings)
        if (clock := CLOCK.fullmatch(value)) is not None:
            return any(t in self.times() for t in clock_readings(clock, False))
        return False

    def _date(self, readings: list[DateReading]) -> bool:
        stated = self.dates()
        for year, month, day in readings:
            for sy, sm, sd in stated:
                if sm == month and (sd == day or day is None) and (sy is None or sy == year):
                    return True
        return False


def _series(values: list[Any]) -> bool:
    """Three or more integers in steps of one size (22, 24, ..., 80)."""
    if len(values) < 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return False
    step = values[1] - values[0]
    return step != 0 and all(b - a == step for a, b in itertools.pairwise(values))


def _hint(name: str, schema: Mapping[str, Any]) -> str:
    """The parameter's documentation as one text: name, description, default."""
    description = schema.get("description")
    hint = f"{name} {description}" if isinstance(description, str) else name
    default = schema.get("default")
    if isinstance(default, str | int | float) and not isinstance(default, bool):
        hint += f' (default: "{default}")'
    return hint


def groundable(value: Any, schema: Any, name: str = "") -> list[tuple[Any, str]]:
    """The values of one argument that grounding looks for, as ``(value, hint)``: strings of
    two or more characters and numbers, outside enums (an enum value need not be quoted)
    and values the query names only indirectly (tickers, coordinates), recursing into
    lists (items) and objects (properties). ``hint`` is the innermost parameter's name and
    description."""
    return list(_groundable(value, schema if isinstance(schema, Mapping) else {}, name))


_TICKER_NAMES = frozenset({"symbol", "symbols", "ticker", "tickers"})
_COORDINATE_NAMES = frozenset({"latitude", "longitude", "lat", "lon", "lng", "long"})
_COMMAND_NAMES = frozenset({"command", "commands", "cmd", "script", "shell"})
_TICKER = re.compile(r"[A-Z][A-Z0-9.\-]{0,9}")


@lru_cache(maxsize=4096)
def _names(name: str) -> tuple[bool, bool, bool]:
    """Whether a parameter name says ticker, coordinate, command line."""
    words = set(re.split(r"[^a-z0-9]+", _CAMEL.sub(r"\1 \2", name).lower()))
    return (
        not words.isdisjoint(_TICKER_NAMES),
        not words.isdisjoint(_COORDINATE_NAMES),
        not words.isdisjoint(_COMMAND_NAMES),
    )


def _indirect(value: Any, name: str) -> bool:
    """A value the query names only indirectly: a ticker, a coordinate, a command line."""
    ticker, coordinate, command = _names(name)
    if isinstance(value, str):
        return command or (ticker and _TICKER.fullmatch(value) is not None)
    return coordinate and isinstance(value, int | float)


def argument_values(value: Any, schema: Any, name: str = "") -> list[tuple[Any, str]]:
    """Every string and number of one argument as ``(value, hint)``, those
    :func:`groundable` leaves out too (enum values, tickers, one-character strings): what
    the argument says, for asking whether a query's statement is used."""
    return list(_groundable(value, schema if isinstance(schema, Mapping) else {}, name, False))


def _groundable(
    value: Any, schema: Mapping[str, Any], name: str, looked_for: bool = True
) -> Iterator[tuple[Any, str]]:
    if isinstance(value, bool) or value is None:
        return
    if looked_for and ("enum" in schema or _indirect(value, name)):
        return
    if isinstance(value, str):
        if len(value.strip()) >= 2 or not looked_for:
            yield value, _hint(name, schema)
    elif isinstance(value, int | float):
        yield value, _hint(name, schema)
    elif isinstance(value, list) and looked_for and _series(value):
        yield value, _hint(name, schema)  # a range the query gives by its ends and step
    elif isinstance(value, list):
        items = schema.get("items")
        sub: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
        if "description" not in sub and isinstance(schema.get("description"), str):
            sub = {**sub, "description": schema["description"]}  # a list of rates is rates
        for v in value:
            yield from _groundable(v, sub, name, looked_for)
    elif isinstance(value, dict):
        found = schema.get("properties")
        props: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        for k, v in value.items():
            prop = props.get(k)
            sub = prop if isinstance(prop, Mapping) else {}
            yield from _groundable(v, sub, str(k), looked_for)
