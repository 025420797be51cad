"""The airline environment on real in-memory SQLite: booking, cancellation rules, bags and
passengers, and the seat and payment invariants after random call sequences."""

from __future__ import annotations

import random
from typing import Any

import pytest

from executors.environments import AIRLINE, REASONS, Environment


def _env(seed: int = 2) -> Environment:
    env = Environment(AIRLINE)
    env.reset(seed)
    return env


def _rows(env: Environment, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in env.db.execute(sql, args).fetchall()]


def _bookable(env: Environment, cabin: str = "economy", people: int = 1) -> tuple[Any, ...]:
    """A future flight with seats: (number, date, origin, destination, price)."""
    return _rows(
        env,
        "SELECT f.flight_number, d.date, f.origin, f.destination, s.price_cents FROM flights f "
        "JOIN flight_dates d USING (flight_number) JOIN seats s ON s.flight_number = "
        "d.flight_number AND s.date = d.date WHERE d.status = 'available' AND d.date >= "
        "'2024-05-15' AND s.cabin = ? AND s.available >= ? ORDER BY 1, 2",
        cabin,
        people,
    )[0]


def _booking(env: Environment, **changes: Any) -> dict[str, Any]:
    number, date, origin, destination, _ = _bookable(env)
    user, card = _rows(
        env,
        "SELECT u.user_id, p.payment_id FROM users u JOIN payment_methods p USING (user_id) "
        "WHERE u.membership = 'regular' AND p.kind = 'credit_card' ORDER BY 1",
    )[0]
    return {
        "user_id": user,
        "origin": origin,
        "destination": destination,
        "flight_type": "one_way",
        "cabin": "economy",
        "flights": [{"flight_number": number, "date": date}],
        "passengers": [{"first_name": "Ada", "last_name": "Byron", "dob": "1990-12-10"}],
        "payment_id": card,
        "total_baggages": 3,
        "insurance": True,
        **changes,
    }


def test_reset_is_deterministic() -> None:
    assert _env(5).dump() == _env(5).dump()
    assert _env(5).state_digest() != _env(6).state_digest()
    assert _rows(_env(5), "SELECT COUNT(*) FROM reservations")[0][0] > 3


def test_search_lists_only_flights_that_fly() -> None:
    env = _env()
    number, date, origin, destination, price = _bookable(env)
    found = env.call(
        "search_direct_flight", {"origin": origin, "destination": destination, "date": date}
    ).value
    assert [f["flight_number"] for f in found] == [number]
    assert found[0]["cabins"]["economy"]["price_cents"] == price
    env.db.execute(
        "UPDATE flight_dates SET status = 'cancelled' WHERE flight_number = ?", (number,)
    )
    again = env.call(
        "search_direct_flight", {"origin": origin, "destination": destination, "date": date}
    )
    assert again.value == []
    bad = env.call("search_direct_flight", {"origin": "jfk", "destination": "LAX", "date": "x"})
    assert bad.reason == "invalid_arguments"


def test_booking_charges_fares_insurance_and_extra_bags() -> None:
    env = _env()
    args = _booking(env)
    flight = args["flights"][0]
    price = _bookable(env)[4]
    seats = _rows(
        env,
        "SELECT available FROM seats WHERE flight_number = ? AND date = ? AND cabin = 'economy'",
        flight["flight_number"],
        flight["date"],
    )[0][0]
    done = env.call("book_reservation", args)
    assert done.ok, done
    # A regular member in economy checks one bag free; two more cost 50 dollars each.
    assert done.value["nonfree_baggages"] == 2
    assert done.value["payments"][0]["amount_cents"] == price + 3000 + 2 * 5000
    assert _rows(
        env,
        "SELECT available FROM seats WHERE flight_number = ? AND date = ? AND cabin = 'economy'",
        flight["flight_number"],
        flight["date"],
    ) == [(seats - 1,)]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"user_id": "nobody"}, "not_found"),
        ({"payment_id": "credit_card_0"}, "not_found"),
        ({"destination": "ZZZ"}, "invalid_request"),
        ({"flight_type": "round_trip"}, "invalid_request"),
        ({"flights": [{"flight_number": "HAT000", "date": "2024-05-16"}]}, "not_found"),
        ({"passengers": [{"first_name": "A", "last_name": "B"}]}, "invalid_arguments"),
        ({"total_baggages": -1}, "invalid_arguments"),
    ],
)
def test_booking_refusals_change_nothing(changes: dict[str, Any], reason: str) -> None:
    env = _env()
    fresh = env.state_digest()
    result = env.call("book_reservation", _booking(env, **changes))
    assert result.reason == reason and reason in REASONS
    assert env.state_digest() == fresh


def test_a_gift_card_must_cover_the_price_and_full_flights_refuse() -> None:
    env = _env()
    args = _booking(env)
    env.db.execute(
        "INSERT INTO payment_methods VALUES ('gift_x', ?, 'gift_card', 100)", (args["user_id"],)
    )
    assert env.call("book_reservation", {**args, "payment_id": "gift_x"}).reason == (
        "insufficient_funds"
    )
    flight = args["flights"][0]
    env.db.execute(
        "UPDATE seats SET available = 0 WHERE flight_number = ? AND date = ?",
        (flight["flight_number"], flight["date"]),
    )
    assert env.call("book_reservation", args).reason == "unavailable"


def test_cancellation_rules_and_refunds() -> None:
    env = _env()
    args = _booking(env, insurance=False, cabin="economy")
    booked = env.call("book_reservation", args).value
    rid = booked["reservation_id"]
    env.db.execute(
        "UPDATE reservations SET created_at = '2024-05-01T00:00:00' WHERE reservation_id = ?",
        (rid,),
    )
    assert env.call("cancel_reservation", {"reservation_id": rid}).reason == "policy_violation"
    env.db.execute("UPDATE reservations SET insurance = 1 WHERE reservation_id = ?", (rid,))
    done = env.call("cancel_reservation", {"reservation_id": rid})
    assert done.ok and done.value["status"] == "cancelled"
    assert sum(p["amount_cents"] for p in done.value["payments"]) == 0
    assert env.call("cancel_reservation", {"reservation_id": rid}).reason == "policy_violation"
    flown = _rows(
        env,
        "SELECT r.reservation_id FROM reservations r JOIN reservation_flights f "
        "USING (reservation_id) WHERE f.date < '2024-05-15' AND r.status = 'active'",
    )
    if flown:
        env.db.execute("UPDATE reservations SET cabin = 'business'")
        assert env.call("cancel_reservation", {"reservation_id": flown[0][0]}).reason == (
            "policy_violation"
        )


def test_bags_only_grow_and_passengers_keep_their_number() -> None:
    env = _env()
    args = _booking(env)
    rid = env.call("book_reservation", args).value["reservation_id"]
    base = {"reservation_id": rid, "payment_id": args["payment_id"]}
    fewer = env.call("update_reservation_baggages", {**base, "total_baggages": 1})
    assert fewer.reason == "policy_violation"
    more = env.call("update_reservation_baggages", {**base, "total_baggages": 4})
    assert more.ok and more.value["payments"][-1]["amount_cents"] == 5000
    renamed = [{"first_name": "Grace", "last_name": "Hopper", "dob": "1906-12-09"}]
    done = env.call("update_reservation_passengers", {"reservation_id": rid, "passengers": renamed})
    assert done.ok and done.value["passengers"] == renamed
    two = env.call(
        "update_reservation_passengers", {"reservation_id": rid, "passengers": renamed * 2}
    )
    assert two.reason == "policy_violation"


def test_sql_looking_arguments_are_plain_data() -> None:
    env = _env()
    fresh = env.state_digest()
    for hostile in ("R1' OR '1'='1", "x'); DELETE FROM seats; --"):
        assert env.call("get_reservation_details", {"reservation_id": hostile}).reason == (
            "not_found"
        )
        assert env.call("cancel_reservation", {"reservation_id": hostile}).reason == "not_found"
    assert env.state_digest() == fresh


def _invariants(env: Environment) -> list[tuple[Any, ...]]:
    """Assert the payment and sign invariants; return free plus booked seats per flight,
    date and cabin, which no tool may change."""
    for status, paid, price in _rows(
        env,
        """
        SELECT r.status, (SELECT COALESCE(SUM(amount_cents), 0) FROM transactions t
                          WHERE t.reservation_id = r.reservation_id),
          (SELECT SUM(price_cents) FROM reservation_flights f
           WHERE f.reservation_id = r.reservation_id) * (SELECT COUNT(*) FROM passengers p
           WHERE p.reservation_id = r.reservation_id) * 1
          + r.insurance * 3000 * (SELECT COUNT(*) FROM passengers p
                                  WHERE p.reservation_id = r.reservation_id)
          + r.nonfree_baggages * 5000
        FROM reservations r""",
    ):
        assert paid == (0 if status == "cancelled" else price)
    assert not _rows(env, "SELECT 1 FROM seats WHERE available < 0")
    assert not _rows(env, "SELECT 1 FROM payment_methods WHERE balance_cents < 0")
    return _rows(
        env,
        """
        SELECT s.flight_number, s.date, s.cabin, s.available + COALESCE((
            SELECT SUM((SELECT COUNT(*) FROM passengers p
                        WHERE p.reservation_id = r.reservation_id))
            FROM reservations r JOIN reservation_flights f USING (reservation_id)
            WHERE r.status = 'active' AND r.cabin = s.cabin
            AND f.flight_number = s.flight_number AND f.date = s.date), 0)
        FROM seats s ORDER BY 1, 2, 3""",
    )


def _random_call(env: Environment, rng: random.Random) -> tuple[str, dict[str, Any]]:
    rids = [r[0] for r in _rows(env, "SELECT reservation_id FROM reservations ORDER BY 1")]
    methods = _rows(env, "SELECT user_id, payment_id FROM payment_methods ORDER BY 2")
    flights = _rows(env, "SELECT flight_number, origin, destination FROM flights ORDER BY 1")
    user, payment = rng.choice(methods)
    number, origin, destination = rng.choice(flights)
    people = [
        {"first_name": "P", "last_name": str(i), "dob": "2000-01-01"}
        for i in range(rng.randint(1, 3))
    ]
    rid = rng.choice(rids)
    return rng.choice(
        [
            (
                "book_reservation",
                {
                    "user_id": user,
                    "origin": origin,
                    "destination": destination,
                    "flight_type": "one_way",
                    "cabin": rng.choice(["basic_economy", "economy", "business"]),
                    "flights": [
                        {
                            "flight_number": number,
                            "date": rng.choice(["2024-05-16", "2024-05-17", "2024-05-18"]),
                        }
                    ],
                    "passengers": people,
                    "payment_id": payment,
                    "total_baggages": rng.randrange(5),
                    "insurance": rng.random() < 0.5,
                },
            ),
            ("cancel_reservation", {"reservation_id": rid}),
            (
                "update_reservation_baggages",
                {"reservation_id": rid, "payment_id": payment, "total_baggages": rng.randrange(8)},
            ),
            ("update_reservation_passengers", {"reservation_id": rid, "passengers": people}),
        ]
    )


@pytest.mark.parametrize("seed", range(6))
def test_invariants_hold_after_random_sequences(seed: int) -> None:
    env = _env(seed)
    rng = random.Random(seed)
    conserved = _invariants(env)
    outcomes: set[str] = set()
    for _ in range(60):
        result = env.call(*_random_call(env, rng))
        outcomes.add(result.reason or "ok")
        assert result.ok or result.reason in REASONS
        assert _invariants(env) == conserved
    assert "ok" in outcomes and len(outcomes) > 2
