"""Computation endpoints: unit conversion, dates, text, networks, geography, colours."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import re
import unicodedata
from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

__all__ = ["router"]

router = APIRouter()

_LENGTH_M = {
    "mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0,
    "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344, "nmi": 1852.0,
}  # fmt: skip
_MASS_KG = {
    "mg": 1e-6, "g": 0.001, "kg": 1.0, "t": 1000.0,
    "oz": 0.028349523125, "lb": 0.45359237, "st": 6.35029318,
}  # fmt: skip
LengthUnit = Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"]
MassUnit = Literal["mg", "g", "kg", "t", "oz", "lb", "st"]
TemperatureUnit = Literal["C", "F", "K"]
_WORD = re.compile(r"\b\w+\b", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


@router.get(
    "/convert/length",
    operation_id="convert_length",
    summary="Convert a length between units",
    description="Metric and imperial lengths: mm, cm, m, km, in, ft, yd, mi, nmi.",
    tags=["units"],
)
def convert_length(
    value: Annotated[float, Query(description="The length to convert")],
    from_unit: Annotated[LengthUnit, Query(description="Unit of value")],
    to_unit: Annotated[LengthUnit, Query(description="Unit of the result")],
) -> dict[str, Any]:
    result = value * _LENGTH_M[from_unit] / _LENGTH_M[to_unit]
    return {"value": value, "from_unit": from_unit, "to_unit": to_unit, "result": result}


@router.get(
    "/convert/mass",
    operation_id="convert_mass",
    summary="Convert a mass between units",
    description="Metric and avoirdupois masses: mg, g, kg, t, oz, lb, st.",
    tags=["units"],
)
def convert_mass(
    value: Annotated[float, Query(description="The mass to convert")],
    from_unit: Annotated[MassUnit, Query(description="Unit of value")],
    to_unit: Annotated[MassUnit, Query(description="Unit of the result")],
) -> dict[str, Any]:
    result = value * _MASS_KG[from_unit] / _MASS_KG[to_unit]
    return {"value": value, "from_unit": from_unit, "to_unit": to_unit, "result": result}


@router.get(
    "/convert/temperature",
    operation_id="convert_temperature",
    summary="Convert a temperature between scales",
    description="Celsius (C), Fahrenheit (F) and Kelvin (K); below absolute zero is a 400.",
    tags=["units"],
    responses={400: {"description": "Below absolute zero"}},
)
def convert_temperature(
    value: Annotated[float, Query(description="The temperature to convert")],
    from_unit: Annotated[TemperatureUnit, Query(description="Scale of value")],
    to_unit: Annotated[TemperatureUnit, Query(description="Scale of the result")],
) -> dict[str, Any]:
    kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[from_unit]
    if kelvin < 0:
        raise HTTPException(400, "temperature below absolute zero")
    result = {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[to_unit]
    return {"value": value, "from_unit": from_unit, "to_unit": to_unit, "result": result}


@router.get(
    "/dates/add",
    operation_id="add_days_to_date",
    summary="Add days to a date",
    description="The ISO date that is `days` days after (or before, if negative) `date`.",
    tags=["dates"],
    responses={400: {"description": "The result is outside years 1-9999"}},
)
def add_days_to_date(
    date: Annotated[dt.date, Query(description="ISO date, e.g. 2024-02-28")],
    days: Annotated[int, Query(ge=-3_650_000, le=3_650_000, description="Days to add")],
) -> dict[str, Any]:
    try:
        result = date + dt.timedelta(days=days)
    except OverflowError:
        raise HTTPException(400, "the result is outside years 1-9999") from None
    return {"date": date.isoformat(), "days": days, "result": result.isoformat()}


@router.get(
    "/dates/diff",
    operation_id="days_between_dates",
    summary="Days between two dates",
    description="end minus start in days, plus the number of whole weeks.",
    tags=["dates"],
)
def days_between_dates(
    start: Annotated[dt.date, Query(description="ISO start date")],
    end: Annotated[dt.date, Query(description="ISO end date")],
) -> dict[str, Any]:
    days = (end - start).days
    return {"start": start.isoformat(), "end": end.isoformat(), "days": days, "weeks": days // 7}


@router.get(
    "/dates/weekday/{date}",
    operation_id="weekday_of_date",
    summary="Day of the week of a date",
    description="Weekday name, ISO weekday number (Monday = 1), ISO week and day of year.",
    tags=["dates"],
)
def weekday_of_date(
    date: Annotated[dt.date, Path(description="ISO date, e.g. 1969-07-20")],
) -> dict[str, Any]:
    iso = date.isocalendar()
    return {
        "date": date.isoformat(),
        "weekday": date.strftime("%A"),
        "iso_weekday": iso.weekday,
        "iso_week": iso.week,
        "day_of_year": date.timetuple().tm_yday,
    }


@router.get(
    "/dates/leap-year/{year}",
    operation_id="is_leap_year",
    summary="Whether a year is a leap year",
    description="Gregorian leap year rule and the number of days in the year.",
    tags=["dates"],
)
def is_leap_year(
    year: Annotated[int, Path(ge=1, le=9999, description="Year, 1-9999")],
) -> dict[str, Any]:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return {"year": year, "is_leap_year": leap, "days": 366 if leap else 365}


class TextBody(BaseModel):
    text: str = Field(max_length=200_000, description="The text to analyse")


@router.post(
    "/text/stats",
    operation_id="text_statistics",
    summary="Statistics of a text",
    description="Characters, words, sentences, lines, average word length and the five most "
    "frequent words (case-insensitive).",
    tags=["text"],
)
def text_statistics(body: TextBody) -> dict[str, Any]:
    words = _WORD.findall(body.text)
    lowered = Counter(w.lower() for w in words)
    return {
        "characters": len(body.text),
        "words": len(words),
        "sentences": len(_SENTENCE_END.findall(body.text)),
        "lines": len(body.text.splitlines()),
        "average_word_length": sum(map(len, words)) / len(words) if words else 0.0,
        "top_words": [{"word": w, "count": c} for w, c in lowered.most_common(5)],
    }


class HashBody(BaseModel):
    text: str = Field(max_length=1_000_000, description="Text to hash (UTF-8 encoded)")
    algorithm: Literal["md5", "sha1", "sha256", "sha512", "blake2b"] = Field(
        "sha256", description="Hash algorithm"
    )


@router.post(
    "/text/hash",
    operation_id="hash_text",
    summary="Hash a text",
    description="Hex digest of the UTF-8 bytes of text with the chosen algorithm.",
    tags=["text"],
)
def hash_text(body: HashBody) -> dict[str, Any]:
    digest = hashlib.new(body.algorithm, body.text.encode()).hexdigest()
    return {"algorithm": body.algorithm, "hex_digest": digest}


@router.get(
    "/text/palindrome",
    operation_id="check_palindrome",
    summary="Whether a text is a palindrome",
    description="Compares letters and digits only, ignoring case, spaces and punctuation.",
    tags=["text"],
)
def check_palindrome(
    text: Annotated[str, Query(min_length=1, max_length=1000, description="Text to check")],
) -> dict[str, Any]:
    letters = [c.lower() for c in text if c.isalnum()]
    return {"text": text, "is_palindrome": bool(letters) and letters == letters[::-1]}


class SlugBody(BaseModel):
    text: str = Field(min_length=1, max_length=1000, description="Title to turn into a slug")
    separator: Literal["-", "_"] = Field("-", description="Word separator")


@router.post(
    "/text/slugify",
    operation_id="slugify_text",
    summary="Make a URL slug from a text",
    description="ASCII-folds accents, lower-cases and joins words with the separator.",
    tags=["text"],
    responses={400: {"description": "Nothing slug-worthy in the text"}},
)
def slugify_text(body: SlugBody) -> dict[str, Any]:
    ascii_text = unicodedata.normalize("NFKD", body.text).encode("ascii", "ignore").decode()
    slug = body.separator.join(re.findall(r"[a-z0-9]+", ascii_text.lower()))
    if not slug:
        raise HTTPException(400, "no letters or digits in text")
    return {"text": body.text, "slug": slug}


@router.get(
    "/network/ipv4-subnet",
    operation_id="ipv4_subnet_info",
    summary="IPv4 subnet information",
    description="Network and broadcast address, netmask, wildcard mask, usable host range "
    "and count of an IPv4 network in CIDR notation (host bits are ignored).",
    tags=["network"],
    responses={400: {"description": "Not an IPv4 CIDR"}},
)
def ipv4_subnet_info(
    cidr: Annotated[str, Query(max_length=18, description="e.g. 192.168.1.0/24")],
) -> dict[str, Any]:
    try:
        net = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    hosts = net.num_addresses - 2 if net.prefixlen < 31 else net.num_addresses
    first = net.network_address + (1 if net.prefixlen < 31 else 0)
    last = net.broadcast_address - (1 if net.prefixlen < 31 else 0)
    return {
        "network": str(net.network_address),
        "prefix_length": net.prefixlen,
        "netmask": str(net.netmask),
        "wildcard_mask": str(net.hostmask),
        "broadcast": str(net.broadcast_address),
        "first_host": str(first),
        "last_host": str(last),
        "usable_hosts": hosts,
        "is_private": net.is_private,
    }


@router.get(
    "/network/ip/{address}",
    operation_id="ip_address_info",
    summary="Classify an IP address",
    description="Version and classification (private, loopback, multicast, global...) of an "
    "IPv4 or IPv6 address.",
    tags=["network"],
    responses={400: {"description": "Not an IP address"}},
)
def ip_address_info(
    address: Annotated[str, Path(max_length=45, description="e.g. 10.0.0.1 or ::1")],
) -> dict[str, Any]:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {
        "address": str(ip),
        "version": ip.version,
        "is_private": ip.is_private,
        "is_global": ip.is_global,
        "is_loopback": ip.is_loopback,
        "is_multicast": ip.is_multicast,
        "reverse_pointer": ip.reverse_pointer,
    }


class DistanceBody(BaseModel):
    lat1: float = Field(ge=-90, le=90, description="Latitude of the first point, degrees")
    lon1: float = Field(ge=-180, le=180, description="Longitude of the first point, degrees")
    lat2: float = Field(ge=-90, le=90, description="Latitude of the second point, degrees")
    lon2: float = Field(ge=-180, le=180, description="Longitude of the second point, degrees")


@router.post(
    "/geo/distance",
    operation_id="great_circle_distance",
    summary="Great-circle distance between two points",
    description="Haversine distance on a sphere of radius 6371.0088 km (mean Earth radius), "
    "in kilometres and miles, and the initial bearing in degrees.",
    tags=["geography"],
)
def great_circle_distance(body: DistanceBody) -> dict[str, Any]:
    p1, p2 = math.radians(body.lat1), math.radians(body.lat2)
    dlat, dlon = p2 - p1, math.radians(body.lon2 - body.lon1)
    h = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    km = 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))
    y = math.sin(dlon) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dlon)
    bearing = (math.degrees(math.atan2(y, x)) + 360) % 360
    return {"km": round(km, 3), "miles": round(km / 1.609344, 3), "bearing_deg": round(bearing, 2)}


@router.get(
    "/color/hex/{hex_code}",
    operation_id="hex_color_info",
    summary="Convert a hex colour to RGB and HSL",
    description="RGB components, HSL and relative luminance (WCAG) of a #rrggbb colour "
    "(given without '#').",
    tags=["color"],
)
def hex_color_info(
    hex_code: Annotated[
        str, Path(pattern=r"^[0-9a-fA-F]{6}$", description="Six hex digits, e.g. 'ff8800'")
    ],
) -> dict[str, Any]:
    r, g, b = (int(hex_code[i : i + 2], 16) for i in (0, 2, 4))
    hi, lo = max(r, g, b) / 255, min(r, g, b) / 255
    light = (hi + lo) / 2
    delta = hi - lo
    sat = 0.0 if delta == 0 else delta / (1 - abs(2 * light - 1))
    if delta == 0:
        hue = 0.0
    elif hi == r / 255:
        hue = 60 * (((g - b) / 255 / delta) % 6)
    elif hi == g / 255:
        hue = 60 * ((b - r) / 255 / delta + 2)
    else:
        hue = 60 * ((r - g) / 255 / delta + 4)

    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return {
        "hex": f"#{hex_code.lower()}",
        "rgb": [r, g, b],
        "hsl": [round(hue, 1), round(sat * 100, 1), round(light * 100, 1)],
        "relative_luminance": round(luminance, 4),
    }
