"""Great-circle geometry and facts about 46 countries and their capitals.

The bundled ``capitals.json`` holds, per country: name, ISO 3166-1 alpha-2 code, capital,
continent, the capital's latitude/longitude (decimal degrees, WGS 84) and the country's
approximate population in millions (about 2023, rounded). Distances use the haversine
formula on a sphere of mean Earth radius 6371.0088 km.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from typing import Any, Literal

from ._validate import finite, integer

__all__ = [
    "countries_in_continent",
    "distance_between_capitals",
    "geographic_midpoint",
    "get_capital_city",
    "get_country_info",
    "haversine_distance",
    "initial_bearing",
    "most_populous_countries",
    "nearest_capital",
]

EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344
CONTINENTS = ("Africa", "Asia", "Europe", "North America", "Oceania", "South America")


@functools.cache
def _countries() -> tuple[dict[str, Any], ...]:
    text = resources.files(__package__).joinpath("capitals.json").read_text(encoding="utf-8")
    return tuple(json.loads(text))


def _country(name: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("country must be a non-empty country name or ISO code")
    key = name.strip().casefold()
    for c in _countries():
        if key in (c["country"].casefold(), c["iso2"].casefold()):
            return dict(c)
    raise ValueError(
        f"unknown country {name!r}; known: {', '.join(c['country'] for c in _countries())}"
    )


def _lat_lon(lat_name: str, lat: float, lon_name: str, lon: float) -> tuple[float, float]:
    la, lo = finite(lat_name, lat), finite(lon_name, lon)
    if not -90 <= la <= 90:
        raise ValueError(f"{lat_name} must be between -90 and 90, got {lat!r}")
    if not -180 <= lo <= 180:
        raise ValueError(f"{lon_name} must be between -180 and 180, got {lon!r}")
    return la, lo


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _unit(unit: str) -> float:
    if unit not in ("km", "mi"):
        raise ValueError(f"unit must be 'km' or 'mi', got {unit!r}")
    return 1.0 if unit == "km" else 1 / KM_PER_MILE


def haversine_distance(
    latitude_1: float,
    longitude_1: float,
    latitude_2: float,
    longitude_2: float,
    unit: Literal["km", "mi"] = "km",
) -> float:
    """Calculates the great-circle distance between two points on Earth.

    Args:
        latitude_1: The latitude of the first point, in decimal degrees (-90 to 90).
        longitude_1: The longitude of the first point, in decimal degrees (-180 to 180).
        latitude_2: The latitude of the second point.
        longitude_2: The longitude of the second point.
        unit: The unit of the result: km or mi.

    Returns:
        The distance along the Earth's surface.
    """
    a = _lat_lon("latitude_1", latitude_1, "longitude_1", longitude_1)
    b = _lat_lon("latitude_2", latitude_2, "longitude_2", longitude_2)
    return _haversine_km(*a, *b) * _unit(unit)


def initial_bearing(
    latitude_1: float, longitude_1: float, latitude_2: float, longitude_2: float
) -> float:
    """Calculates the initial compass bearing of the great circle from one point to another.

    Args:
        latitude_1: The latitude of the start point, in decimal degrees.
        longitude_1: The longitude of the start point, in decimal degrees.
        latitude_2: The latitude of the destination, in decimal degrees.
        longitude_2: The longitude of the destination, in decimal degrees.

    Returns:
        The bearing in degrees clockwise from true north, 0 to 360.
    """
    la1, lo1 = _lat_lon("latitude_1", latitude_1, "longitude_1", longitude_1)
    la2, lo2 = _lat_lon("latitude_2", latitude_2, "longitude_2", longitude_2)
    p1, p2, dl = math.radians(la1), math.radians(la2), math.radians(lo2 - lo1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def geographic_midpoint(
    latitude_1: float, longitude_1: float, latitude_2: float, longitude_2: float
) -> dict[str, float]:
    """Calculates the midpoint of the great-circle path between two points.

    Args:
        latitude_1: The latitude of the first point, in decimal degrees.
        longitude_1: The longitude of the first point, in decimal degrees.
        latitude_2: The latitude of the second point, in decimal degrees.
        longitude_2: The longitude of the second point, in decimal degrees.

    Returns:
        An object with latitude and longitude of the midpoint.
    """
    la1, lo1 = _lat_lon("latitude_1", latitude_1, "longitude_1", longitude_1)
    la2, lo2 = _lat_lon("latitude_2", latitude_2, "longitude_2", longitude_2)
    p1, p2, l1 = math.radians(la1), math.radians(la2), math.radians(lo1)
    dl = math.radians(lo2 - lo1)
    bx, by = math.cos(p2) * math.cos(dl), math.cos(p2) * math.sin(dl)
    lat = math.atan2(math.sin(p1) + math.sin(p2), math.hypot(math.cos(p1) + bx, by))
    lon = l1 + math.atan2(by, math.cos(p1) + bx)
    return {"latitude": math.degrees(lat), "longitude": (math.degrees(lon) + 540) % 360 - 180}


def get_country_info(country: str) -> dict[str, Any]:
    """Looks up a country's capital, continent, capital coordinates and population.

    Args:
        country: The country's English name (e.g. "Japan") or ISO alpha-2 code (e.g. "JP").

    Returns:
        An object with country, iso2, capital, continent, latitude, longitude and
        population_millions (approximate).
    """
    return _country(country)


def get_capital_city(country: str) -> str:
    """Finds the capital city of a country.

    Args:
        country: The country's English name or ISO alpha-2 code.

    Returns:
        The capital's name, e.g. "Canberra" for Australia.
    """
    return str(_country(country)["capital"])


def distance_between_capitals(
    country_a: str, country_b: str, unit: Literal["km", "mi"] = "km"
) -> float:
    """Calculates the great-circle distance between the capitals of two countries.

    Args:
        country_a: The first country's name or ISO alpha-2 code.
        country_b: The second country's name or ISO alpha-2 code.
        unit: The unit of the result: km or mi.

    Returns:
        The distance between the two capitals.
    """
    a, b = _country(country_a), _country(country_b)
    return _haversine_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"]) * _unit(unit)


def nearest_capital(latitude: float, longitude: float) -> dict[str, Any]:
    """Finds the known capital closest to a point.

    Args:
        latitude: The latitude of the point, in decimal degrees.
        longitude: The longitude of the point, in decimal degrees.

    Returns:
        An object with country, capital and distance_km.
    """
    la, lo = _lat_lon("latitude", latitude, "longitude", longitude)
    best = min(_countries(), key=lambda c: _haversine_km(la, lo, c["latitude"], c["longitude"]))
    distance = _haversine_km(la, lo, best["latitude"], best["longitude"])
    return {"country": best["country"], "capital": best["capital"], "distance_km": distance}


def _continent(name: str) -> str:
    for c in CONTINENTS:
        if isinstance(name, str) and name.strip().casefold() == c.casefold():
            return c
    raise ValueError(f"continent must be one of {list(CONTINENTS)}, got {name!r}")


def countries_in_continent(continent: str) -> list[str]:
    """Lists the known countries of a continent, alphabetically.

    Args:
        continent: Africa, Asia, Europe, North America, Oceania or South America.

    Returns:
        The country names.
    """
    cont = _continent(continent)
    return sorted(c["country"] for c in _countries() if c["continent"] == cont)


def most_populous_countries(n: int, continent: str | None = None) -> list[dict[str, Any]]:
    """Ranks the known countries by approximate population.

    Args:
        n: How many countries to return (1 to 46).
        continent: Restrict to one continent, or null for the whole world.

    Returns:
        Objects with country and population_millions, most populous first.
    """
    k = integer("n", n, low=1, high=len(_countries()))
    pool = [c for c in _countries() if continent is None or c["continent"] == _continent(continent)]
    ranked = sorted(pool, key=lambda c: -c["population_millions"])[:k]
    return [
        {"country": c["country"], "population_millions": c["population_millions"]} for c in ranked
    ]
