"""Secret redaction: configured secret values never leave in text we store, log or print.

A :class:`Redactor` holds the secret values this process was configured with (LLM API keys
read through ``api_key_env``, REST credentials through ``auth_env``, secret-looking MCP
server environment variables) and replaces each of them with :data:`REDACTED` wherever
it occurs, inside longer strings too (``Bearer <key>``, ``?key=<key>&...``), in the forms
a server is likely to echo it back in: as is, percent-encoded (``quote``/``quote_plus``),
JSON-escaped, HTML-escaped and base64 (standard and URL-safe, with or without padding).

It is applied at each boundary where outside text enters our data — error bodies of the
LLM endpoint, REST response bodies and error messages, MCP errors and results — so reject
messages, call results, the dataset and the card are clean by construction; and on every
log record (:func:`install_log_redaction`, installed when the first secret is registered),
so a library logging a response header at DEBUG does not leak it either. JSON values are
also cleaned by key: the value under an ``Authorization``/``api-key``/``x-api-key``/
``X-RapidAPI-Key``-style key (see :data:`SENSITIVE_HEADERS`) is always redacted.

Values shorter than :data:`MIN_SECRET_CHARS` are not registered: redacting every ``abc``
in every output would destroy data, and such a value protects nothing anyway.

Usage::

    redactor = default_redactor()
    key = redactor.add_env("OPENAI_API_KEY")  # the value, now registered ("" when unset)
    redactor.redact(f"401: invalid key Bearer {key}")  # '401: invalid key Bearer [REDACTED]'
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

__all__ = [
    "MIN_SECRET_CHARS",
    "REDACTED",
    "SENSITIVE_HEADERS",
    "Redactor",
    "default_redactor",
    "install_log_redaction",
    "is_secret_name",
]

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

MIN_SECRET_CHARS = 4
"""Shorter values are not registered as secrets (see the module docstring)."""

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-rapidapi-key",
        "x-auth-token",
        "cookie",
        "set-cookie",
    }
)
"""Header (and JSON key) names whose values are credentials, compared case-insensitively
with ``_`` read as ``-``."""

# One search over the lowered JSON text finds a sensitive key faster than a walk.
_SENSITIVE_KEY = re.compile(
    b'"(?:'
    + b"|".join(re.escape(h.encode()).replace(b"\\-", b"[-_]") for h in sorted(SENSITIVE_HEADERS))
    + b')"'
)

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential
    (``OPENAI_API_KEY``, ``GITHUB_TOKEN``, ``DB_PASSWORD``, ...)."""
    return bool(_SECRET_NAME.search(name))


def _forms(value: str) -> set[str]:
    """The value and the encodings it is commonly echoed back in."""
    raw = value.encode()
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms |= {text, text.rstrip("=")}
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


class Redactor:
    """Replaces every registered secret (in every form of :func:`_forms`) with
    :data:`REDACTED`. Thread-safe; registering is idempotent. Text without a secret comes
    back as it is (the same object) after one substring search per form, a few
    microseconds per kilobyte: a regular-expression pass is made only over text that has one.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._forms: set[str] = set()
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        self._text_forms: tuple[str, ...] = ()
        self._byte_forms: tuple[bytes, ...] = ()
        for value in values:
            self.add(value)

    def __repr__(self) -> str:
        return f"<Redactor secrets={len(self._secrets)} forms={len(self._forms)}>"

    def __len__(self) -> int:
        return len(self._secrets)

    def add(self, value: str) -> bool:
        """Register ``value``; False when it is too short to be one (or already known)."""
        value = value.strip()
        if len(value) < MIN_SECRET_CHARS or value in self._secrets:
            return False
        with self._lock:
            self._secrets.add(value)
            self._forms |= _forms(value)
            # Longest first: a form that contains another must win the alternation.
            ordered = sorted(self._forms, key=len, reverse=True)
            self._text = re.compile("|".join(re.escape(f) for f in ordered))
            self._bytes = re.compile(b"|".join(re.escape(f.encode()) for f in ordered))
            self._text_forms = tuple(ordered)
            self._byte_forms = tuple(f.encode() for f in ordered)
        if self is _DEFAULT:
            install_log_redaction()
        return True

    def add_env(self, name: str) -> str:
        """The value of environment variable ``name`` ("" when unset), registered."""
        value = os.environ.get(name, "") if name else ""
        if value:
            self.add(value)
        return value

    def redact(self, text: str) -> str:
        pattern = self._text
        if pattern is None or not any(form in text for form in self._text_forms):
            return text
        return pattern.sub(REDACTED, text)

    def redact_bytes(self, data: bytes) -> bytes:
        pattern = self._bytes
        if pattern is None or not any(form in data for form in self._byte_forms):
            return data
        return pattern.sub(REDACTED.encode(), data)

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with every string redacted and every value under a
        :data:`SENSITIVE_HEADERS` key replaced; the value itself when there is nothing
        to redact (checked on its JSON serialization), else a copy (tuples become lists)."""
        try:
            dumped = orjson.dumps(value)
        except TypeError:  # not plain JSON (a big integer, a non-string key): walk it
            return self._walk(value)
        lowered = dumped.lower()
        if not any(form in dumped for form in self._byte_forms) and not (
            _SENSITIVE_KEY.search(lowered)
        ):
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {
                self.redact(k) if isinstance(k, str) else k: (
                    REDACTED if _sensitive_key(k) and v is not None else self._walk(v)
                )
                for k, v in value.items()
            }
        return value

    def contains_secret(self, text: str) -> bool:
        return any(form in text for form in self._text_forms)


def _sensitive_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().replace("_", "-") in SENSITIVE_HEADERS


_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """The process-wide redactor every component registers its secrets with."""
    return _DEFAULT


_installed = False
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Redact every log record this process creates from now on (idempotent).

    A record's message is formatted when it is created (only records that pass their
    logger's level are created); one that holds a secret is stored redacted, with no
    arguments (others keep theirs: formatters such as uvicorn's access log read them). An
    exception's traceback that holds one is formatted and redacted into ``exc_text``,
    which standard formatters use as is. Done by the record factory rather than a handler
    filter so that records reach no handler — pytest's capture, a JSON log shipper —
    before they are clean.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        _installed = True
    using = _DEFAULT
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not len(using):
            return record
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler reports it, cleaned
            message = f"{record.msg!s} {record.args!r}"
        if using.contains_secret(message):
            record.msg, record.args = using.redact(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            text = formatter.formatException(record.exc_info)
            if using.contains_secret(text):
                record.exc_text = using.redact(text)
        if record.stack_info:
            record.stack_info = using.redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
