"""Bytes -> records, with decode errors that say what was found and where.

A file is one JSON list of records (its first non-blank character is ``[``, unless that
first line is a whole JSON value with more lines after it) or JSON Lines.
The encoding is found from the first bytes: a UTF-8 byte-order mark is dropped; a UTF-16 or
UTF-32 one, or the NUL-byte pattern RFC 4627 §3 describes for those encodings without a
mark, makes the file decoded as that encoding (we decode rather than refuse: such files come
from Windows tools and hold ordinary records). Anything else is UTF-8.

What a record that cannot be decoded becomes (a :class:`~streamer.check.BadRecord` in
:attr:`RawRecord.value`; the records around it are still read)::

    invalid_encoding  invalid UTF-8 byte 0xff at line 7, column 12 (byte 4711)
    invalid_record    not JSON: unexpected character at line 3 column 9
    invalid_record    truncated JSON list at byte 81234 (line 2100): record 41 is cut off
    invalid_record    missing ',' between records at line 88 (byte 5120)
    limit_exceeded    the record is 2,000,000 bytes; the limit is 1,048,576
    limit_exceeded    the record is nested more than 64 levels deep

A JSON list that breaks is never then read as JSON Lines: the records before the break are
checked, the break is one ``invalid_record`` naming its byte and line, and a record that
is itself broken is skipped to its closing bracket so the ones after it are still read.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ._errors import BadRecord, DatasetFormatError

__all__ = ["RawRecord", "ReadLimits", "check_depth", "decode_file", "loads_text"]


_LIMIT_NAMES = ("max_record_bytes", "max_depth", "max_tools", "max_calls")


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds on one record; a record beyond one is ``limit_exceeded`` (the others go on).

    max_record_bytes: size of one JSON line or list element, in bytes (UTF-8).
    max_depth: nesting depth of objects and arrays in a record, and in each JSON string
      field it holds (xLAM ``tools``/``answers``, a glaive ``tools`` string); a flat object
      is depth 1.
    max_tools: tools one record may offer.
    max_calls: calls one answer (one assistant turn) may make.
    max_conversation_calls: calls one conversation may make over all its turns (each
      tool-calling turn is a case, and a replay runs every call: this bounds both).

    Example::

        ReadLimits(max_record_bytes=4 * 1024 * 1024, max_tools=512)
    """

    max_record_bytes: int = 1_048_576
    max_depth: int = 64
    max_tools: int = 128
    max_calls: int = 64
    max_conversation_calls: int = 512

    def __post_init__(self) -> None:
        for name in (*_LIMIT_NAMES, "max_conversation_calls"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One decoded record, or why it could not be decoded.

    where: ``file:line`` of the record's first line.
    key: an id for records that carry none: ``name:line`` (JSON Lines) or ``name[index]``
      (a JSON list), ``name`` being the file name.
    """

    where: str
    key: str
    value: Any


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _encoding(data: bytes) -> tuple[str, int]:
    """(encoding, bytes of byte-order mark to skip)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    head = data[:4]
    if len(head) == 4:  # RFC 4627 §3: the first two characters are ASCII
        nul = tuple(b == 0 for b in head)
        patterns = {
            (True, True, True, False): "utf-32-be",
            (False, True, True, True): "utf-32-le",
            (True, False, True, False): "utf-16-be",
            (False, True, False, True): "utf-16-le",
        }
        if nul in patterns:
            return patterns[nul], 0
    return "utf-8", 0


def _text(path: Path, data: bytes) -> tuple[str, bool, str]:
    """(text, whether it holds undecodable UTF-8 bytes as surrogate escapes, encoding)."""
    encoding, skip = _encoding(data)
    body = data[skip:]
    if encoding != "utf-8":
        try:
            return body.decode(encoding), False, encoding
        except UnicodeDecodeError as exc:
            raise DatasetFormatError(
                f"{path}: read as {encoding.upper()} (from its first bytes), but byte "
                f"{exc.start + skip} is not valid {encoding.upper()}: {exc.reason}"
            ) from None
    try:
        return body.decode("utf-8"), False, encoding
    except UnicodeDecodeError:
        return body.decode("utf-8", "surrogateescape"), True, encoding


_ESCAPED = re.compile("[\udc80-\udcff]")
_WS = re.compile(r"[ \t\r\n]*")


def _skip(s: str, pos: int) -> int:
    """The first position at or after ``pos`` that is not JSON whitespace."""
    match = _WS.match(s, pos)
    return match.end() if match else pos


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{},]')


class _Text:
    """The decoded file with positions -> line numbers and byte offsets."""

    def __init__(self, path: Path, text: str, dirty: bool, encoding: str) -> None:
        self.path = path
        self.s = text
        self.dirty = dirty
        self.encoding = encoding
        self._pos = 0
        self._line = 1

    def line(self, pos: int) -> int:
        if pos < self._pos:
            self._pos, self._line = 0, 1
        self._line += self.s.count("\n", self._pos, pos)
        self._pos = pos
        return self._line

    def column(self, pos: int) -> int:
        return pos - (self.s.rfind("\n", 0, pos) + 1) + 1

    def offset(self, pos: int) -> str:
        """``byte N`` of a position (``character N`` in a file decoded from UTF-16/32)."""
        if self.encoding == "utf-8":
            return f"byte {len(self.s[:pos].encode('utf-8', 'surrogateescape'))}"
        return f"character {pos} of the {self.encoding.upper()} text"

    def at(self, pos: int) -> str:
        """``line L (byte N)`` of a position."""
        return f"line {self.line(pos)} ({self.offset(pos)})"

    def encoding_error(self, start: int, end: int) -> BadRecord | None:
        if not self.dirty:
            return None
        found = _ESCAPED.search(self.s, start, end)
        if found is None:
            return None
        pos = found.start()
        byte = ord(found.group()) - 0xDC00
        return BadRecord(
            "invalid_encoding",
            f"invalid UTF-8 byte 0x{byte:02x} at line {self.line(pos)}, column "
            f"{self.column(pos)} ({self.offset(pos)})",
        )


def check_depth(
    value: Any, limits: ReadLimits, what: str = "the record", text: str | None = None
) -> None:
    """Raise ``limit_exceeded`` when ``value`` nests deeper than ``limits.max_depth``.
    ``text``, the JSON it was decoded from, lets shallow records skip the walk: a value
    cannot nest deeper than the brackets its text opens."""
    if text is not None and text.count("{") + text.count("[") <= limits.max_depth:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if not children:
            continue
        if depth > limits.max_depth:
            raise BadRecord(
                "limit_exceeded", f"{what} is nested more than {limits.max_depth} levels deep"
            )
        stack.extend((child, depth + 1) for child in children)


def _size(text: str, limits: ReadLimits) -> None:
    if len(text) * 4 <= limits.max_record_bytes:
        return
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > limits.max_record_bytes:
        raise BadRecord(
            "limit_exceeded",
            f"the record is {size:,} bytes; the limit is {limits.max_record_bytes:,}",
        )


def loads_text(text: str, *, what: str, reason: str, limits: ReadLimits) -> Any:
    """A JSON document held in a string field, within the depth limit; raises
    :class:`BadRecord` (``reason`` when it is not JSON)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(*_json_problem(exc, what, reason, limits)) from None
    check_depth(value, limits, what, text)
    return value


def _json_problem(
    exc: orjson.JSONDecodeError, what: str, reason: str, limits: ReadLimits
) -> tuple[str, str]:
    """(reason, message) for text orjson refused: too deep for its parser, or not JSON."""
    if "recursion" in str(exc).lower() or "depth limit" in str(exc).lower():
        return "limit_exceeded", f"{what} is nested more than {limits.max_depth} levels deep"
    return reason, f"{what}: not JSON: {exc}"


def decode_file(path: Path, limits: ReadLimits) -> Iterator[RawRecord]:
    """Every record of the file in order; raises :class:`DatasetFormatError` only when
    the file cannot be read at all (missing, a directory, undecodable as UTF-16/32)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    text = _Text(path, *_text(path, data))
    start = _skip(text.s, 0)
    if text.s.startswith("[", start) and not _list_line(text.s, start):
        return _list_records(text, start + 1, limits)
    return _line_records(text, limits)


def _list_line(s: str, start: int) -> bool:
    """Whether a file starting with ``[`` is JSON Lines whose first record is a list: the
    first line is a whole JSON value and more lines follow."""
    end = s.find("\n", start)
    if end < 0 or not s[end:].strip():
        return False
    line = s[start:end]
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but is whole JSON text still: a lone surrogate's escape, NaN
            json.loads(line)
        except (ValueError, RecursionError):
            return False
    return True


def _line_records(text: _Text, limits: ReadLimits) -> Iterator[RawRecord]:
    pos = 0
    for number, line in enumerate(text.s.split("\n"), 1):
        start, pos = pos, pos + len(line) + 1
        if not line.strip():
            continue
        where = f"{text.path}:{number}"
        key = f"{text.path.name}:{number}"
        yield RawRecord(where, key, _line_value(text, line, start, limits))


def _line_value(text: _Text, line: str, start: int, limits: ReadLimits) -> Any:
    try:
        _size(line, limits)
        bad = text.encoding_error(start, start + len(line))
        if bad is not None:
            return bad
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return BadRecord(*_json_problem(exc, "the record", "invalid_record", limits))
        return _within_depth(value, limits, line)
    except BadRecord as exc:
        return exc


def _within_depth(value: Any, limits: ReadLimits, text: str) -> Any:
    try:
        check_depth(value, limits, text=text)
    except BadRecord as exc:
        return BadRecord(exc.reason, exc.message, value)
    return value


def _element_end(s: str, start: int) -> int | None:
    """Where the JSON value at ``start`` ends, by bracket matching (strings skipped);
    None when the text ends first (a truncated file)."""
    depth = 0
    for match in _TOKENS.finditer(s, start):
        token = match.group()
        if token[0] == '"':
            if len(token) < 2 or not token.endswith('"'):
                return None
        elif token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth <= 0:
                return match.end() if depth == 0 else match.start()
        elif depth == 0:
            return match.start()
    return None


_OPENING = re.compile(r"[{\[]")
_LINE_OPENING = re.compile(r"\n([ \t]*)[{\[]")
_LOOKAHEAD_LINES = 256


def _resync(s: str, pos: int) -> int | None:
    """Where reading goes on after the broken record at ``pos``; None when the file ends
    inside it. A list written over several lines is read by its layout (a broken quote
    misleads bracket matching; a layout does not): the next record is the next line that
    opens a value at the broken record's indentation when it starts its line, else at the
    shallowest indentation among the next lines that open one (junk before a record on its
    line is skipped to it); a broken last record runs to the closing ``]``. A list on one
    line is read by bracket matching, garbage skipped to the next ``{`` or ``[``."""
    line_start = s.rfind("\n", 0, pos) + 1
    indent = s[line_start:pos]
    if not indent.strip():
        sibling = re.compile("\n" + re.escape(indent) + r"[{\[]").search(s, pos + 1)
        if sibling is not None:
            return sibling.end() - 1
    else:
        same_line = _OPENING.search(s, pos + 1, max(pos + 1, s.find("\n", pos)))
        if s[pos] not in "{[" and same_line is not None:  # junk before a record
            return same_line.start()
        openings = list(itertools.islice(_LINE_OPENING.finditer(s, pos), _LOOKAHEAD_LINES))
        if openings:
            shallowest = min(len(m.group(1)) for m in openings)
            return next(m.end() - 1 for m in openings if len(m.group(1)) == shallowest)
    if s.count("\n", line_start) > 1:
        tail = s.rstrip()
        if tail.endswith("]") and len(tail) - 1 > pos:
            return len(tail) - 1
    if s[pos] in "{[":
        return _element_end(s, pos)
    opening = _OPENING.search(s, pos + 1)
    return opening.start() if opening is not None else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _list_records(text: _Text, pos: int, limits: ReadLimits) -> Iterator[RawRecord]:
    s = text.s
    index = 0
    resynced = False  # after a broken record: the reader stands on the next one already
    while True:
        pos = _skip(s, pos)
        if pos < len(s) and s[pos] == "," and index:
            pos = _skip(s, pos + 1)
        elif pos < len(s) and s[pos] not in "]" and index and not resynced:
            line = text.line(pos)
            yield RawRecord(
                f"{text.path}:{line}",
                f"{text.path.name}:{line}",
                BadRecord("invalid_record", f"missing ',' between records at {text.at(pos)}"),
            )
        if pos >= len(s):
            yield RawRecord(
                f"{text.path}:{text.line(pos)}",
                f"{text.path.name}[{index}]",
                BadRecord(
                    "invalid_record",
                    f"truncated JSON list at {text.at(pos)}: the file ends before the "
                    f"closing ']' (after {index} record(s))",
                ),
            )
            return
        if s[pos] == "]":
            rest = _skip(s, pos + 1)
            if rest < len(s):
                yield RawRecord(
                    f"{text.path}:{text.line(rest)}",
                    f"{text.path.name}[{index}]",
                    BadRecord("invalid_record", f"extra data after the list at {text.at(rest)}"),
                )
            return
        where = f"{text.path}:{text.line(pos)}"
        key = f"{text.path.name}[{index}]"
        value, end = _element(text, pos, index, limits)
        yield RawRecord(where, key, value)
        if end is None:
            return
        resynced = isinstance(value, BadRecord) and end > pos and s[end - 1] not in "]}"
        index += 1
        pos = max(end, pos + 1)


def _element(text: _Text, pos: int, index: int, limits: ReadLimits) -> tuple[Any, int | None]:
    """(the element at ``pos`` or a BadRecord, where it ends; None: the file ends in it)."""
    s = text.s
    try:
        value, end = _DECODER.raw_decode(s, pos)
    except (ValueError, RecursionError) as exc:
        skip_to = _resync(s, pos)
        if skip_to is None:
            bad = BadRecord(
                "invalid_record",
                f"truncated JSON list at {text.at(len(s))}: record {index} (from "
                f"{text.at(pos)}) is cut off",
            )
            return bad, None
        if isinstance(exc, RecursionError):
            message = f"the record is nested more than {limits.max_depth} levels deep"
            return BadRecord("limit_exceeded", message), skip_to
        where = text.at(exc.pos) if isinstance(exc, json.JSONDecodeError) else text.at(pos)
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return BadRecord("invalid_record", f"not JSON: {msg} at {where}"), skip_to
    try:
        _size(s[pos:end], limits)
        problem = text.encoding_error(pos, end)
        if problem is not None:
            return problem, end
    except BadRecord as exc:  # decoded, so its id still names it
        return BadRecord(exc.reason, exc.message, value), end
    return _within_depth(value, limits, s[pos:end]), end
