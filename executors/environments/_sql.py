"""Helpers the domains' tools share: one row or ``not_found``, and moving money on a
payment method of a user (both domains keep ``payment_methods`` in the same shape)."""

from __future__ import annotations

import sqlite3
from typing import Any

from ._errors import ToolError

__all__ = ["debit", "one", "payment_methods"]


def one(db: sqlite3.Connection, sql: str, args: tuple[Any, ...], what: str) -> Any:
    """The first row of ``sql`` with ``args``, or a ``not_found`` saying ``what``."""
    row = db.execute(sql, args).fetchone()
    if row is None:
        raise ToolError("not_found", what)
    return row


def debit(db: sqlite3.Connection, user_id: str, payment_id: str, cents: int) -> None:
    """Take ``cents`` (a refund when negative) from ``payment_id``, which must belong to
    ``user_id``; a gift card's balance must cover it (``insufficient_funds``). Recording
    the transaction is the caller's."""
    method = one(
        db,
        "SELECT kind, balance_cents FROM payment_methods WHERE payment_id = ? AND user_id = ?",
        (payment_id, user_id),
        f"no payment method {payment_id!r} of user {user_id}",
    )
    if method[0] == "gift_card":
        if method[1] < cents:
            raise ToolError(
                "insufficient_funds", f"{payment_id} holds {method[1]} cents, {cents} needed"
            )
        db.execute(
            "UPDATE payment_methods SET balance_cents = balance_cents - ? WHERE payment_id = ?",
            (cents, payment_id),
        )


def payment_methods(db: sqlite3.Connection, user_id: str) -> list[dict[str, Any]]:
    """The user's payment methods as the tools show them (a gift card with its balance)."""
    return [
        {"payment_id": p, "kind": k, **({"balance_cents": b} if b is not None else {})}
        for p, k, b in db.execute(
            "SELECT payment_id, kind, balance_cents FROM payment_methods WHERE user_id = ? "
            "ORDER BY payment_id",
            (user_id,),
        )
    ]
