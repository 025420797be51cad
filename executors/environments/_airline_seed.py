"""The airline domain's seeded data: flights with seats and prices per date, users,
reservations with passengers. Seeded reservations are booked through the booking tool
itself, so the seed keeps the same invariants as any later call.
"""

from __future__ import annotations

import random
import sqlite3

from ._airline_booking import book
from ._errors import ToolError

__all__ = ["seed_airline"]

_ROUTES = (
    ("JFK", "LAX", "08:00", "11:30"),
    ("LAX", "JFK", "13:00", "21:15"),
    ("JFK", "ORD", "07:10", "09:00"),
    ("ORD", "JFK", "18:00", "21:05"),
    ("ORD", "SEA", "10:30", "13:05"),
    ("SEA", "ORD", "14:00", "19:40"),
    ("SFO", "BOS", "06:45", "15:10"),
    ("BOS", "SFO", "16:30", "20:05"),
)
_DATES = ("2024-05-13", "2024-05-14", "2024-05-16", "2024-05-17", "2024-05-18", "2024-05-20")
_BASE = {"basic_economy": 9000, "economy": 15000, "business": 42000}
_FIRST = ("Mia", "Raj", "Ana", "Tom", "Lea", "Kofi", "Ines", "Yara", "Ben")
_LAST = ("Kim", "Patel", "Lopez", "Berg", "Adeyemi", "Moreau", "Sato")


def seed_airline(db: sqlite3.Connection, rng: random.Random) -> None:
    """Fill the airline tables: 8 flights on 6 dates (3 cabins each), 6 users, and up to 10
    reservations booked through the booking tool."""
    for n, (origin, destination, departs, arrives) in enumerate(_ROUTES):
        number = f"HAT{100 + n * 11 + rng.randrange(10):03d}"
        db.execute(
            "INSERT INTO flights VALUES (?, ?, ?, ?, ?)",
            (number, origin, destination, departs, arrives),
        )
        for date in _DATES:
            status = "cancelled" if rng.random() < 0.08 else "available"
            db.execute("INSERT INTO flight_dates VALUES (?, ?, ?)", (number, date, status))
            for cabin, base in _BASE.items():
                db.execute(
                    "INSERT INTO seats VALUES (?, ?, ?, ?, ?)",
                    (number, date, cabin, rng.randrange(0, 12), base + rng.randrange(0, 6000, 100)),
                )
    users: list[tuple[str, str]] = []
    for n, (first, last) in enumerate(
        zip(rng.sample(_FIRST, 6), rng.choices(_LAST, k=6), strict=True)
    ):
        user_id = f"{first.lower()}_{last.lower()}_{100 + n * 17 + rng.randrange(10)}"
        db.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
            (
                user_id,
                first,
                last,
                f"{first.lower()}.{last.lower()}{n}@example.com",
                rng.choice(("regular", "regular", "silver", "gold")),
            ),
        )
        card = f"credit_card_{rng.randrange(10**6, 10**7)}"
        db.execute(
            "INSERT INTO payment_methods VALUES (?, ?, 'credit_card', NULL)", (card, user_id)
        )
        if rng.random() < 0.5:
            db.execute(
                "INSERT INTO payment_methods VALUES (?, ?, 'gift_card', ?)",
                (
                    f"gift_card_{rng.randrange(10**6, 10**7)}",
                    user_id,
                    rng.randrange(0, 60000, 1000),
                ),
            )
        users.append((user_id, card))
    flights = db.execute(
        "SELECT flight_number, origin, destination FROM flights ORDER BY flight_number"
    ).fetchall()
    for n in range(10):
        user_id, card = users[n % len(users)]
        number, origin, destination = rng.choice(flights)
        date = rng.choice(_DATES)
        passengers = [
            {
                "first_name": rng.choice(_FIRST),
                "last_name": rng.choice(_LAST),
                "dob": f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(9)}",
            }
            for _ in range(rng.randint(1, 3))
        ]
        arguments = {
            "user_id": user_id,
            "origin": origin,
            "destination": destination,
            "flight_type": "one_way",
            "cabin": rng.choice(tuple(_BASE)),
            "flights": [{"flight_number": number, "date": date}],
            "passengers": passengers,
            "payment_id": card,
            "total_baggages": rng.randrange(0, 4),
            "insurance": rng.random() < 0.3,
        }
        created = f"2024-05-{rng.randrange(1, 16):02d}T{rng.randrange(24):02d}:00:00"
        db.execute("SAVEPOINT booking")
        try:
            book(db, arguments, created_at=created)
        except ToolError:  # no seats left, or the flight had flown: the seed books fewer
            db.execute("ROLLBACK TO booking")
        db.execute("RELEASE booking")
