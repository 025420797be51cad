"""Calendar arithmetic on ISO dates (YYYY-MM-DD), proleptic Gregorian calendar, UTC."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from ._validate import finite, integer

__all__ = [
    "add_days_to_date",
    "business_days_between",
    "calculate_age",
    "day_of_week",
    "days_between_dates",
    "days_in_month",
    "easter_date",
    "format_duration",
    "is_leap_year",
    "iso_week_number",
    "unix_timestamp_to_iso",
]


def _date(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a valid date in YYYY-MM-DD format, got {value!r}"
        ) from None


def days_between_dates(start_date: str, end_date: str) -> int:
    """Counts the days from one date to another.

    Args:
        start_date: The first date, YYYY-MM-DD.
        end_date: The second date, YYYY-MM-DD.

    Returns:
        The number of days (negative if end_date is before start_date).
    """
    return (_date("end_date", end_date) - _date("start_date", start_date)).days


def add_days_to_date(date: str, days: int) -> str:
    """Adds (or subtracts) a number of days to a date.

    Args:
        date: The date, YYYY-MM-DD.
        days: The number of days to add; negative to go back.

    Returns:
        The resulting date, YYYY-MM-DD.
    """
    try:
        return (_date("date", date) + dt.timedelta(days=integer("days", days))).isoformat()
    except OverflowError:
        raise ValueError("the resulting date is outside years 1-9999") from None


def day_of_week(date: str) -> str:
    """Finds the weekday of a date.

    Args:
        date: The date, YYYY-MM-DD.

    Returns:
        The English weekday name, e.g. "Monday".
    """
    return calendar.day_name[_date("date", date).weekday()]


def is_leap_year(year: int) -> bool:
    """Checks whether a year is a Gregorian leap year.

    Args:
        year: The year (1 to 9999).

    Returns:
        True if the year has 366 days.
    """
    return calendar.isleap(integer("year", year, low=1, high=9999))


def days_in_month(year: int, month: int) -> int:
    """Counts the days of a month.

    Args:
        year: The year (1 to 9999).
        month: The month number (1 to 12).

    Returns:
        The number of days, 28 to 31.
    """
    y = integer("year", year, low=1, high=9999)
    return calendar.monthrange(y, integer("month", month, low=1, high=12))[1]


def calculate_age(birth_date: str, on_date: str) -> int:
    """Calculates a person's age in whole years on a given date.

    Args:
        birth_date: The date of birth, YYYY-MM-DD.
        on_date: The date to compute the age on, YYYY-MM-DD (not before birth_date).

    Returns:
        The age in completed years.
    """
    born, on = _date("birth_date", birth_date), _date("on_date", on_date)
    if on < born:
        raise ValueError("on_date must not be before birth_date")
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def iso_week_number(date: str) -> dict[str, int]:
    """Finds the ISO 8601 year, week and weekday of a date.

    Args:
        date: The date, YYYY-MM-DD.

    Returns:
        An object with year, week (1-53) and weekday (1 = Monday).
    """
    iso = _date("date", date).isocalendar()
    return {"year": iso.year, "week": iso.week, "weekday": iso.weekday}


def business_days_between(start_date: str, end_date: str) -> int:
    """Counts weekdays (Monday-Friday) from start_date up to but excluding end_date.

    Args:
        start_date: The first date, YYYY-MM-DD (counted).
        end_date: The last date, YYYY-MM-DD (not counted); not before start_date.

    Returns:
        The number of weekdays, ignoring public holidays.
    """
    start, end = _date("start_date", start_date), _date("end_date", end_date)
    if end < start:
        raise ValueError("end_date must not be before start_date")
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    return weeks * 5 + sum((start.weekday() + i) % 7 < 5 for i in range(rest))


def easter_date(year: int) -> str:
    """Calculates the date of Western (Gregorian) Easter Sunday.

    Args:
        year: The year (1583 to 9999).

    Returns:
        The date of Easter Sunday, YYYY-MM-DD.
    """
    y = integer("year", year, low=1583, high=9999)
    a, b, c = y % 19, y // 100, y % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(y, month, day + 1).isoformat()


def unix_timestamp_to_iso(timestamp: float) -> str:
    """Converts a Unix timestamp to an ISO 8601 UTC date-time.

    Args:
        timestamp: Seconds since 1970-01-01T00:00:00Z.

    Returns:
        The UTC date-time, e.g. "2009-02-13T23:31:30+00:00".
    """
    ts = finite("timestamp", timestamp)
    try:
        return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"timestamp {timestamp!r} is out of range") from None


def format_duration(seconds: int) -> dict[str, Any]:
    """Breaks a number of seconds into days, hours, minutes and seconds.

    Args:
        seconds: The duration in seconds (non-negative).

    Returns:
        An object with days, hours, minutes, seconds and text (e.g. "1d 2h 3m 4s").
    """
    total = integer("seconds", seconds, low=0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{days}d {hours}h {minutes}m {secs}s"
    return {"days": days, "hours": hours, "minutes": minutes, "seconds": secs, "text": text}
