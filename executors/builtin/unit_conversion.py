"""Unit conversions by exact SI factors (international yard and pound, US liquid gallon).

BFCL name kept: ``convert_temperature``.
"""

from __future__ import annotations

import math
from typing import Literal

from ._validate import finite

__all__ = [
    "convert_angle",
    "convert_area",
    "convert_data_size",
    "convert_energy",
    "convert_length",
    "convert_mass",
    "convert_pressure",
    "convert_speed",
    "convert_temperature",
    "convert_time",
    "convert_volume",
]

_LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048,
           "yd": 0.9144, "mi": 1609.344, "nmi": 1852.0}  # fmt: skip
_MASS = {"mg": 1e-6, "g": 0.001, "kg": 1.0, "t": 1000.0, "oz": 0.028349523125,
         "lb": 0.45359237, "st": 6.35029318}  # fmt: skip
_VOLUME = {"ml": 1e-6, "l": 0.001, "m3": 1.0, "tsp": 4.92892159375e-6, "tbsp": 1.478676478125e-5,
           "cup": 2.365882365e-4, "pt": 4.73176473e-4, "qt": 9.46352946e-4,
           "gal": 3.785411784e-3}  # fmt: skip
_SPEED = {"m/s": 1.0, "km/h": 1 / 3.6, "mph": 0.44704, "knot": 1852 / 3600, "ft/s": 0.3048}
_AREA = {"mm2": 1e-6, "cm2": 1e-4, "m2": 1.0, "ha": 1e4, "km2": 1e6, "in2": 0.00064516,
         "ft2": 0.09290304, "acre": 4046.8564224, "mi2": 2589988.110336}  # fmt: skip
_DATA = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "KiB": 1024,
         "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "bit": 0.125}  # fmt: skip
_TIME = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0, "week": 604800.0,
         "year": 31557600.0}  # fmt: skip
_PRESSURE = {"Pa": 1.0, "kPa": 1000.0, "bar": 1e5, "atm": 101325.0, "psi": 6894.757293168,
             "mmHg": 133.322387415}  # fmt: skip
_ENERGY = {"J": 1.0, "kJ": 1000.0, "cal": 4.184, "kcal": 4184.0, "Wh": 3600.0, "kWh": 3.6e6,
           "eV": 1.602176634e-19, "BTU": 1055.05585262}  # fmt: skip
_ANGLE = {"deg": math.pi / 180, "rad": 1.0, "grad": math.pi / 200, "turn": 2 * math.pi}


def _convert(table: dict[str, float], value: float, from_unit: str, to_unit: str) -> float:
    for name, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        if unit not in table:
            raise ValueError(f"{name} must be one of {sorted(table)}, got {unit!r}")
    return finite("value", value) * table[from_unit] / table[to_unit]


_TEMPS = {"celsius": "C", "c": "C", "fahrenheit": "F", "f": "F", "kelvin": "K", "k": "K"}


def convert_temperature(temperature: float, unit_from: str, unit_to: str) -> float:
    """Converts a temperature between Celsius, Fahrenheit and Kelvin.

    Args:
        temperature: The temperature to convert.
        unit_from: The current unit: Celsius, Fahrenheit or Kelvin (or C, F, K).
        unit_to: The unit to convert to: Celsius, Fahrenheit or Kelvin (or C, F, K).

    Returns:
        The converted temperature.
    """
    t = finite("temperature", temperature)
    units = []
    for name, unit in (("unit_from", unit_from), ("unit_to", unit_to)):
        key = unit.strip().lower() if isinstance(unit, str) else ""
        if key not in _TEMPS:
            raise ValueError(f"{name} must be Celsius, Fahrenheit or Kelvin, got {unit!r}")
        units.append(_TEMPS[key])
    kelvin = {"C": t + 273.15, "F": (t - 32) * 5 / 9 + 273.15, "K": t}[units[0]]
    if kelvin < 0:
        raise ValueError("the temperature is below absolute zero")
    return {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[units[1]]


def convert_length(
    value: float,
    from_unit: Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"],
    to_unit: Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"],
) -> float:
    """Converts a length between metric and imperial units.

    Args:
        value: The length to convert.
        from_unit: The unit of the value (mm, cm, m, km, in, ft, yd, mi, nmi).
        to_unit: The unit to convert to.

    Returns:
        The length in to_unit.
    """
    return _convert(_LENGTH, value, from_unit, to_unit)


def convert_mass(
    value: float,
    from_unit: Literal["mg", "g", "kg", "t", "oz", "lb", "st"],
    to_unit: Literal["mg", "g", "kg", "t", "oz", "lb", "st"],
) -> float:
    """Converts a mass between metric and avoirdupois units.

    Args:
        value: The mass to convert.
        from_unit: The unit of the value (mg, g, kg, t, oz, lb, st).
        to_unit: The unit to convert to.

    Returns:
        The mass in to_unit.
    """
    return _convert(_MASS, value, from_unit, to_unit)


def convert_volume(
    value: float,
    from_unit: Literal["ml", "l", "m3", "tsp", "tbsp", "cup", "pt", "qt", "gal"],
    to_unit: Literal["ml", "l", "m3", "tsp", "tbsp", "cup", "pt", "qt", "gal"],
) -> float:
    """Converts a volume between metric and US customary units.

    Args:
        value: The volume to convert.
        from_unit: The unit of the value (ml, l, m3, tsp, tbsp, cup, pt, qt, gal; US).
        to_unit: The unit to convert to.

    Returns:
        The volume in to_unit.
    """
    return _convert(_VOLUME, value, from_unit, to_unit)


def convert_speed(
    value: float,
    from_unit: Literal["m/s", "km/h", "mph", "knot", "ft/s"],
    to_unit: Literal["m/s", "km/h", "mph", "knot", "ft/s"],
) -> float:
    """Converts a speed between units.

    Args:
        value: The speed to convert.
        from_unit: The unit of the value (m/s, km/h, mph, knot, ft/s).
        to_unit: The unit to convert to.

    Returns:
        The speed in to_unit.
    """
    return _convert(_SPEED, value, from_unit, to_unit)


def convert_area(
    value: float,
    from_unit: Literal["mm2", "cm2", "m2", "ha", "km2", "in2", "ft2", "acre", "mi2"],
    to_unit: Literal["mm2", "cm2", "m2", "ha", "km2", "in2", "ft2", "acre", "mi2"],
) -> float:
    """Converts an area between units.

    Args:
        value: The area to convert.
        from_unit: The unit of the value (mm2, cm2, m2, ha, km2, in2, ft2, acre, mi2).
        to_unit: The unit to convert to.

    Returns:
        The area in to_unit.
    """
    return _convert(_AREA, value, from_unit, to_unit)


def convert_data_size(
    value: float,
    from_unit: Literal["bit", "B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"],
    to_unit: Literal["bit", "B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"],
) -> float:
    """Converts an amount of data between decimal (KB = 1000 B) and binary (KiB = 1024 B) units.

    Args:
        value: The amount to convert.
        from_unit: The unit of the value (bit, B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).
        to_unit: The unit to convert to.

    Returns:
        The amount in to_unit.
    """
    return _convert({k: float(v) for k, v in _DATA.items()}, value, from_unit, to_unit)


def convert_time(
    value: float,
    from_unit: Literal["ms", "s", "min", "h", "day", "week", "year"],
    to_unit: Literal["ms", "s", "min", "h", "day", "week", "year"],
) -> float:
    """Converts a duration between units (a year is 365.25 days).

    Args:
        value: The duration to convert.
        from_unit: The unit of the value (ms, s, min, h, day, week, year).
        to_unit: The unit to convert to.

    Returns:
        The duration in to_unit.
    """
    return _convert(_TIME, value, from_unit, to_unit)


def convert_pressure(
    value: float,
    from_unit: Literal["Pa", "kPa", "bar", "atm", "psi", "mmHg"],
    to_unit: Literal["Pa", "kPa", "bar", "atm", "psi", "mmHg"],
) -> float:
    """Converts a pressure between units.

    Args:
        value: The pressure to convert.
        from_unit: The unit of the value (Pa, kPa, bar, atm, psi, mmHg).
        to_unit: The unit to convert to.

    Returns:
        The pressure in to_unit.
    """
    return _convert(_PRESSURE, value, from_unit, to_unit)


def convert_energy(
    value: float,
    from_unit: Literal["J", "kJ", "cal", "kcal", "Wh", "kWh", "eV", "BTU"],
    to_unit: Literal["J", "kJ", "cal", "kcal", "Wh", "kWh", "eV", "BTU"],
) -> float:
    """Converts an energy between units (thermochemical calorie, IT BTU).

    Args:
        value: The energy to convert.
        from_unit: The unit of the value (J, kJ, cal, kcal, Wh, kWh, eV, BTU).
        to_unit: The unit to convert to.

    Returns:
        The energy in to_unit.
    """
    return _convert(_ENERGY, value, from_unit, to_unit)


def convert_angle(
    value: float,
    from_unit: Literal["deg", "rad", "grad", "turn"],
    to_unit: Literal["deg", "rad", "grad", "turn"],
) -> float:
    """Converts an angle between degrees, radians, gradians and turns.

    Args:
        value: The angle to convert.
        from_unit: The unit of the value (deg, rad, grad, turn).
        to_unit: The unit to convert to.

    Returns:
        The angle in to_unit.
    """
    return _convert(_ANGLE, value, from_unit, to_unit)
