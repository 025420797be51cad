"""What every converter shares: name sanitizing, document loading, the batch report.

Converters turn one catalogue item into one or more :class:`~executors.ApiSpec` and raise
:class:`~executors.SpecError` (document, field, problem) when an item cannot convert. Batch
functions catch those per item and return a :class:`ConversionReport`, so one bad tool never
loses the rest of a file.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .._errors import SpecError
from .._spec import ApiSpec

__all__ = [
    "PYTHON_RESERVED",
    "TOOLBENCH_RESERVED",
    "ConversionReport",
    "Deduper",
    "Rename",
    "clip_name",
    "collect",
    "decode_text",
    "load_document",
    "read_json_lines",
    "sanitize_name",
    "unique_name",
]

_INVALID = re.compile(r"[^A-Za-z0-9_]+")
PYTHON_RESERVED = frozenset(k.lower() for k in keyword.kwlist)
"""Names prefixed with ``is_`` so every sanitized name is usable as a keyword argument."""
TOOLBENCH_RESERVED = PYTHON_RESERVED | {"id"}
"""ToolBench's ``change_name`` list (``from class return false true id and``) plus the
Python keywords: what ToolBench-style names prefix with ``is_``."""

MAX_NAME = 64
"""OpenAI's function-name limit; ToolBench keeps the last 64 characters, so do we."""


@dataclass(frozen=True, slots=True)
class Rename:
    """A name changed to make it a valid identifier; ``field`` is ``name`` for the API
    itself or ``parameters.<name>`` for one of its parameters."""

    document: str
    field: str
    original: str
    name: str


@dataclass(frozen=True, slots=True)
class ConversionReport:
    """The result of converting a whole file or listing.

    ``specs`` holds everything that converted; ``errors`` one :class:`SpecError` per item
    that did not; ``renames`` every name that had to change (the original is also kept in
    the binding's ``wire_name`` or the property's ``title`` where the spec has room).
    """

    specs: tuple[ApiSpec, ...]
    errors: tuple[SpecError, ...] = ()
    renames: tuple[Rename, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def __add__(self, other: ConversionReport) -> ConversionReport:
        return ConversionReport(
            self.specs + other.specs, self.errors + other.errors, self.renames + other.renames
        )

    def __repr__(self) -> str:
        return (
            f"<ConversionReport specs={len(self.specs)} errors={len(self.errors)} "
            f"renames={len(self.renames)}>"
        )


def sanitize_name(
    raw: str,
    *,
    lower: bool = False,
    digit_prefix: str = "get_",
    reserved: frozenset[str] = PYTHON_RESERVED,
) -> str:
    """Make ``raw`` a valid identifier the way ToolBench does.

    Runs of characters outside ``[A-Za-z0-9_]`` become one underscore, leading and trailing
    underscores go, a leading digit gets ``digit_prefix``, and ``reserved`` words
    (compared case-insensitively; :data:`TOOLBENCH_RESERVED` adds ``id``) get ``is_``. An
    empty result becomes ``unnamed``.

    >>> sanitize_name("User by id"), sanitize_name("from"), sanitize_name("array[]")
    ('User_by_id', 'is_from', 'array')
    """
    name = _INVALID.sub("_", raw).strip("_")
    name = re.sub(r"__+", "_", name)
    if lower:
        name = name.lower()
    if not name:
        return "unnamed"
    if name[0].isdigit():
        name = digit_prefix + name
    if name.lower() in reserved:
        name = "is_" + name
    return name


def clip_name(name: str) -> str:
    """Keep the last :data:`MAX_NAME` characters (ToolBench's rule), still a valid name."""
    if len(name) <= MAX_NAME:
        return name
    clipped = name[-MAX_NAME:].lstrip("_0123456789")
    # All digits and underscores: keep the tail (unique_name's suffix lives there) behind a
    # letter; a constant here made unique_name loop forever.
    return clipped or "unnamed_" + name[8 - MAX_NAME :].lstrip("_")


def unique_name(name: str, taken: set[str], *, clip: bool = False) -> str:
    """``name``, or ``name_2``, ``name_3``... whichever is not in ``taken``; adds it there.

    With ``clip`` each candidate is passed through :func:`clip_name`, so the suffix survives
    the 64-character limit.
    """
    candidate, n = (clip_name(name) if clip else name), 1
    while candidate in taken:
        n += 1
        candidate = clip_name(f"{name}_{n}") if clip else f"{name}_{n}"
    taken.add(candidate)
    return candidate


def load_document(path: str | Path) -> Any:
    """Read a JSON or YAML file (YAML is a superset, but JSON is parsed natively first)."""
    path = Path(path)
    try:
        text = decode_text(path.read_bytes(), str(path))
    except OSError as exc:
        raise SpecError(str(path), "<file>", f"cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        not_json = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:  # an integer of more than 4,300 digits
        not_json = str(exc).split(";")[0]
    except RecursionError:
        not_json = "nested too deeply"
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        problem = f"not JSON ({not_json}) nor YAML ({getattr(exc, 'problem', None) or exc})"
        raise SpecError(str(path), "<root>", problem) from None


def decode_text(data: bytes, where: str, field: str = "<file>") -> str:
    """``data`` as UTF-8 (a UTF-8 BOM is dropped); :class:`SpecError` saying what it is
    instead (a UTF-16/32 byte-order mark, or the offset of the first invalid byte)."""
    boms = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"))
    for bom, name in boms:
        if data.startswith(bom):
            raise SpecError(where, field, f"is {name} (byte-order mark); expected UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(where, field, f"invalid UTF-8 at byte {exc.start}") from None


def read_json_lines(path: str | Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(document, record)`` per non-empty line; ``document`` is ``path:line``.

    A line that is not JSON yields a :class:`SpecError` as its record so batch callers can
    report it and carry on.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SpecError(str(path), "<file>", f"cannot read: {exc.strerror}") from None
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            where = f"{path.name}:{lineno}"
            try:
                line = decode_text(raw, where, "<line>")
                if not line.strip():
                    continue
                yield where, json.loads(line)
            except SpecError as exc:
                yield where, exc
            except ValueError as exc:  # JSONDecodeError, or an integer of over 4,300 digits
                problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                yield where, SpecError(where, "<line>", f"not JSON: {problem.split(';')[0]}")
            except RecursionError:
                yield where, SpecError(where, "<line>", "nested too deeply to parse")


def collect(
    items: Iterable[tuple[str, Any]], convert: Callable[[Any, str], ConversionReport]
) -> ConversionReport:
    """Run ``convert(record, where)`` over items, gathering each item's error."""
    specs: list[ApiSpec] = []
    errors: list[SpecError] = []
    renames: list[Rename] = []
    for where, record in items:
        if isinstance(record, SpecError):
            errors.append(record)
            continue
        try:
            report = convert(record, where)
        except SpecError as exc:
            errors.append(exc)
            continue
        except Exception as exc:  # one hostile item must not lose the rest of the file
            problem = f"cannot convert ({type(exc).__name__}: {exc})"[:300]
            errors.append(SpecError(where, "<item>", problem))
            continue
        specs.extend(report.specs)
        errors.extend(report.errors)
        renames.extend(report.renames)
    return ConversionReport(tuple(specs), tuple(errors), tuple(renames))


class Deduper:
    """Keeps each distinct spec once across a batch and keeps ids unique.

    Catalogues repeat a function in many records (BFCL questions, xLAM rows); identical
    copies are dropped. A different spec under an already-used id gets ``/<item>`` appended
    to its source (``bfcl:irrelevance/irrelevance_12``) so a library can hold both.
    """

    def __init__(self, *, dedupe: bool = True) -> None:
        self.dedupe = dedupe
        self._seen: set[str] = set()
        self._ids: set[str] = set()

    def __repr__(self) -> str:
        return f"<Deduper seen={len(self._seen)} ids={len(self._ids)}>"

    def add(self, spec: ApiSpec, *, item: str) -> ApiSpec | None:
        """``spec`` (maybe with a more specific source), or None if already seen."""
        key = json.dumps(spec.to_dict(), sort_keys=True, default=str)
        if self.dedupe and key in self._seen:
            return None
        self._seen.add(key)
        if spec.id in self._ids:
            spec = replace(spec, source=f"{spec.source}/{item}")
        self._ids.add(spec.id)
        return spec
