"""The airline domain's schema, clock and fees.

Money is in integer cents. The clock is fixed (:data:`NOW`), so "within 24 hours" and
"already flown" mean the same in every run.
"""

from __future__ import annotations

__all__ = ["AIRLINE_SCHEMA", "BAG_FEE_CENTS", "FREE_BAGS", "INSURANCE_CENTS", "NOW", "TODAY"]

NOW = "2024-05-15T15:00:00"
"""The environment's clock (ISO 8601, no zone): every reservation made now is made then."""
TODAY = NOW[:10]
"""Flights dated before this day have flown."""

AIRLINE_SCHEMA = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    membership TEXT NOT NULL CHECK (membership IN ('regular', 'silver', 'gold'))
);
CREATE TABLE payment_methods (
    payment_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users,
    kind TEXT NOT NULL CHECK (kind IN ('credit_card', 'gift_card')),
    balance_cents INTEGER CHECK (balance_cents >= 0),
    CHECK ((kind = 'gift_card') = (balance_cents IS NOT NULL))
);
CREATE TABLE flights (
    flight_number TEXT PRIMARY KEY, origin TEXT NOT NULL, destination TEXT NOT NULL,
    departure TEXT NOT NULL, arrival TEXT NOT NULL
);
CREATE TABLE flight_dates (
    flight_number TEXT NOT NULL REFERENCES flights, date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('available', 'cancelled')),
    PRIMARY KEY (flight_number, date)
);
CREATE TABLE seats (
    flight_number TEXT NOT NULL, date TEXT NOT NULL,
    cabin TEXT NOT NULL CHECK (cabin IN ('basic_economy', 'economy', 'business')),
    available INTEGER NOT NULL CHECK (available >= 0),
    price_cents INTEGER NOT NULL CHECK (price_cents > 0),
    PRIMARY KEY (flight_number, date, cabin),
    FOREIGN KEY (flight_number, date) REFERENCES flight_dates
);
CREATE TABLE reservations (
    reservation_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users,
    origin TEXT NOT NULL, destination TEXT NOT NULL,
    flight_type TEXT NOT NULL CHECK (flight_type IN ('one_way', 'round_trip')),
    cabin TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    created_at TEXT NOT NULL, total_baggages INTEGER NOT NULL CHECK (total_baggages >= 0),
    nonfree_baggages INTEGER NOT NULL CHECK (nonfree_baggages >= 0),
    insurance INTEGER NOT NULL CHECK (insurance IN (0, 1))
);
CREATE TABLE reservation_flights (
    reservation_id TEXT NOT NULL REFERENCES reservations, leg INTEGER NOT NULL,
    flight_number TEXT NOT NULL, date TEXT NOT NULL, price_cents INTEGER NOT NULL,
    PRIMARY KEY (reservation_id, leg)
);
CREATE TABLE passengers (
    reservation_id TEXT NOT NULL REFERENCES reservations, position INTEGER NOT NULL,
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, dob TEXT NOT NULL,
    PRIMARY KEY (reservation_id, position)
);
CREATE TABLE transactions (
    txn INTEGER PRIMARY KEY, reservation_id TEXT NOT NULL REFERENCES reservations,
    payment_id TEXT NOT NULL REFERENCES payment_methods, amount_cents INTEGER NOT NULL
);
"""
"""The airline tables; ``transactions.amount_cents`` is positive when paid, negative when
refunded."""

BAG_FEE_CENTS = 5000
"""Price of one checked bag beyond the free allowance, in cents."""
INSURANCE_CENTS = 3000
"""Price of travel insurance per passenger, in cents."""
FREE_BAGS: dict[str, dict[str, int]] = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 3},
}
"""Free checked bags per passenger, by membership and cabin."""
