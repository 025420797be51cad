"""Number bases, text encodings, checksums and hashes (all of text as UTF-8 data).

BFCL names kept: ``add_binary_numbers``, ``convert_binary_to_decimal`` and
``convert_decimal_to_hex``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import urllib.parse
import zlib
from typing import Literal

from ._validate import integer

__all__ = [
    "add_binary_numbers",
    "base64_decode",
    "base64_encode",
    "convert_base",
    "convert_binary_to_decimal",
    "convert_decimal_to_hex",
    "crc32_checksum",
    "hash_text",
    "int_to_roman",
    "roman_to_int",
    "url_decode",
    "url_encode",
]

MAX_TEXT = 100_000
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _text(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def _binary(name: str, value: str) -> int:
    text = _text(name, value).strip()
    if text.lower().startswith("0b"):
        text = text[2:]
    if not text or not re.fullmatch(r"[01]+", text) or len(text) > 4096:
        raise ValueError(f"{name} must be a binary number of 0s and 1s, got {value!r}")
    return int(text, 2)


def add_binary_numbers(a: str, b: str) -> str:
    """Adds two binary numbers.

    Args:
        a: The first binary number, e.g. "1010".
        b: The second binary number, e.g. "0101".

    Returns:
        The sum in binary, without leading zeros, e.g. "1111".
    """
    return format(_binary("a", a) + _binary("b", b), "b")


def convert_binary_to_decimal(binary: str) -> int:
    """Converts a binary number to a decimal number.

    Args:
        binary: The binary number to convert, e.g. "1101".

    Returns:
        The decimal value, e.g. 13.
    """
    return _binary("binary", binary)


def convert_decimal_to_hex(decimal: int) -> str:
    """Converts a decimal integer to hexadecimal.

    Args:
        decimal: The decimal number to convert.

    Returns:
        The hexadecimal digits in lowercase, with a leading "-" for negatives, e.g. "ff".
    """
    return format(integer("decimal", decimal), "x")


def convert_base(number: str, from_base: int, to_base: int) -> str:
    """Converts an integer written in one base (2-36) to another base.

    Args:
        number: The digits of the number in from_base, optionally with a leading "-".
        from_base: The base the number is written in (2 to 36).
        to_base: The base to write the result in (2 to 36).

    Returns:
        The number written in to_base (lowercase digits).
    """
    fb = integer("from_base", from_base, low=2, high=36)
    tb = integer("to_base", to_base, low=2, high=36)
    text = _text("number", number).strip().lower()
    if len(text) > 4096:
        raise ValueError("number is too long")
    try:
        value = int(text, fb)
    except ValueError:
        raise ValueError(f"{number!r} is not a valid base-{fb} number") from None
    if value == 0:
        return "0"
    sign, value = ("-", -value) if value < 0 else ("", value)
    digits = []
    while value:
        value, r = divmod(value, tb)
        digits.append(_DIGITS[r])
    return sign + "".join(reversed(digits))


def base64_encode(text: str, url_safe: bool = False) -> str:
    """Encodes a text's UTF-8 bytes as Base64.

    Args:
        text: The text to encode.
        url_safe: Whether to use the URL-safe alphabet (- and _ instead of + and /).

    Returns:
        The Base64 string.
    """
    data = _text("text", text).encode()
    return (base64.urlsafe_b64encode(data) if url_safe else base64.b64encode(data)).decode()


def base64_decode(encoded: str) -> str:
    """Decodes Base64 (standard or URL-safe) into UTF-8 text.

    Args:
        encoded: The Base64 string.

    Returns:
        The decoded text.
    """
    s = _text("encoded", encoded).strip()
    try:
        data = base64.b64decode(s.replace("-", "+").replace("_", "/"), validate=True)
        return data.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"encoded is not valid Base64 of UTF-8 text: {exc}") from None


def hash_text(text: str, algorithm: Literal["md5", "sha1", "sha256", "sha512"] = "sha256") -> str:
    """Hashes a text's UTF-8 bytes.

    Args:
        text: The text to hash.
        algorithm: The hash function: md5, sha1, sha256 or sha512.

    Returns:
        The hexadecimal digest.
    """
    if algorithm not in ("md5", "sha1", "sha256", "sha512"):
        raise ValueError(f"algorithm must be md5, sha1, sha256 or sha512, got {algorithm!r}")
    return hashlib.new(algorithm, _text("text", text).encode(), usedforsecurity=False).hexdigest()


def crc32_checksum(text: str) -> str:
    """Calculates the CRC-32 checksum of a text's UTF-8 bytes.

    Args:
        text: The text to checksum.

    Returns:
        The checksum as 8 hexadecimal digits.
    """
    return format(zlib.crc32(_text("text", text).encode()), "08x")


def url_encode(text: str) -> str:
    """Percent-encodes a text for use in a URL query or path segment.

    Args:
        text: The text to encode.

    Returns:
        The encoded text (spaces become %20; nothing is left unescaped except A-Z a-z 0-9 _.-~).
    """
    return urllib.parse.quote(_text("text", text), safe="")


def url_decode(text: str) -> str:
    """Decodes percent-encoding (and + as space) in a URL component.

    Args:
        text: The encoded text.

    Returns:
        The decoded text.
    """
    return urllib.parse.unquote_plus(_text("text", text))


_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))  # fmt: skip


def int_to_roman(number: int) -> str:
    """Writes an integer as a Roman numeral.

    Args:
        number: The integer to convert (1 to 3999).

    Returns:
        The Roman numeral, e.g. "MCMXCIV" for 1994.
    """
    n = integer("number", number, low=1, high=3999)
    out = []
    for value, sym in _ROMAN:
        count, n = divmod(n, value)
        out.append(sym * count)
    return "".join(out)


def roman_to_int(numeral: str) -> int:
    """Reads a Roman numeral.

    Args:
        numeral: The Roman numeral (canonical form, I to MMMCMXCIX), e.g. "XLII".

    Returns:
        Its integer value.
    """
    s = _text("numeral", numeral).strip().upper()
    if not s or len(s) > 15 or set(s) - set("IVXLCDM"):
        raise ValueError(f"{numeral!r} is not a Roman numeral")
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(s):
        v = values[ch]
        total += -v if i + 1 < len(s) and values[s[i + 1]] > v else v
    if not 1 <= total <= 3999 or int_to_roman(total) != s:
        raise ValueError(f"{numeral!r} is not a canonical Roman numeral")
    return total
