"""Shopping, ordering and booking arithmetic; bookings are deterministic offline quotes.

BFCL names kept: ``apply_discount``, ``calculate_total``, ``calculate_total_price``,
``order_food``, ``book_room`` and ``confirm_booking``. The booking functions simulate a
reservation system without side effects: the same request always yields the same
reference, derived from its contents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from ._validate import finite, integer, non_empty, non_negative, numbers, same_length

__all__ = [
    "apply_discount",
    "book_room",
    "calculate_markup_price",
    "calculate_profit_margin",
    "calculate_sales_tax",
    "calculate_tip",
    "calculate_total",
    "calculate_total_price",
    "compare_unit_prices",
    "confirm_booking",
    "order_food",
    "split_bill",
]


def _percent(name: str, value: Any) -> float:
    """A rate given either as a fraction (0..1) or a percentage (1..100) -> fraction."""
    v = non_negative(name, value)
    if v <= 1:
        return v
    if v <= 100:
        return v / 100
    raise ValueError(f"{name} must be a fraction (0-1) or a percentage (0-100), got {value!r}")


def apply_discount(total: float, discount: float) -> float:
    """Applies a percentage discount to a total price.

    Args:
        total: The original total price (non-negative).
        discount: The discount, as a fraction from 0 to 1 (0.2 = 20 %); values above 1 up to
            100 are read as percentages (20 = 20 %).

    Returns:
        The discounted total.
    """
    return non_negative("total", total) * (1 - _percent("discount", discount))


def calculate_total(quantities: list[int], prices: list[float]) -> float:
    """Calculates the total price of an order from per-product quantities and prices.

    Args:
        quantities: The quantity of each product (non-negative integers).
        prices: The unit price of each product, one per quantity.

    Returns:
        The sum of quantity * price.
    """
    qs = [
        integer(f"quantities[{i}]", q, low=0)
        for i, q in enumerate(non_empty("quantities", quantities))
    ]
    ps = numbers("prices", prices)
    same_length("quantities", qs, "prices", ps)
    return sum(q * p for q, p in zip(qs, ps, strict=True))


def calculate_total_price(room_price: float, nights: int, discount: float = 0) -> float:
    """Calculates the total price of a room booking.

    Args:
        room_price: The price per night of the room (non-negative).
        nights: The number of nights (at least 1).
        discount: A discount amount subtracted from the total (non-negative).

    Returns:
        room_price * nights - discount, never below 0.
    """
    total = non_negative("room_price", room_price) * integer("nights", nights, low=1, high=3650)
    return max(0.0, total - non_negative("discount", discount))


def order_food(item: list[str], quantity: list[int], price: list[float]) -> float:
    """Orders food for a customer and returns the total price.

    Args:
        item: The names of the products ordered, e.g. ["burger", "fries"].
        quantity: The number of each product purchased, one per item.
        price: The unit price of each product, one per item.

    Returns:
        The total price of the order.
    """
    names = non_empty("item", item)
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"item[{i}] must be a non-empty product name")
    qs = [
        integer(f"quantity[{i}]", q, low=0) for i, q in enumerate(non_empty("quantity", quantity))
    ]
    ps = numbers("price", price)
    same_length("item", names, "quantity", qs)
    same_length("item", names, "price", ps)
    for i, p in enumerate(ps):
        if p < 0:
            raise ValueError(f"price[{i}] must not be negative")
    return sum(q * p for q, p in zip(qs, ps, strict=True))


def _us_date(name: str, value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%m-%d-%Y").date()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date in MM-DD-YYYY format, got {value!r}") from None


def _reference(prefix: str, payload: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}-{digest[:10].upper()}"


def book_room(
    room_type: str | dict[str, Any],
    check_in_date: str,
    check_out_date: str,
    customer_id: str,
    discount_code: str | None = None,
    price: float | None = None,
) -> dict[str, Any]:
    """Books a room for a customer (a deterministic offline simulation).

    Args:
        room_type: The room type to book, a name such as "deluxe" or an object describing it.
        check_in_date: The check-in date in format of MM-DD-YYYY.
        check_out_date: The check-out date in format of MM-DD-YYYY, after check-in.
        customer_id: The customer ID.
        discount_code: The discount code, if any.
        price: The price per night, if known; the total is then included.

    Returns:
        The booking: reference, customer_id, room_type, dates (ISO), nights and, when a
        price is given, total_price.
    """
    if not isinstance(room_type, str | dict) or not room_type:
        raise ValueError("room_type must be a non-empty name or object")
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise ValueError("customer_id must be a non-empty string")
    start = _us_date("check_in_date", check_in_date)
    end = _us_date("check_out_date", check_out_date)
    nights = (end - start).days
    if nights < 1:
        raise ValueError("check_out_date must be after check_in_date")
    booking: dict[str, Any] = {
        "customer_id": customer_id,
        "room_type": room_type,
        "check_in_date": start.isoformat(),
        "check_out_date": end.isoformat(),
        "nights": nights,
        "discount_code": discount_code,
    }
    if price is not None:
        booking["price_per_night"] = non_negative("price", price)
        booking["total_price"] = booking["price_per_night"] * nights
    booking["booking_reference"] = _reference("BK", booking)
    return booking


def confirm_booking(customer_id: str, room_number: str, total_price: float) -> dict[str, Any]:
    """Confirms a room booking (a deterministic offline simulation).

    Args:
        customer_id: The customer ID.
        room_number: The room number assigned to the booking.
        total_price: The total price for the booking (non-negative).

    Returns:
        The confirmation: status, confirmation_code, customer_id, room_number, total_price.
    """
    for name, value in (("customer_id", customer_id), ("room_number", room_number)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string")
    confirmation = {
        "status": "confirmed",
        "customer_id": customer_id,
        "room_number": room_number,
        "total_price": non_negative("total_price", total_price),
    }
    confirmation["confirmation_code"] = _reference("CF", confirmation)
    return confirmation


def calculate_sales_tax(amount: float, tax_rate: float) -> dict[str, float]:
    """Calculates the sales tax on an amount and the total including tax.

    Args:
        amount: The pre-tax amount (non-negative).
        tax_rate: The tax rate, as a fraction (0.08) or a percentage (8).

    Returns:
        An object with tax and total.
    """
    a = non_negative("amount", amount)
    tax = a * _percent("tax_rate", tax_rate)
    return {"tax": tax, "total": a + tax}


def calculate_tip(bill_amount: float, tip_percentage: float) -> dict[str, float]:
    """Calculates a tip and the total to pay.

    Args:
        bill_amount: The bill before the tip (non-negative).
        tip_percentage: The tip as a percentage of the bill, from 0 to 100 (15 = 15 %).

    Returns:
        An object with tip and total.
    """
    bill = non_negative("bill_amount", bill_amount)
    pct = non_negative("tip_percentage", tip_percentage)
    if pct > 100:
        raise ValueError(f"tip_percentage must be at most 100, got {tip_percentage!r}")
    tip = bill * pct / 100
    return {"tip": tip, "total": bill + tip}


def split_bill(total: float, people: int, tip_percentage: float = 0) -> float:
    """Splits a bill evenly, optionally adding a tip first.

    Args:
        total: The bill total (non-negative).
        people: The number of people sharing (at least 1).
        tip_percentage: A tip percentage to add before splitting, from 0 to 100.

    Returns:
        The amount each person pays, rounded to cents.
    """
    t = non_negative("total", total)
    n = integer("people", people, low=1, high=100_000)
    pct = non_negative("tip_percentage", tip_percentage)
    if pct > 100:
        raise ValueError(f"tip_percentage must be at most 100, got {tip_percentage!r}")
    return round(t * (1 + pct / 100) / n, 2)


def compare_unit_prices(prices: list[float], quantities: list[float]) -> dict[str, Any]:
    """Finds the best value among package offers by price per unit.

    Args:
        prices: The price of each package.
        quantities: The amount in each package (positive), one per price.

    Returns:
        An object with unit_prices (one per package) and best_index (0-based, cheapest).
    """
    ps, qs = numbers("prices", prices), numbers("quantities", quantities)
    same_length("prices", ps, "quantities", qs)
    if any(q <= 0 for q in qs):
        raise ValueError("quantities must be positive")
    units = [p / q for p, q in zip(ps, qs, strict=True)]
    return {"unit_prices": units, "best_index": units.index(min(units))}


def calculate_profit_margin(revenue: float, cost: float) -> float:
    """Calculates the gross profit margin as a percentage of revenue.

    Args:
        revenue: The revenue (positive).
        cost: The cost of goods sold (non-negative).

    Returns:
        (revenue - cost) / revenue * 100.
    """
    r = finite("revenue", revenue)
    if r <= 0:
        raise ValueError(f"revenue must be positive, got {revenue!r}")
    return (r - non_negative("cost", cost)) / r * 100


def calculate_markup_price(cost: float, markup_percentage: float) -> float:
    """Calculates a selling price from a cost and a markup.

    Args:
        cost: The unit cost (non-negative).
        markup_percentage: The markup as a percentage of cost (non-negative, 50 = 50 %).

    Returns:
        cost * (1 + markup_percentage / 100).
    """
    return non_negative("cost", cost) * (
        1 + non_negative("markup_percentage", markup_percentage) / 100
    )
