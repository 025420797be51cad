"""The airline domain (after tau-bench's): search direct flights, book, look up, cancel,
and change the bags and passengers of reservations.

Invariants every tool keeps (the tests check them after random call sequences): seats and
gift-card balances never go negative; a seat is free or held by an active reservation, so
free seats plus booked passengers per flight, date and cabin never change; an active
reservation's net paid equals its price (fares times passengers, insurance, extra bags),
a cancelled one's is zero.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from ._airline_booking import book, charge, nonfree_bags
from ._airline_schema import AIRLINE_SCHEMA, BAG_FEE_CENTS, NOW, TODAY
from ._airline_seed import seed_airline
from ._environment import Domain, Tool
from ._errors import ToolError
from ._sql import one, payment_methods

__all__ = ["AIRLINE", "AIRLINE_POLICY"]

AIRLINE_POLICY = f"""\
You are an airline reservation agent. The time is {NOW}.
- Before anything else, obtain the user's id; act only for that user and their own
  reservations.
- Before any booking or change, list what will happen (flights, cabin, passengers, bags,
  insurance, price) and get an explicit "yes" from the user. Make one change at a time.
- A booking pays the whole price with one payment method of the user; a gift card must
  cover it. At most 5 passengers. Flights that are cancelled or have left cannot be booked.
- Free checked bags per passenger: regular members 0 in basic economy, 1 in economy, 2 in
  business; silver 1/2/3; gold 2/3/3. Each further bag costs {BAG_FEE_CENTS // 100} dollars.
  Bags can be added to a reservation, never removed.
- Passengers' names and dates of birth can be changed, but not their number.
- A reservation can be cancelled only if none of its flights has left, and only if it was
  booked within the last 24 hours, is in business class, or has travel insurance. A
  cancellation refunds every payment to the method it came from.
- Do not make up information; say so when a request is outside this policy.
"""
"""What the agent must follow. Payment, seat, bag and cancellation rules are enforced by
the tools (``policy_violation``, ``unavailable``, ``insufficient_funds``); identity checks
and confirmations are the agent's to keep, for a later stage to judge."""

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_AIRPORT = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "IATA code, e.g. JFK"}
_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "YYYY-MM-DD"}
_CABIN = {"enum": ["basic_economy", "economy", "business"]}
_PASSENGERS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 5,
    "items": {
        "type": "object",
        "required": ["first_name", "last_name", "dob"],
        "properties": {"first_name": _ID, "last_name": _ID, "dob": _DATE},
    },
}
_BAGS = {"type": "integer", "minimum": 0, "maximum": 20, "description": "checked bags in all"}
_RESERVATION = {"reservation_id": {**_ID, "description": "such as 'R100001'"}}


def _schema(required: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": required, "required": list(required)}


def get_user_details(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    u = one(
        db, "SELECT * FROM users WHERE user_id = ?", (a["user_id"],), f"no user {a['user_id']!r}"
    )
    methods = payment_methods(db, u[0])
    reservations = [
        r[0]
        for r in db.execute(
            "SELECT reservation_id FROM reservations WHERE user_id = ? ORDER BY 1", (u[0],)
        )
    ]
    return {
        "user_id": u[0],
        "name": {"first_name": u[1], "last_name": u[2]},
        "email": u[3],
        "membership": u[4],
        "payment_methods": methods,
        "reservations": reservations,
    }


def search_direct_flight(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    found: dict[str, dict[str, Any]] = {}
    for number, departs, arrives, cabin, seats, price in db.execute(
        "SELECT f.flight_number, f.departure, f.arrival, s.cabin, s.available, s.price_cents "
        "FROM flights f JOIN flight_dates d USING (flight_number) "
        "JOIN seats s ON s.flight_number = d.flight_number AND s.date = d.date "
        "WHERE f.origin = ? AND f.destination = ? AND d.date = ? AND d.status = 'available' "
        "ORDER BY 1, 4",
        (a["origin"], a["destination"], a["date"]),
    ):
        flight = found.setdefault(
            number,
            {
                "flight_number": number,
                "date": a["date"],
                "departure": departs,
                "arrival": arrives,
                "cabins": {},
            },
        )
        flight["cabins"][cabin] = {"available_seats": seats, "price_cents": price}
    return list(found.values())


def get_reservation_details(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    r = one(
        db,
        "SELECT * FROM reservations WHERE reservation_id = ?",
        (a["reservation_id"],),
        f"no reservation {a['reservation_id']!r}",
    )
    flights = [
        {"flight_number": n, "date": d, "price_cents": p}
        for n, d, p in db.execute(
            "SELECT flight_number, date, price_cents FROM reservation_flights "
            "WHERE reservation_id = ? ORDER BY leg",
            (r[0],),
        )
    ]
    passengers = [
        {"first_name": f, "last_name": la, "dob": d}
        for f, la, d in db.execute(
            "SELECT first_name, last_name, dob FROM passengers WHERE reservation_id = ? "
            "ORDER BY position",
            (r[0],),
        )
    ]
    payments = [
        {"payment_id": p, "amount_cents": c}
        for p, c in db.execute(
            "SELECT payment_id, amount_cents FROM transactions WHERE reservation_id = ? "
            "ORDER BY txn",
            (r[0],),
        )
    ]
    return {
        "reservation_id": r[0],
        "user_id": r[1],
        "origin": r[2],
        "destination": r[3],
        "flight_type": r[4],
        "cabin": r[5],
        "status": r[6],
        "created_at": r[7],
        "total_baggages": r[8],
        "nonfree_baggages": r[9],
        "insurance": bool(r[10]),
        "flights": flights,
        "passengers": passengers,
        "payments": payments,
    }


def book_reservation(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    booked = book(db, a)
    return get_reservation_details(db, {"reservation_id": booked["reservation_id"]})


def _people(db: sqlite3.Connection, reservation_id: str) -> int:
    count: int = db.execute(
        "SELECT COUNT(*) FROM passengers WHERE reservation_id = ?", (reservation_id,)
    ).fetchone()[0]
    return count


def _active(db: sqlite3.Connection, reservation_id: str) -> Any:
    r = one(
        db,
        "SELECT reservation_id, user_id, cabin, status, created_at, insurance, "
        "total_baggages, nonfree_baggages FROM reservations WHERE reservation_id = ?",
        (reservation_id,),
        f"no reservation {reservation_id!r}",
    )
    if r[3] != "active":
        raise ToolError("policy_violation", f"{reservation_id} is {r[3]}")
    return r


def cancel_reservation(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    r = _active(db, a["reservation_id"])
    legs = db.execute(
        "SELECT flight_number, date FROM reservation_flights WHERE reservation_id = ?", (r[0],)
    ).fetchall()
    if any(date < TODAY for _, date in legs):
        raise ToolError("policy_violation", f"{r[0]} has a flight that already left")
    recent = datetime.fromisoformat(r[4]) >= datetime.fromisoformat(NOW) - timedelta(hours=24)
    if not (recent or r[2] == "business" or r[5]):
        raise ToolError(
            "policy_violation",
            f"{r[0]} was booked over 24 hours ago, is not in business class and has no insurance",
        )
    people = _people(db, r[0])
    for number, date in legs:
        db.execute(
            "UPDATE seats SET available = available + ? WHERE flight_number = ? "
            "AND date = ? AND cabin = ?",
            (people, number, date, r[2]),
        )
    for payment, net in db.execute(
        "SELECT payment_id, SUM(amount_cents) FROM transactions WHERE reservation_id = ? "
        "GROUP BY payment_id ORDER BY payment_id",
        (r[0],),
    ).fetchall():
        charge(db, r[1], r[0], payment, -net)
    db.execute("UPDATE reservations SET status = 'cancelled' WHERE reservation_id = ?", (r[0],))
    return get_reservation_details(db, {"reservation_id": r[0]})


def update_reservation_baggages(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    r = _active(db, a["reservation_id"])
    if a["total_baggages"] < r[6]:
        raise ToolError("policy_violation", f"bags cannot be removed ({r[6]} checked)")
    people = _people(db, r[0])
    nonfree = nonfree_bags(db, r[1], r[2], a["total_baggages"], people)
    charge(db, r[1], r[0], a["payment_id"], BAG_FEE_CENTS * (nonfree - r[7]))
    db.execute(
        "UPDATE reservations SET total_baggages = ?, nonfree_baggages = ? WHERE reservation_id = ?",
        (a["total_baggages"], nonfree, r[0]),
    )
    return get_reservation_details(db, {"reservation_id": r[0]})


def update_reservation_passengers(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    r = _active(db, a["reservation_id"])
    people = _people(db, r[0])
    if len(a["passengers"]) != people:
        raise ToolError("policy_violation", f"the number of passengers ({people}) cannot change")
    for n, p in enumerate(a["passengers"]):
        db.execute(
            "UPDATE passengers SET first_name = ?, last_name = ?, dob = ? "
            "WHERE reservation_id = ? AND position = ?",
            (p["first_name"], p["last_name"], p["dob"], r[0], n),
        )
    return get_reservation_details(db, {"reservation_id": r[0]})


AIRLINE = Domain(
    name="airline",
    schema=AIRLINE_SCHEMA,
    seed=seed_airline,
    policy=AIRLINE_POLICY,
    tools=(
        Tool(
            "get_user_details",
            "A user's name, membership, payment methods and reservations.",
            _schema({"user_id": _ID}),
            get_user_details,
        ),
        Tool(
            "search_direct_flight",
            "Direct flights between two airports on a date, with seats and prices per cabin.",
            _schema({"origin": _AIRPORT, "destination": _AIRPORT, "date": _DATE}),
            search_direct_flight,
        ),
        Tool(
            "get_reservation_details",
            "A reservation's flights, passengers, cabin, bags, insurance and payments.",
            _schema(_RESERVATION),
            get_reservation_details,
        ),
        Tool(
            "book_reservation",
            "Book flights for passengers in one cabin, paid in full by one payment method.",
            _schema(
                {
                    "user_id": _ID,
                    "origin": _AIRPORT,
                    "destination": _AIRPORT,
                    "flight_type": {"enum": ["one_way", "round_trip"]},
                    "cabin": _CABIN,
                    "flights": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 4,
                        "items": {
                            "type": "object",
                            "required": ["flight_number", "date"],
                            "properties": {"flight_number": _ID, "date": _DATE},
                        },
                    },
                    "passengers": _PASSENGERS,
                    "payment_id": _ID,
                    "total_baggages": _BAGS,
                    "insurance": {"type": "boolean"},
                }
            ),
            book_reservation,
            writes=True,
        ),
        Tool(
            "cancel_reservation",
            "Cancel a reservation and refund its payments.",
            _schema(_RESERVATION),
            cancel_reservation,
            writes=True,
        ),
        Tool(
            "update_reservation_baggages",
            "Set a reservation's checked bags (never fewer); extra bags are charged.",
            _schema({**_RESERVATION, "total_baggages": _BAGS, "payment_id": _ID}),
            update_reservation_baggages,
            writes=True,
        ),
        Tool(
            "update_reservation_passengers",
            "Change the names and dates of birth of a reservation's passengers (same number).",
            _schema({**_RESERVATION, "passengers": _PASSENGERS}),
            update_reservation_passengers,
            writes=True,
        ),
    ),
)
"""The airline domain: 7 tools over 8 flights on 6 dates, 6 users and their reservations."""
