"""Booking a reservation: the checks and the writes, shared by the tool and the seed."""

from __future__ import annotations

import sqlite3
from typing import Any

from ._airline_schema import BAG_FEE_CENTS, FREE_BAGS, INSURANCE_CENTS, NOW
from ._errors import ToolError
from ._sql import debit, one

__all__ = ["book", "charge", "nonfree_bags"]


def nonfree_bags(db: sqlite3.Connection, user_id: str, cabin: str, bags: int, people: int) -> int:
    """Bags of a reservation beyond the free allowance of the user's membership and cabin."""
    membership = one(
        db, "SELECT membership FROM users WHERE user_id = ?", (user_id,), f"no user {user_id!r}"
    )[0]
    return max(0, bags - FREE_BAGS[membership][cabin] * people)


def charge(
    db: sqlite3.Connection, user_id: str, reservation: str, payment: str, cents: int
) -> None:
    """Pay (``cents`` > 0) or refund (< 0) ``payment`` of ``user_id`` for the reservation."""
    debit(db, user_id, payment, cents)
    if cents:
        db.execute(
            "INSERT INTO transactions (reservation_id, payment_id, amount_cents) VALUES (?, ?, ?)",
            (reservation, payment, cents),
        )


def _itinerary(db: sqlite3.Connection, a: dict[str, Any], today: str) -> list[tuple[Any, ...]]:
    """Each leg's (number, date, price): legs exist, fly, have the seats, and connect."""
    legs: list[tuple[Any, ...]] = []
    at, seen = a["origin"], []
    people = len(a["passengers"])
    for leg in a["flights"]:
        number, date = leg["flight_number"], leg["date"]
        route = one(
            db,
            "SELECT f.origin, f.destination, d.status FROM flights f JOIN "
            "flight_dates d USING (flight_number) WHERE flight_number = ? AND date = ?",
            (number, date),
            f"no flight {number} on {date}",
        )
        if route[2] != "available" or date < today:
            raise ToolError("unavailable", f"{number} on {date} cannot be booked ({route[2]})")
        if route[0] != at:
            raise ToolError("invalid_request", f"{number} leaves {route[0]}, not {at}")
        seat = one(
            db,
            "SELECT available, price_cents FROM seats WHERE flight_number = ? "
            "AND date = ? AND cabin = ?",
            (number, date, a["cabin"]),
            f"no {a['cabin']} cabin on {number}",
        )
        if seat[0] < people:
            raise ToolError("unavailable", f"{number} on {date}: {seat[0]} {a['cabin']} seats left")
        legs.append((number, date, seat[1]))
        at = route[1]
        seen.append(at)
    end = a["origin"] if a["flight_type"] == "round_trip" else a["destination"]
    if at != end or a["destination"] not in seen:
        raise ToolError(
            "invalid_request",
            f"the flights do not make a {a['flight_type']} trip "
            f"from {a['origin']} to {a['destination']}",
        )
    return legs


def book(db: sqlite3.Connection, a: dict[str, Any], *, created_at: str = NOW) -> dict[str, Any]:
    """Book ``a`` (the tool's arguments) paid in full by ``a["payment_id"]``; every check
    runs before the first write. ``created_at`` is the booking time (the seed books in the
    past, so its flights may have flown)."""
    user_id, people = a["user_id"], len(a["passengers"])
    one(db, "SELECT 1 FROM users WHERE user_id = ?", (user_id,), f"no user {user_id!r}")
    legs = _itinerary(db, a, created_at[:10])
    nonfree = nonfree_bags(db, user_id, a["cabin"], a["total_baggages"], people)
    total = (sum(leg[2] for leg in legs) + INSURANCE_CENTS * a["insurance"]) * people
    total += BAG_FEE_CENTS * nonfree
    count = db.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
    reservation = f"R{100001 + count * 7:06d}"
    db.execute(
        "INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
        (
            reservation,
            user_id,
            a["origin"],
            a["destination"],
            a["flight_type"],
            a["cabin"],
            created_at,
            a["total_baggages"],
            nonfree,
            int(a["insurance"]),
        ),
    )
    charge(db, user_id, reservation, a["payment_id"], total)
    for n, (number, date, price) in enumerate(legs):
        db.execute(
            "INSERT INTO reservation_flights VALUES (?, ?, ?, ?, ?)",
            (reservation, n, number, date, price),
        )
        db.execute(
            "UPDATE seats SET available = available - ? WHERE flight_number = ? "
            "AND date = ? AND cabin = ?",
            (people, number, date, a["cabin"]),
        )
    for n, p in enumerate(a["passengers"]):
        db.execute(
            "INSERT INTO passengers VALUES (?, ?, ?, ?, ?)",
            (reservation, n, p["first_name"], p["last_name"], p["dob"]),
        )
    return {"reservation_id": reservation, "total_cents": total, "nonfree_baggages": nonfree}
