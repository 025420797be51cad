"""Values a tool's own documentation states, so the query need not.

Three forms, read from a parameter's schema (``default``) or its description:

==============  =========================================================================
form            example
==============  =========================================================================
default         ``"default": 52`` or "Default is 9.8 m/s^2", "Defaults to 2", "Default is
                'NASDAQ'": a call that passes the default chose nothing the query must
                state, so :func:`is_documented_default` leaves it out of grounding
code            "1 for Bangkok, 2 for Chiang Mai", "'2' represents an ironing service",
                "1 corresponds to Bangkok": the code is grounded when the query states
                what it stands for (:func:`code_meanings`)
labelled text   "formatted as 'track:Song Name artist:Artist Name'": a value made of
                ``label:text`` parts whose labels the description shows is grounded when
                every text part is (:func:`labelled_parts`)
==============  =========================================================================

A code's meaning refutes as much as it confirms: ``province_id=3`` is not grounded by a
query about Bangkok when the description says "1 for Bangkok, 3 for Phuket".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = ["code_meanings", "is_documented_default", "labelled_parts"]

_DEFAULT = re.compile(
    r"\bdefaults?(?: value)?(?: is| to| of|:|=)? *(?:set to )?(?P<q>['\"]?)"
    r"(?P<v>-?[\w.]+(?:[ /][\w.]+)*?)(?P=q)(?=$|[\s.,;)]|')",
    re.IGNORECASE,
)
# "1 for Bangkok", "'1' represents a cleaning service", "1: Bangkok", "1 = Bangkok",
# "1 corresponds to Bangkok", and after one of those "'2' to Chiang Mai".
_CODE = re.compile(
    r"(?<![\w.])(?P<q>['\"]?)(?P<code>[\w-]{1,12})(?P=q) *"
    r"(?:for|represents|means|stands for|corresponds to|is|:|=|(?<=['\"]) to) +"
    r"(?:an? |the )?(?P<meaning>(?![\d-])[^,.;:()'\"]{2,60}?)"
    r"(?=,|\.(?!\d)|;|\)|'|\"| and | or | etc\b|$)",
    re.IGNORECASE,
)
_LABEL = re.compile(r"(?:^|(?<=\s))([a-z_]{2,20}):(?=[^\s/])")


def _same(value: Any, written: str) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() == written.strip().casefold()
    try:
        return Decimal(str(value)) == Decimal(written)
    except (InvalidOperation, ValueError):
        return False


def is_documented_default(value: Any, hint: str) -> bool:
    """True when ``value`` is the default the parameter's documentation ``hint`` names
    ("Default is 52", or the schema's ``default`` as :func:`~._grounding.groundable` writes
    it: ``(default: "52")``)."""
    if isinstance(value, bool) or value is None or not isinstance(value, str | int | float):
        return False
    return any(_same(value, m["v"]) for m in _DEFAULT.finditer(hint))


@lru_cache(maxsize=4096)
def _codes(description: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for m in _CODE.finditer(description):
        meaning = m["meaning"].strip().casefold()
        if meaning:
            code = m["code"].casefold()
            out[code] = (*out.get(code, ()), meaning)
    return out


def code_meanings(value: Any, hint: str) -> tuple[str, ...]:
    """What the description in ``hint`` says ``value`` stands for ("1 for Bangkok" ->
    ``("bangkok",)``), normalized; empty when it documents no meaning for it."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not hint:
        return ()
    key = str(value).strip().casefold()
    if not key or len(key) > 12:
        return ()
    return _codes(hint).get(key, ())


def labelled_parts(value: str, hint: str) -> list[str] | None:
    """The text parts of a ``label:text ...`` value whose every label the description in
    ``hint`` writes the same way (``track:`` in "'track:Song Name artist:Artist Name'");
    None when ``value`` is not of that form. Both are normalized text."""
    labels = list(_LABEL.finditer(value))
    if not labels or labels[0].start() != 0:
        return None
    if any(f"{m[1]}:" not in hint for m in labels):
        return None
    ends = [m.start() for m in labels[1:]] + [len(value)]
    parts = [value[m.end() : end].strip() for m, end in zip(labels, ends, strict=True)]
    return parts if all(parts) else None
