"""The retail domain (after tau-bench's): look up users, orders and products; cancel or
re-address pending orders; exchange or return delivered items.

Invariants every tool keeps (the tests check them after random call sequences): stock and
gift-card balances never go negative; an order's net paid (its transactions) equals the
value of what it holds; a unit is in stock, held by a pending or processed order, or
reserved by an exchange, and only cancelling or exchanging moves it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from ._environment import Domain, Tool
from ._errors import ToolError
from ._retail_seed import RETAIL_SCHEMA, seed_retail
from ._sql import debit, one, payment_methods

__all__ = ["RETAIL", "RETAIL_POLICY"]

RETAIL_POLICY = """\
You are a retail customer-service agent.
- Before anything else, authenticate the user by email, or by first name, last name and zip
  code, even when they give their user id. Act only for that user and their own orders.
- Before any change (cancel, address, exchange, return) list what will change and get an
  explicit "yes" from the user. Make one change at a time.
- An order can be cancelled, or its shipping address changed, only while it is pending.
  A cancellation needs a reason: "no longer needed" or "ordered by mistake".
- Items can be exchanged or returned only once the order is delivered, once per order.
  An item can be exchanged only for another variant of the same product that is in stock;
  the price difference is paid or refunded through a payment method of the user, and a
  gift card must cover what it pays.
- A return's refund goes to the order's original payment method or to a gift card of the
  user.
- Do not make up information; say so when a request is outside this policy.
"""
"""What the agent must follow. The status, stock, product and payment rules are enforced
by the tools (``policy_violation``, ``unavailable``, ``insufficient_funds``); identity
checks and confirmations are the agent's to keep, for a later stage to judge."""

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_ITEMS = {"type": "array", "items": _ID, "minItems": 1, "maxItems": 10}


def _schema(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


def find_user_by_email(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    row = one(
        db,
        "SELECT user_id FROM users WHERE email = ? COLLATE NOCASE",
        (a["email"],),
        f"no user with email {a['email']!r}",
    )
    return {"user_id": row[0]}


def find_user_by_name_zip(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    row = one(
        db,
        "SELECT user_id FROM users WHERE first_name = ? COLLATE NOCASE "
        "AND last_name = ? COLLATE NOCASE AND zip = ?",
        (a["first_name"], a["last_name"], a["zip"]),
        "no user with that name and zip code",
    )
    return {"user_id": row[0]}


def get_user_details(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    u = one(
        db, "SELECT * FROM users WHERE user_id = ?", (a["user_id"],), f"no user {a['user_id']!r}"
    )
    methods = payment_methods(db, u[0])
    orders = [
        r[0]
        for r in db.execute(
            "SELECT order_id FROM orders WHERE user_id = ? ORDER BY order_id", (u[0],)
        )
    ]
    return {
        "user_id": u[0],
        "name": {"first_name": u[1], "last_name": u[2]},
        "email": u[3],
        "address": {"address1": u[4], "city": u[5], "state": u[6], "zip": u[7], "country": u[8]},
        "payment_methods": methods,
        "orders": orders,
    }


def get_order_details(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    o = one(
        db,
        "SELECT * FROM orders WHERE order_id = ?",
        (a["order_id"],),
        f"no order {a['order_id']!r}",
    )
    items = [
        {
            "item_id": i,
            "product_id": p,
            "name": n,
            "options": orjson.loads(opt),
            "price_cents": c,
            "exchange_item_id": x,
            "returned": bool(r),
        }
        for i, p, n, opt, c, x, r in db.execute(
            "SELECT oi.item_id, v.product_id, pr.name, v.options, oi.price_cents, "
            "oi.exchange_item_id, oi.returned FROM order_items oi "
            "JOIN variants v ON v.item_id = oi.item_id "
            "JOIN products pr ON pr.product_id = v.product_id "
            "WHERE oi.order_id = ? ORDER BY oi.line",
            (o[0],),
        )
    ]
    payments = [
        {"payment_id": p, "amount_cents": c, "kind": k}
        for p, c, k in db.execute(
            "SELECT payment_id, amount_cents, kind FROM transactions "
            "WHERE order_id = ? ORDER BY txn",
            (o[0],),
        )
    ]
    return {
        "order_id": o[0],
        "user_id": o[1],
        "status": o[2],
        "address": {"address1": o[3], "city": o[4], "state": o[5], "zip": o[6], "country": o[7]},
        "payment_id": o[8],
        "cancel_reason": o[9],
        "items": items,
        "payments": payments,
    }


def list_products(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    rows = db.execute(
        "SELECT product_id, name, category FROM products WHERE ? IS NULL OR category = ? "
        "ORDER BY product_id",
        (a.get("category"), a.get("category")),
    )
    return [{"product_id": p, "name": n, "category": c} for p, n, c in rows]


def get_product_details(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    p = one(
        db,
        "SELECT * FROM products WHERE product_id = ?",
        (a["product_id"],),
        f"no product {a['product_id']!r}",
    )
    variants = [
        {"item_id": i, "options": orjson.loads(o), "price_cents": c, "available": s > 0}
        for i, o, c, s in db.execute(
            "SELECT item_id, options, price_cents, stock FROM variants WHERE product_id = ? "
            "ORDER BY item_id",
            (p[0],),
        )
    ]
    return {"product_id": p[0], "name": p[1], "category": p[2], "variants": variants}


def _order(db: sqlite3.Connection, order_id: str, status: str, action: str) -> Any:
    o = one(
        db,
        "SELECT order_id, user_id, status, payment_id FROM orders WHERE order_id = ?",
        (order_id,),
        f"no order {order_id!r}",
    )
    if o[2] != status:
        raise ToolError(
            "policy_violation", f"{action} needs a {status} order; {order_id} is {o[2]}"
        )
    return o


def _pay(db: sqlite3.Connection, user_id: str, order_id: str, payment_id: str, cents: int) -> None:
    """Charge (``cents`` > 0) or refund (< 0) ``payment_id`` of ``user_id`` for the order."""
    debit(db, user_id, payment_id, cents)
    if cents:
        db.execute(
            "INSERT INTO transactions (order_id, payment_id, amount_cents, kind) "
            "VALUES (?, ?, ?, ?)",
            (order_id, payment_id, cents, "payment" if cents > 0 else "refund"),
        )


def cancel_pending_order(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    o = _order(db, a["order_id"], "pending", "cancelling")
    for (item_id,) in db.execute("SELECT item_id FROM order_items WHERE order_id = ?", (o[0],)):
        db.execute("UPDATE variants SET stock = stock + 1 WHERE item_id = ?", (item_id,))
    for payment_id, net in db.execute(
        "SELECT payment_id, SUM(amount_cents) FROM transactions WHERE order_id = ? "
        "GROUP BY payment_id ORDER BY payment_id",
        (o[0],),
    ).fetchall():
        _pay(db, o[1], o[0], payment_id, -net)
    db.execute(
        "UPDATE orders SET status = 'cancelled', cancel_reason = ? WHERE order_id = ?",
        (a["reason"], o[0]),
    )
    return get_order_details(db, {"order_id": o[0]})


def modify_pending_order_address(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    o = _order(db, a["order_id"], "pending", "changing the address")
    db.execute(
        "UPDATE orders SET address1 = ?, city = ?, state = ?, zip = ?, country = ? "
        "WHERE order_id = ?",
        (a["address1"], a["city"], a["state"], a["zip"], a["country"], o[0]),
    )
    return get_order_details(db, {"order_id": o[0]})


def _lines(db: sqlite3.Connection, order_id: str, item_ids: list[str]) -> list[tuple[Any, ...]]:
    """The order's lines holding ``item_ids`` (a repeated id takes the next such line)."""
    free = db.execute(
        "SELECT line, item_id, price_cents FROM order_items WHERE order_id = ? ORDER BY line",
        (order_id,),
    ).fetchall()
    taken: list[tuple[Any, ...]] = []
    for item_id in item_ids:
        line = next((r for r in free if r[1] == item_id), None)
        if line is None:
            raise ToolError("not_found", f"{order_id} holds no (further) item {item_id!r}")
        free.remove(line)
        taken.append(tuple(line))
    return taken


def exchange_delivered_order_items(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    o = _order(db, a["order_id"], "delivered", "an exchange")
    if len(a["item_ids"]) != len(a["new_item_ids"]):
        raise ToolError("invalid_request", "item_ids and new_item_ids differ in length")
    difference = 0
    for (line, item_id, price), new_id in zip(
        _lines(db, o[0], a["item_ids"]), a["new_item_ids"], strict=True
    ):
        new = one(
            db,
            "SELECT product_id, price_cents, stock FROM variants WHERE item_id = ?",
            (new_id,),
            f"no item {new_id!r}",
        )
        old_product = db.execute(
            "SELECT product_id FROM variants WHERE item_id = ?", (item_id,)
        ).fetchone()[0]
        if new[0] != old_product or new_id == item_id:
            raise ToolError(
                "invalid_request", f"{new_id} is not another variant of {item_id}'s product"
            )
        if new[2] < 1:
            raise ToolError("unavailable", f"{new_id} is out of stock")
        db.execute("UPDATE variants SET stock = stock - 1 WHERE item_id = ?", (new_id,))
        db.execute(
            "UPDATE order_items SET exchange_item_id = ?, price_cents = ? "
            "WHERE order_id = ? AND line = ?",
            (new_id, new[1], o[0], line),
        )
        difference += new[1] - price
    _pay(db, o[1], o[0], a["payment_method_id"], difference)
    db.execute("UPDATE orders SET status = 'exchange_requested' WHERE order_id = ?", (o[0],))
    return get_order_details(db, {"order_id": o[0]})


def return_delivered_order_items(db: sqlite3.Connection, a: dict[str, Any]) -> Any:
    o = _order(db, a["order_id"], "delivered", "a return")
    method = a["payment_method_id"]
    kind = db.execute(
        "SELECT kind FROM payment_methods WHERE payment_id = ? AND user_id = ?", (method, o[1])
    ).fetchone()
    if method != o[3] and (kind is None or kind[0] != "gift_card"):
        raise ToolError(
            "policy_violation",
            "a refund goes to the order's original payment "
            f"method ({o[3]}) or a gift card of the user, not {method!r}",
        )
    refund = 0
    for line, _, price in _lines(db, o[0], a["item_ids"]):
        db.execute(
            "UPDATE order_items SET returned = 1, price_cents = 0 WHERE order_id = ? AND line = ?",
            (o[0], line),
        )
        refund += price
    _pay(db, o[1], o[0], method, -refund)
    db.execute("UPDATE orders SET status = 'return_requested' WHERE order_id = ?", (o[0],))
    return get_order_details(db, {"order_id": o[0]})


_ADDRESS = {
    "address1": {"type": "string", "minLength": 1, "maxLength": 200, "description": "street"},
    "city": {"type": "string", "minLength": 1, "maxLength": 100},
    "state": {"type": "string", "minLength": 1, "maxLength": 100},
    "zip": {"type": "string", "minLength": 1, "maxLength": 20},
    "country": {"type": "string", "minLength": 1, "maxLength": 100},
}
_ORDER = {"order_id": {**_ID, "description": "the order id, such as '#W1052711'"}}
_PAYMENT = {"payment_method_id": {**_ID, "description": "a payment method of the user"}}

RETAIL = Domain(
    name="retail",
    schema=RETAIL_SCHEMA,
    seed=seed_retail,
    policy=RETAIL_POLICY,
    tools=(
        Tool(
            "find_user_by_email",
            "Find a user's id by their email address.",
            _schema({"email": {**_ID, "maxLength": 200}}),
            find_user_by_email,
            returns="{user_id}",
        ),
        Tool(
            "find_user_by_name_zip",
            "Find a user's id by first name, last name and zip code.",
            _schema({"first_name": _ID, "last_name": _ID, "zip": _ID}),
            find_user_by_name_zip,
            returns="{user_id}",
        ),
        Tool(
            "get_user_details",
            "A user's name, email, address, payment methods and orders.",
            _schema({"user_id": _ID}),
            get_user_details,
        ),
        Tool(
            "get_order_details",
            "An order's status, address, items and payments (cents).",
            _schema(_ORDER),
            get_order_details,
        ),
        Tool(
            "list_products",
            "The products, optionally of one category.",
            _schema({}, {"category": _ID}),
            list_products,
        ),
        Tool(
            "get_product_details",
            "A product's variants: options, price (cents), availability.",
            _schema({"product_id": _ID}),
            get_product_details,
        ),
        Tool(
            "cancel_pending_order",
            "Cancel a pending order; its items go back to stock and its payments are refunded.",
            _schema({**_ORDER, "reason": {"enum": ["no longer needed", "ordered by mistake"]}}),
            cancel_pending_order,
            writes=True,
        ),
        Tool(
            "modify_pending_order_address",
            "Change the shipping address of a pending order.",
            _schema({**_ORDER, **_ADDRESS}),
            modify_pending_order_address,
            writes=True,
        ),
        Tool(
            "exchange_delivered_order_items",
            "Exchange items of a delivered order for other variants of the same products; "
            "the price difference is charged or refunded to the payment method.",
            _schema({**_ORDER, "item_ids": _ITEMS, "new_item_ids": _ITEMS, **_PAYMENT}),
            exchange_delivered_order_items,
            writes=True,
        ),
        Tool(
            "return_delivered_order_items",
            "Return items of a delivered order; the refund goes to the payment method.",
            _schema({**_ORDER, "item_ids": _ITEMS, **_PAYMENT}),
            return_delivered_order_items,
            writes=True,
        ),
    ),
)
"""The retail domain: 10 tools over 8 users, 7 products and 16 orders per seed."""
