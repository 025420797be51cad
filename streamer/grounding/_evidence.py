"""Evidence against calls: what a query says that its calls contradict or ignore.

Grounding (:mod:`._grounding`) asks whether the query states each argument value. When it
does not, two explanations remain that no rule can tell apart: the value is wrong (made
up, changed, from another request), or it is knowledge the query relies on without saying
it (a deck has 52 cards, "Shape of You" is by Ed Sheeran, a high rating is 4.5). This module
looks for positive evidence of the first, of two kinds:

==================  =======================================================================
evidence            meaning
==================  =======================================================================
unused statement    the query states a value the calls do not use: a number ("ID 3726"), a
                    quoted phrase ("'Theft'"), a capitalized name that does not start a
                    sentence ("Los Angeles Lakers"); used means some argument value is
                    grounded by the statement, or the statement by the argument values
                    (either way in every written form grounding reads: "15%" is used by
                    ``rate=0.15``, "Bangkok" by a code documented "1 for Bangkok"); a
                    name or quoted phrase counts as used, too, when an argument is an opaque
                    code the query does not write (2 to 8 capitals and digits: ``EDDF``,
                    ``AAPL``, ``KATL``), since a standard code may stand for a name
                    ("Frankfurt Airport") in a way no rule reads; not in a parameter whose
                    name says id or key (``case_id='LC12345'``): a database's identifier is
                    nobody's knowledge
unnamed function    a called function's name shares no word with the query, apart from
                    generic verbs and connectors (``get``, ``find``, ``calculate``, ``by``):
                    "Find lawyers in New York" does not name ``car_rental``
==================  =======================================================================

Reading statements is deliberately greedy (any number, any capitalized word inside a
sentence): a statement read by mistake can only make evidence, so its cost is a reject the
rules would have made anyway, never a wrong value let through. For the same reason a record
with more than :data:`MAX_PAIRS` statement-value pairs is not weighed: its size counts as
evidence. With no evidence the rules cannot decide; without a judge, ``apigen check``
reports such a call ``unverified`` (see :mod:`streamer.stages._semantic`).

Usage::

    evidence_against("ID 3726", [Call("get_service_providers", {"province_id": 1})], tools)
    # "the query states 3726, which no argument uses; ..."
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from topics import Call, Tool

from ._documented import is_documented_default
from ._grounding import Mentions, argument_values
from ._written import normalize_text, number_spans

__all__ = ["MAX_PAIRS", "evidence_against", "unnamed_functions", "unused_statements"]

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_QUOTED = re.compile(r"""(?:^|(?<=[\s(\[{:=,]))(["'])(.{2,200}?)\1(?=$|[\s.,;:!?)\]}])""")
_NAME = re.compile(r"[A-Z][\w'.&-]*(?: (?:(?:of|the|de|du|da|von|van|and|&) )?[A-Z][\w'.&-]*)*")
_AFTER_STOP = re.compile(r"(?<=\.) ")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s|\n)[\s\"'(\[*-]*\Z")
_PRONOUNS = frozenset({"i", "i'm", "i'd", "i've", "i'll"})
_TRAILING = "'.&-"

_NAME_WORD = re.compile(r"[a-z][a-z0-9]*")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
# Words of function names that say how, not what: they name no subject a query could state.
_GENERIC = frozenset(
    re.findall(
        r"\w+",
        "get set find search lookup look calc calculate compute fetch retrieve list create make"
        " run check do perform query request api info information data details detail by for"
        " of the to and from with in on new all tool tools function func handler v1 v2 v3",
    )
)
_CODE = re.compile(r"(?=[A-Z0-9]*[A-Z])[A-Z0-9]{2,8}")
_IDENTIFIER_WORDS = frozenset({"id", "ids", "identifier", "uuid", "guid", "key", "pk"})
_SHOWN = 3
MAX_PAIRS = 2_000
"""Statement-value pairs :func:`evidence_against` weighs at most: each is a grounding
question (up to some 80 us), so a hostile record (thousands of names against thousands of
values) would cost minutes. A larger record counts as evidence against its calls, so
APIGen's reject applies to it. Real records stay far below: on the BFCL and glaive files
the median is 6 pairs, the largest 1,764."""


def _abbreviation(word: str) -> bool:
    """ "Mr.", "St.", "Inc.", "F.C.": a full stop that need not end a sentence."""
    stem = word.rstrip(".")
    return len(stem) <= 3 or "." in stem


def _names(query: str) -> Iterator[str]:
    """Capitalized word runs, the first word dropped where it starts a sentence. A run is
    cut after a word that ends in a full stop: after "Louvre." a sentence starts, after an
    abbreviation ("F.C. Include", "Mr. Smith") it may not, and what follows is kept whole."""
    for m in _NAME.finditer(query):
        pieces = _AFTER_STOP.split(m[0])
        for n, piece in enumerate(pieces):
            words = piece.split(" ")
            start = m.start()
            if (n == 0 and _SENTENCE_START.search(query, max(0, start - 16), start)) or (
                n > 0 and not _abbreviation(pieces[n - 1].split(" ")[-1])
            ):
                words = words[1:]
                while words and not words[0][:1].isupper():  # "Find the Louvre": a connector
                    words = words[1:]
            name = " ".join(words).rstrip(_TRAILING)
            if name.endswith("'s"):
                name = name[:-2]
            if len(name) >= 2 and name.casefold() not in _PRONOUNS:
                yield name


def _statements(query: str) -> Iterator[tuple[str, list[Decimal]]]:
    """What ``query`` states as values: ``(text, readings)``, readings for numbers only."""
    plain = query.translate(_QUOTES)
    for m in _QUOTED.finditer(plain):
        yield m[2], []
    for name in _names(plain):
        yield name, []
    text = normalize_text(query)
    for start, end, readings, _ in number_spans(text):
        yield text[start:end], readings


def _arguments(calls: Sequence[Call], tools: Sequence[Tool]) -> list[tuple[Any, str]]:
    schemas = {t.name: t.parameters.get("properties", {}) for t in tools}
    out: list[tuple[Any, str]] = []
    for call in calls:
        props = schemas.get(call.name, {})
        props = props if isinstance(props, Mapping) else {}
        for name, value in call.arguments.items():
            prop = props.get(name)
            out += argument_values(value, prop, name)
    return out


def _opaque(value: Any, hint: str) -> bool:
    """A standard code such as ``EDDF`` or ``AAPL`` (what it names, no written form reads),
    in a parameter (the first word of ``hint``) that is no identifier."""
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        return False
    name = _CAMEL.sub(r"\1 \2", hint.split(" ", 1)[0]).lower()
    return _IDENTIFIER_WORDS.isdisjoint(_NAME_WORD.findall(name))


def _number(reading: Decimal) -> int | float:
    return int(reading) if reading == reading.to_integral_value() else float(reading)


def unused_statements(query: str, calls: Sequence[Call], tools: Sequence[Tool]) -> list[str]:
    """The values ``query`` states that no argument of ``calls`` uses, in query order."""
    return _unused(query, list(_statements(query)), _arguments(calls, tools))


def _unused(
    query: str, statements: list[tuple[str, list[Decimal]]], leaves: list[tuple[Any, str]]
) -> list[str]:
    written = Mentions(" ; ".join(str(v) for v, _ in leaves))
    # a documented default is grounded by any text: it uses no statement
    chosen = [(v, hint) for v, hint in leaves if not is_documented_default(v, hint)]
    mentions = Mentions(query)
    coded = any(_opaque(v, hint) and not mentions.grounds(v) for v, hint in leaves)
    unused: list[str] = []
    for text, readings in statements:
        if coded and not readings:
            continue
        said = Mentions(text)
        if any(said.grounds(v, hint) for v, hint in chosen):
            continue
        if readings and any(written.grounds(_number(r)) for r in readings if r.is_finite()):
            continue
        if not readings and written.grounds(text):
            continue
        if text not in unused:
            unused.append(text)
    return unused


def unnamed_functions(query: str, calls: Sequence[Call]) -> list[str]:
    """The called functions whose name has no word, other than generic ones, in ``query``."""
    mentions = Mentions(query)
    unnamed: list[str] = []
    for name in dict.fromkeys(c.name for c in calls):
        words = _NAME_WORD.findall(_CAMEL.sub(r"\1 \2", name).lower())
        subject = [w for w in words if len(w) >= 3 and w not in _GENERIC]
        if not any(mentions.grounds(w) for w in subject):
            unnamed.append(name)
    return unnamed


def evidence_against(query: str, calls: Sequence[Call], tools: Sequence[Tool]) -> str | None:
    """Why ``query`` speaks against ``calls`` (a message naming what), or None when it
    states nothing the calls leave unused and names every called function."""
    statements, leaves = list(_statements(query)), _arguments(calls, tools)
    if len(statements) * len(leaves) > MAX_PAIRS:
        return (
            f"{len(statements)} statements of the query and {len(leaves)} argument values are"
            f" more than {MAX_PAIRS:,} pairs to weigh"
        )
    found: list[str] = []
    unused = _unused(query, statements, leaves)
    if unused:
        shown = ", ".join(repr(s) for s in unused[:_SHOWN])
        more = f" (and {len(unused) - _SHOWN} more)" if len(unused) > _SHOWN else ""
        found.append(f"the query states {shown}{more}, which no argument uses")
    unnamed = unnamed_functions(query, calls)
    if unnamed:
        found.append(f"the query names no word of {', '.join(unnamed[:_SHOWN])}")
    return "; ".join(found) or None
