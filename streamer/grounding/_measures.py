"""Quantities with units, read in the SI base unit too, and ordinal words.

Queries give measures in the unit they think in ("50mH", "100 µF", "500 grams", "80 cc");
APIs ask for base units (henries, farads, kilograms, cubic metres). :func:`read_measures`
returns every number written before a unit it knows, converted to the base unit: 50 mH is
0.05 (H), 500 grams 0.5 (kg), 80 cc 0.00008 (m³), 5 km 5000 (m), 250 ms 0.25 (s). The
number as written is read by the ordinary number reader; this adds the converted one.

:func:`read_ordinals` reads "first" .. "tenth" and "1st", "2nd", ... as 1, 2, ...; the
grounding rule uses them for positions ("the second item" is index 1 when the parameter is
zero-based, 2 otherwise).
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["read_measures", "read_ordinals"]

# unit (normalized, singular) -> factor to the SI base unit (kg for masses).
_FACTORS: dict[str, Decimal] = {
    **dict.fromkeys(("mh", "millihenry", "millihenries"), Decimal("1e-3")),
    **dict.fromkeys(("µh", "μh", "uh", "microhenry", "microhenries"), Decimal("1e-6")),
    **dict.fromkeys(("mf", "millifarad", "millifarads"), Decimal("1e-3")),
    **dict.fromkeys(("µf", "μf", "uf", "microfarad", "microfarads"), Decimal("1e-6")),
    **dict.fromkeys(("nf", "nanofarad", "nanofarads"), Decimal("1e-9")),
    **dict.fromkeys(("pf", "picofarad", "picofarads"), Decimal("1e-12")),
    **dict.fromkeys(("mg", "milligram", "milligrams"), Decimal("1e-6")),
    **dict.fromkeys(("g", "gram", "grams"), Decimal("1e-3")),
    **dict.fromkeys(("t", "tonne", "tonnes"), Decimal("1e3")),
    **dict.fromkeys(("cc", "cm3", "cm³", "ml", "milliliter", "milliliters", "millilitre",
                     "millilitres"), Decimal("1e-6")),
    **dict.fromkeys(("l", "liter", "liters", "litre", "litres"), Decimal("1e-3")),
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"),
                    Decimal("1e-3")),
    **dict.fromkeys(("cm", "centimeter", "centimeters", "centimetre", "centimetres"),
                    Decimal("1e-2")),
    **dict.fromkeys(("km", "kilometer", "kilometers", "kilometre", "kilometres"), Decimal(1000)),
    **dict.fromkeys(("ms", "millisecond", "milliseconds"), Decimal("1e-3")),
    **dict.fromkeys(("µs", "μs", "us", "microsecond", "microseconds"), Decimal("1e-6")),
    **dict.fromkeys(("khz", "kilohertz"), Decimal(1000)),
    **dict.fromkeys(("mhz", "megahertz"), Decimal("1e6")),
    **dict.fromkeys(("ghz", "gigahertz"), Decimal("1e9")),
    **dict.fromkeys(("kw", "kilowatt", "kilowatts"), Decimal(1000)),
    **dict.fromkeys(("kj", "kilojoule", "kilojoules"), Decimal(1000)),
    **dict.fromkeys(("kpa", "kilopascal", "kilopascals"), Decimal(1000)),
    **dict.fromkeys(("ma", "milliamp", "milliamps", "milliampere", "milliamperes"),
                    Decimal("1e-3")),
    **dict.fromkeys(("mv", "millivolt", "millivolts"), Decimal("1e-3")),
    **dict.fromkeys(("kv", "kilovolt", "kilovolts"), Decimal(1000)),
}  # fmt: skip
_UNIT_WORDS = "|".join(sorted(map(re.escape, _FACTORS), key=len, reverse=True))
_MEASURE = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?) ?({_UNIT_WORDS})(?![\w])")

_ORDINAL_WORDS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
]
_ORDINAL = re.compile(
    rf"\b(?:(?P<word>{'|'.join(_ORDINAL_WORDS)})|(?P<n>\d{{1,3}})(?:st|nd|rd|th))\b"
)


def read_measures(text: str) -> set[Decimal]:
    """Every number of ``text`` (normalized) written before a known unit, in base units."""
    if not any(ch.isdigit() for ch in text):
        return set()
    return {(Decimal(m[1]) * _FACTORS[m[2]]).normalize() for m in _MEASURE.finditer(text)}


def read_ordinals(text: str) -> set[int]:
    """The positions ``text`` (normalized) names: "second" and "2nd" are 2."""
    return {
        _ORDINAL_WORDS.index(m["word"]) + 1 if m["word"] else int(m["n"])
        for m in _ORDINAL.finditer(text)
    }
