"""Endpoints over the bundled reference data: elements, chemistry, planets, countries."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from ._data import COUNTRIES, ELEMENTS, PLANETS, Country, Element, Planet

__all__ = ["router"]

router = APIRouter()

_BY_SYMBOL = {e.symbol.lower(): e for e in ELEMENTS}
_BY_NUMBER = {e.atomic_number: e for e in ELEMENTS}
_PLANETS = {p.name.lower(): p for p in PLANETS}
_COUNTRIES = {c.alpha2.lower(): c for c in COUNTRIES} | {c.alpha3.lower(): c for c in COUNTRIES}
_FORMULA_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)|(\()|(\))(\d*)")


def _element(e: Element) -> dict[str, Any]:
    return {
        "atomic_number": e.atomic_number,
        "symbol": e.symbol,
        "name": e.name,
        "atomic_mass": e.atomic_mass,
        "period": e.period,
    }


def _planet(p: Planet) -> dict[str, Any]:
    return {
        "order": p.order,
        "name": p.name,
        "mass_kg": p.mass_1e24_kg * 1e24,
        "diameter_km": p.diameter_km,
        "surface_gravity_m_s2": p.gravity_m_s2,
        "orbital_period_days": p.orbital_period_days,
        "distance_from_sun_km": p.distance_from_sun_1e6_km * 1e6,
    }


def _country(c: Country) -> dict[str, Any]:
    return {
        "name": c.name,
        "alpha2": c.alpha2,
        "alpha3": c.alpha3,
        "capital": c.capital,
        "continent": c.continent,
        "currency": c.currency,
    }


@router.get(
    "/elements",
    operation_id="list_elements",
    summary="List chemical elements",
    description="Chemical elements with atomic number, symbol, name, standard atomic mass "
    "and period, optionally filtered by period or a name fragment.",
    tags=["chemistry"],
)
def list_elements(
    period: Annotated[int | None, Query(ge=1, le=7, description="Only this period (1-7)")] = None,
    name_contains: Annotated[
        str | None, Query(max_length=40, description="Case-insensitive name fragment")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Maximum number of results")] = 200,
) -> list[dict[str, Any]]:
    found = [
        e
        for e in ELEMENTS
        if (period is None or e.period == period)
        and (name_contains is None or name_contains.lower() in e.name.lower())
    ]
    return [_element(e) for e in found[:limit]]


@router.get(
    "/elements/{symbol}",
    operation_id="get_element_by_symbol",
    summary="Look up a chemical element by symbol",
    description="The element with the given chemical symbol (case-insensitive), e.g. 'Fe'.",
    tags=["chemistry"],
    responses={404: {"description": "No element has this symbol"}},
)
def get_element_by_symbol(
    symbol: Annotated[str, Path(max_length=3, description="Chemical symbol, e.g. 'Na'")],
) -> dict[str, Any]:
    element = _BY_SYMBOL.get(symbol.lower())
    if element is None:
        raise HTTPException(404, f"no element with symbol {symbol!r}")
    return _element(element)


@router.get(
    "/elements/number/{atomic_number}",
    operation_id="get_element_by_number",
    summary="Look up a chemical element by atomic number",
    description="The element with the given atomic number (number of protons).",
    tags=["chemistry"],
    responses={404: {"description": "The element is not in the bundled table"}},
)
def get_element_by_number(
    atomic_number: Annotated[int, Path(ge=1, le=118, description="Atomic number, 1-118")],
) -> dict[str, Any]:
    element = _BY_NUMBER.get(atomic_number)
    if element is None:
        raise HTTPException(404, f"element {atomic_number} is not in the bundled table")
    return _element(element)


class FormulaBody(BaseModel):
    formula: str = Field(
        min_length=1, max_length=100, description="Chemical formula, e.g. 'H2O' or 'Ca(OH)2'"
    )


def _parse_formula(formula: str) -> dict[str, int]:
    stack: list[dict[str, int]] = [{}]
    pos = 0
    while pos < len(formula):
        match = _FORMULA_TOKEN.match(formula, pos)
        if match is None:
            raise HTTPException(400, f"unexpected character at {pos}: {formula[pos]!r}")
        symbol, count, opening, closing, group_count = match.groups()
        if symbol:
            if symbol.lower() not in _BY_SYMBOL:
                raise HTTPException(400, f"unknown element {symbol!r}")
            stack[-1][symbol] = stack[-1].get(symbol, 0) + int(count or 1)
        elif opening:
            stack.append({})
        elif closing:
            if len(stack) == 1:
                raise HTTPException(400, "unbalanced ')'")
            group = stack.pop()
            for sym, n in group.items():
                stack[-1][sym] = stack[-1].get(sym, 0) + n * int(group_count or 1)
        pos = match.end()
    if len(stack) != 1:
        raise HTTPException(400, "unbalanced '('")
    return stack[0]


@router.post(
    "/chemistry/molar-mass",
    operation_id="compute_molar_mass",
    summary="Molar mass of a chemical formula",
    description="Parses a formula with optional parenthesized groups and returns its molar "
    "mass in g/mol and the atom counts per element.",
    tags=["chemistry"],
    responses={400: {"description": "The formula cannot be parsed"}},
)
def compute_molar_mass(body: FormulaBody) -> dict[str, Any]:
    counts = _parse_formula(body.formula)
    mass = sum(_BY_SYMBOL[s.lower()].atomic_mass * n for s, n in counts.items())
    return {"formula": body.formula, "atoms": counts, "molar_mass_g_mol": round(mass, 4)}


@router.get(
    "/planets",
    operation_id="list_planets",
    summary="List the planets of the solar system",
    description="The eight planets in order from the Sun with mass, diameter, surface "
    "gravity, orbital period and mean distance from the Sun (NASA fact sheet).",
    tags=["astronomy"],
)
def list_planets(
    min_diameter_km: Annotated[
        float, Query(ge=0, description="Only planets at least this wide (km)")
    ] = 0,
) -> list[dict[str, Any]]:
    return [_planet(p) for p in PLANETS if p.diameter_km >= min_diameter_km]


@router.get(
    "/planets/{name}",
    operation_id="get_planet",
    summary="Look up a planet by name",
    description="Physical and orbital data of one planet (case-insensitive name).",
    tags=["astronomy"],
    responses={404: {"description": "Not a planet of the solar system"}},
)
def get_planet(
    name: Annotated[str, Path(max_length=20, description="Planet name, e.g. 'Mars'")],
) -> dict[str, Any]:
    planet = _PLANETS.get(name.lower())
    if planet is None:
        raise HTTPException(404, f"{name!r} is not a planet of the solar system")
    return _planet(planet)


@router.get(
    "/planets/{name}/weight",
    operation_id="planet_surface_weight",
    summary="Weight of a mass on a planet's surface",
    description="The weight in newtons (and the equivalent Earth kilograms) of an object "
    "of the given mass standing on the planet's surface.",
    tags=["astronomy"],
    responses={404: {"description": "Not a planet of the solar system"}},
)
def planet_surface_weight(
    name: Annotated[str, Path(max_length=20, description="Planet name, e.g. 'Mars'")],
    mass_kg: Annotated[float, Query(gt=0, le=1e9, description="Mass of the object in kg")],
) -> dict[str, Any]:
    planet = _PLANETS.get(name.lower())
    if planet is None:
        raise HTTPException(404, f"{name!r} is not a planet of the solar system")
    newtons = mass_kg * planet.gravity_m_s2
    return {
        "planet": planet.name,
        "mass_kg": mass_kg,
        "weight_newtons": round(newtons, 3),
        "earth_equivalent_kg": round(newtons / 9.80665, 3),
    }


@router.get(
    "/countries",
    operation_id="list_countries",
    summary="List countries",
    description="Countries with ISO 3166-1 codes, capital, continent and ISO 4217 currency, "
    "optionally filtered by continent or currency.",
    tags=["geography"],
)
def list_countries(
    continent: Annotated[
        str | None, Query(max_length=20, description="e.g. 'Europe', 'Asia', 'Africa'")
    ] = None,
    currency: Annotated[
        str | None, Query(min_length=3, max_length=3, description="ISO 4217 code, e.g. 'EUR'")
    ] = None,
) -> list[dict[str, Any]]:
    return [
        _country(c)
        for c in COUNTRIES
        if (continent is None or c.continent.lower() == continent.lower())
        and (currency is None or c.currency == currency.upper())
    ]


@router.get(
    "/countries/{code}",
    operation_id="get_country",
    summary="Look up a country by ISO code",
    description="The country with the given ISO 3166-1 alpha-2 or alpha-3 code.",
    tags=["geography"],
    responses={404: {"description": "No country has this code"}},
)
def get_country(
    code: Annotated[
        str, Path(min_length=2, max_length=3, description="ISO code, e.g. 'FR' or 'FRA'")
    ],
) -> dict[str, Any]:
    country = _COUNTRIES.get(code.lower())
    if country is None:
        raise HTTPException(404, f"no country with code {code!r}")
    return _country(country)


@router.get(
    "/capitals/{capital}",
    operation_id="find_country_by_capital",
    summary="Find the country of a capital city",
    description="The country whose capital has the given name (case-insensitive).",
    tags=["geography"],
    responses={404: {"description": "Not a capital in the bundled table"}},
)
def find_country_by_capital(
    capital: Annotated[str, Path(max_length=60, description="Capital city, e.g. 'Oslo'")],
) -> dict[str, Any]:
    for country in COUNTRIES:
        if country.capital.lower() == capital.lower():
            return _country(country)
    raise HTTPException(404, f"{capital!r} is not a capital in the bundled table")
