"""The retail domain's schema and seeded data: users, products with variants, orders.

Money is in integer cents (``*_cents``) so sums are exact. The seed draws only from the
:class:`random.Random` it is given, so one seed gives one database.
"""

from __future__ import annotations

import random
import sqlite3

import orjson

__all__ = ["RETAIL_SCHEMA", "seed_retail"]

RETAIL_SCHEMA = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE, address1 TEXT NOT NULL, city TEXT NOT NULL,
    state TEXT NOT NULL, zip TEXT NOT NULL, country TEXT NOT NULL
);
CREATE TABLE payment_methods (
    payment_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users,
    kind TEXT NOT NULL CHECK (kind IN ('credit_card', 'gift_card', 'paypal')),
    balance_cents INTEGER CHECK (balance_cents >= 0),
    CHECK ((kind = 'gift_card') = (balance_cents IS NOT NULL))
);
CREATE TABLE products (
    product_id TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL
);
CREATE TABLE variants (
    item_id TEXT PRIMARY KEY, product_id TEXT NOT NULL REFERENCES products,
    options TEXT NOT NULL, price_cents INTEGER NOT NULL CHECK (price_cents > 0),
    stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users,
    status TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'delivered', 'cancelled',
        'exchange_requested', 'return_requested')),
    address1 TEXT NOT NULL, city TEXT NOT NULL, state TEXT NOT NULL, zip TEXT NOT NULL,
    country TEXT NOT NULL, payment_id TEXT NOT NULL REFERENCES payment_methods,
    cancel_reason TEXT
);
CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders, line INTEGER NOT NULL,
    item_id TEXT NOT NULL REFERENCES variants, price_cents INTEGER NOT NULL,
    exchange_item_id TEXT REFERENCES variants, returned INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line)
);
CREATE TABLE transactions (
    txn INTEGER PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders,
    payment_id TEXT NOT NULL REFERENCES payment_methods, amount_cents INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund'))
);
"""
"""The retail tables. ``transactions.amount_cents`` is positive for a payment and negative
for a refund, so an order's net paid is their sum."""

_FIRST = ("Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Lena", "Ivan", "Sara", "Yuki", "Eli")
_LAST = ("Smith", "Garcia", "Kim", "Okafor", "Rossi", "Novak", "Silva", "Chen", "Haddad")
_CITIES = (
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Boston", "MA", "021"),
    ("Seattle", "WA", "981"),
    ("Phoenix", "AZ", "850"),
    ("Chicago", "IL", "606"),
)
_STREETS = ("Oak Street", "Maple Avenue", "Pine Road", "Cedar Lane", "Elm Court", "Hill Drive")
_PRODUCTS: tuple[tuple[str, str, dict[str, tuple[str, ...]], int], ...] = (
    ("T-Shirt", "clothing", {"color": ("red", "blue", "black"), "size": ("S", "M", "L")}, 1500),
    ("Running Shoes", "footwear", {"color": ("white", "grey"), "size": ("9", "10", "11")}, 8900),
    (
        "Water Bottle",
        "outdoor",
        {"capacity": ("500ml", "1000ml"), "color": ("green", "steel")},
        2200,
    ),
    ("Desk Lamp", "home", {"color": ("white", "black"), "bulb": ("LED", "halogen")}, 3400),
    ("Backpack", "outdoor", {"size": ("20L", "30L"), "color": ("navy", "olive")}, 5600),
    (
        "Headphones",
        "electronics",
        {"color": ("black", "silver"), "type": ("wired", "wireless")},
        12000,
    ),
    ("Coffee Mug", "home", {"color": ("white", "blue"), "size": ("small", "large")}, 1200),
)
_STATUSES = ("pending", "pending", "processed", "delivered", "delivered", "cancelled")


def seed_retail(db: sqlite3.Connection, rng: random.Random) -> None:
    """Fill the retail tables: 8 users, 7 products with their variants, 16 orders."""
    variants: list[tuple[str, str, int]] = []
    for p, (name, category, options, base) in enumerate(_PRODUCTS):
        product_id = f"P{1000 + p * 37 + rng.randrange(30)}"
        db.execute("INSERT INTO products VALUES (?, ?, ?)", (product_id, name, category))
        keys = sorted(options)
        for i, a in enumerate(options[keys[0]]):
            for j, b in enumerate(options[keys[1]]):
                if rng.random() < 0.25 and (i or j):
                    continue
                item_id = f"I{product_id[1:]}{i}{j}{rng.randrange(10)}"
                price = base + rng.randrange(0, 400, 50)
                opts = orjson.dumps({keys[0]: a, keys[1]: b}).decode()
                stock = rng.choice((0, 1, 2, 3, 5, 8))
                db.execute(
                    "INSERT INTO variants VALUES (?, ?, ?, ?, ?)",
                    (item_id, product_id, opts, price, stock),
                )
                variants.append((item_id, product_id, price))
    users: list[tuple[str, list[str], tuple[str, str, str, str, str]]] = []
    for n, (first, last) in enumerate(
        zip(rng.sample(_FIRST, 8), rng.choices(_LAST, k=8), strict=True)
    ):
        user_id = f"{first.lower()}_{last.lower()}_{1000 + n * 111 + rng.randrange(100)}"
        city, state, zip_prefix = rng.choice(_CITIES)
        address = (
            f"{rng.randrange(10, 999)} {rng.choice(_STREETS)}",
            city,
            state,
            f"{zip_prefix}{rng.randrange(10, 99)}",
            "USA",
        )
        email = f"{first.lower()}.{last.lower()}{n}@example.com"
        db.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, first, last, email, *address),
        )
        methods = [f"credit_card_{rng.randrange(10**6, 10**7)}"]
        db.execute(
            "INSERT INTO payment_methods VALUES (?, ?, 'credit_card', NULL)", (methods[0], user_id)
        )
        if rng.random() < 0.6:
            methods.append(f"gift_card_{rng.randrange(10**6, 10**7)}")
            db.execute(
                "INSERT INTO payment_methods VALUES (?, ?, 'gift_card', ?)",
                (methods[1], user_id, rng.randrange(0, 30000, 500)),
            )
        if rng.random() < 0.3:
            methods.append(f"paypal_{rng.randrange(10**6, 10**7)}")
            db.execute(
                "INSERT INTO payment_methods VALUES (?, ?, 'paypal', NULL)", (methods[-1], user_id)
            )
        users.append((user_id, methods, address))
    for n in range(16):
        user_id, methods, address = users[n % len(users)]
        order_id = f"#W{1000000 + n * 52711 + rng.randrange(50000)}"
        status = rng.choice(_STATUSES)
        payment_id = methods[0]  # seeded orders are paid by card; gift cards keep their balance
        db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order_id,
                user_id,
                status,
                *address,
                payment_id,
                "no longer needed" if status == "cancelled" else None,
            ),
        )
        total = 0
        for line, (item_id, _, price) in enumerate(rng.sample(variants, rng.randint(1, 3))):
            db.execute(
                "INSERT INTO order_items (order_id, line, item_id, price_cents) "
                "VALUES (?, ?, ?, ?)",
                (order_id, line, item_id, price),
            )
            total += price
        db.execute(
            "INSERT INTO transactions (order_id, payment_id, amount_cents, kind) "
            "VALUES (?, ?, ?, 'payment')",
            (order_id, payment_id, total),
        )
        if status == "cancelled":
            db.execute(
                "INSERT INTO transactions (order_id, payment_id, amount_cents, kind) "
                "VALUES (?, ?, ?, 'refund')",
                (order_id, payment_id, -total),
            )
