"""The stateful environments on real in-memory SQLite: determinism, each tool's effect and
errors, invariants after random call sequences, arguments as data, state digests."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

import executors.environments as envs
from executors.environments import REASONS, RETAIL, Environment, ToolError


def _env(seed: int = 3) -> Environment:
    env = Environment(RETAIL)
    env.reset(seed)
    return env


def _rows(env: Environment, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in env.db.execute(sql, args).fetchall()]


def _order(env: Environment, status: str) -> str:
    return str(_rows(env, "SELECT order_id FROM orders WHERE status = ? ORDER BY 1", status)[0][0])


def test_exported_names() -> None:
    assert sorted(envs.__all__) == sorted(
        [
            "AIRLINE",
            "AIRLINE_POLICY",
            "REASONS",
            "RETAIL",
            "RETAIL_POLICY",
            "Domain",
            "Environment",
            "EnvironmentExecutor",
            "Tool",
            "ToolError",
            "ToolResult",
        ]
    )


def test_reset_is_deterministic_and_seeds_differ() -> None:
    a, b = _env(11), _env(11)
    assert a.dump() == b.dump()
    assert a.state_digest() == b.state_digest()
    assert _env(12).dump() != a.dump()


def test_reset_drops_earlier_changes() -> None:
    env = _env()
    fresh = env.state_digest()
    done = env.call(
        "cancel_pending_order", {"order_id": _order(env, "pending"), "reason": "ordered by mistake"}
    )
    assert done.ok and env.state_digest() != fresh
    env.reset(3)
    assert env.state_digest() == fresh


def test_digest_follows_state_not_history() -> None:
    env, other = _env(), _env()
    order = _order(env, "pending")
    address = {
        "address1": "1 Main St",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
        "country": "USA",
    }
    assert env.call("modify_pending_order_address", {"order_id": order, **address}).ok
    assert env.state_digest() != other.state_digest()
    assert other.call("modify_pending_order_address", {"order_id": order, **address}).ok
    assert env.state_digest() == other.state_digest()
    assert env.call("get_order_details", {"order_id": order}).value["address"] == address


def test_lookups() -> None:
    env = _env()
    user_id, email, first, last, zip_code = _rows(
        env, "SELECT user_id, email, first_name, last_name, zip FROM users ORDER BY 1"
    )[0]
    assert env.call("find_user_by_email", {"email": email.upper()}).value == {"user_id": user_id}
    found = env.call(
        "find_user_by_name_zip", {"first_name": first, "last_name": last, "zip": zip_code}
    )
    assert found.value == {"user_id": user_id}
    details = env.call("get_user_details", {"user_id": user_id}).value
    assert details["email"] == email and details["orders"]
    order = env.call("get_order_details", {"order_id": details["orders"][0]}).value
    assert order["user_id"] == user_id and order["items"]
    products = env.call("list_products", {}).value
    assert len(products) == 7
    clothing = env.call("list_products", {"category": "clothing"}).value
    assert [p["name"] for p in clothing] == ["T-Shirt"]
    variants = env.call("get_product_details", {"product_id": clothing[0]["product_id"]}).value
    assert variants["variants"] and all("available" in v for v in variants["variants"])


@pytest.mark.parametrize(
    ("tool", "arguments", "reason"),
    [
        ("no_such_tool", {}, "unknown_tool"),
        ("get_user_details", {}, "invalid_arguments"),
        ("get_user_details", {"user_id": 7}, "invalid_arguments"),
        ("get_user_details", {"user_id": "x", "extra": 1}, "invalid_arguments"),
        ("get_user_details", ["x"], "invalid_arguments"),
        ("get_user_details", {"user_id": float("nan")}, "invalid_arguments"),
        ("cancel_pending_order", {"order_id": "#W1", "reason": "bored"}, "invalid_arguments"),
        ("get_user_details", {"user_id": "nobody"}, "not_found"),
        ("get_order_details", {"order_id": "#W0"}, "not_found"),
        ("find_user_by_email", {"email": "nobody@example.com"}, "not_found"),
    ],
)
def test_errors_have_stable_reasons(tool: str, arguments: Any, reason: str) -> None:
    result = _env().call(tool, arguments)
    assert not result.ok and result.reason == reason and result.reason in REASONS
    assert result.message


def test_cancel_restocks_refunds_and_is_pending_only() -> None:
    env = _env()
    order = _order(env, "pending")
    items = _rows(env, "SELECT item_id FROM order_items WHERE order_id = ?", order)
    before = {
        i: _rows(env, "SELECT stock FROM variants WHERE item_id = ?", i)[0][0] for (i,) in items
    }
    done = env.call("cancel_pending_order", {"order_id": order, "reason": "no longer needed"})
    assert done.ok and done.value["status"] == "cancelled"
    assert sum(p["amount_cents"] for p in done.value["payments"]) == 0
    for item_id, stock in before.items():
        held = sum(1 for (i,) in items if i == item_id)
        assert _rows(env, "SELECT stock FROM variants WHERE item_id = ?", item_id)[0][0] == (
            stock + held
        )
    again = env.call("cancel_pending_order", {"order_id": order, "reason": "no longer needed"})
    assert again.reason == "policy_violation"
    delivered = env.call(
        "modify_pending_order_address",
        {
            "order_id": _order(env, "delivered"),
            "address1": "a",
            "city": "b",
            "state": "c",
            "zip": "d",
            "country": "e",
        },
    )
    assert delivered.reason == "policy_violation"


def _exchange_case(env: Environment) -> tuple[str, str, str, str] | None:
    """A delivered order's item and an in-stock other variant of its product."""
    for order, item_id, product in _rows(
        env,
        "SELECT o.order_id, oi.item_id, v.product_id FROM orders o "
        "JOIN order_items oi USING (order_id) JOIN variants v USING (item_id) "
        "WHERE o.status = 'delivered' ORDER BY 1, 2",
    ):
        others = _rows(
            env,
            "SELECT item_id FROM variants WHERE product_id = ? AND item_id != ? "
            "AND stock > 0 ORDER BY 1",
            product,
            item_id,
        )
        if others:
            payment = _rows(env, "SELECT payment_id FROM orders WHERE order_id = ?", order)[0][0]
            return order, item_id, others[0][0], payment
    return None


def test_exchange_charges_the_difference_and_reserves_stock() -> None:
    env = _env()
    case = _exchange_case(env)
    assert case is not None
    order, old, new, payment = case
    stock = _rows(env, "SELECT stock FROM variants WHERE item_id = ?", new)[0][0]
    old_price = _rows(env, "SELECT price_cents FROM variants WHERE item_id = ?", old)[0][0]
    new_price = _rows(env, "SELECT price_cents FROM variants WHERE item_id = ?", new)[0][0]
    args = {
        "order_id": order,
        "item_ids": [old],
        "new_item_ids": [new],
        "payment_method_id": payment,
    }
    done = env.call("exchange_delivered_order_items", args)
    assert done.ok and done.value["status"] == "exchange_requested"
    assert _rows(env, "SELECT stock FROM variants WHERE item_id = ?", new)[0][0] == stock - 1
    if new_price != old_price:
        assert done.value["payments"][-1]["amount_cents"] == new_price - old_price
    assert env.call("exchange_delivered_order_items", args).reason == "policy_violation"


def test_exchange_refusals_change_nothing() -> None:
    env = _env()
    case = _exchange_case(env)
    assert case is not None
    order, old, new, payment = case
    fresh = env.state_digest()
    base = {"order_id": order, "item_ids": [old], "payment_method_id": payment}
    other_product = _rows(
        env,
        "SELECT item_id FROM variants WHERE product_id != "
        "(SELECT product_id FROM variants WHERE item_id = ?)",
        old,
    )[0][0]
    assert (
        env.call("exchange_delivered_order_items", {**base, "new_item_ids": [other_product]}).reason
        == "invalid_request"
    )
    assert (
        env.call("exchange_delivered_order_items", {**base, "new_item_ids": [new, new]}).reason
        == "invalid_request"
    )
    assert (
        env.call("exchange_delivered_order_items", {**base, "new_item_ids": ["I0"]}).reason
        == "not_found"
    )
    env.db.execute("UPDATE variants SET stock = 0 WHERE item_id = ?", (new,))
    empty = env.state_digest()
    assert (
        env.call("exchange_delivered_order_items", {**base, "new_item_ids": [new]}).reason
        == "unavailable"
    )
    assert env.state_digest() == empty != fresh


def test_return_refunds_to_a_gift_card_or_the_original_method_only() -> None:
    env = _env()
    order = _order(env, "delivered")
    user, original = _rows(env, "SELECT user_id, payment_id FROM orders WHERE order_id = ?", order)[
        0
    ]
    item = _rows(env, "SELECT item_id, price_cents FROM order_items WHERE order_id = ?", order)[0]
    env.db.execute("INSERT INTO payment_methods VALUES ('paypal_x', ?, 'paypal', NULL)", (user,))
    env.db.execute("INSERT INTO payment_methods VALUES ('gift_x', ?, 'gift_card', 100)", (user,))
    args = {"order_id": order, "item_ids": [item[0]]}
    refused = env.call("return_delivered_order_items", {**args, "payment_method_id": "paypal_x"})
    assert refused.reason == "policy_violation"
    done = env.call("return_delivered_order_items", {**args, "payment_method_id": "gift_x"})
    assert done.ok and done.value["status"] == "return_requested"
    assert _rows(env, "SELECT balance_cents FROM payment_methods WHERE payment_id = 'gift_x'") == [
        (100 + item[1],)
    ]
    assert original != "gift_x"


def test_sql_looking_arguments_are_plain_data() -> None:
    env = _env()
    fresh = env.state_digest()
    for hostile in (
        "' OR 1=1 --",
        "x'; DROP TABLE users; --",
        '" OR ""="',
        "ATTACH DATABASE '/tmp/x' AS y",
    ):
        assert env.call("find_user_by_email", {"email": hostile}).reason == "not_found"
        assert env.call("get_order_details", {"order_id": hostile}).reason == "not_found"
        assert env.call("list_products", {"category": hostile}).value == []
    address = {
        "address1": "'); DELETE FROM orders; --",
        "city": "c",
        "state": "s",
        "zip": "z",
        "country": "USA",
    }
    order = _order(env, "pending")
    assert env.call("modify_pending_order_address", {"order_id": order, **address}).ok
    assert _rows(env, "SELECT address1 FROM orders WHERE order_id = ?", order) == [
        (address["address1"],)
    ]
    assert len(_rows(env, "SELECT * FROM orders")) == 16 and env.state_digest() != fresh


def test_the_connection_refuses_attach() -> None:
    import sqlite3

    with pytest.raises(sqlite3.DatabaseError):
        _env().db.execute("ATTACH DATABASE ':memory:' AS other")


def test_a_failing_tool_rolls_back_and_names_the_exception() -> None:
    def half(db: Any, arguments: dict[str, Any]) -> Any:
        db.execute("UPDATE variants SET stock = stock + 100")
        raise KeyError("boom")

    domain = envs.Domain(
        name="broken",
        schema=RETAIL.schema,
        seed=RETAIL.seed,
        policy="",
        tools=(envs.Tool("half", "changes then fails", {"type": "object"}, half, writes=True),),
    )
    env = Environment(domain)
    env.reset(1)
    fresh = env.state_digest()
    result = env.call("half", {})
    assert result.reason == "environment_error" and "KeyError" in result.message
    assert env.state_digest() == fresh
    with pytest.raises(ValueError, match="unknown environment reason"):
        ToolError("made_up", "x")


def test_specs_export_every_tool() -> None:
    assert [s.name for s in RETAIL.specs] == [t.name for t in RETAIL.tools]
    for spec in RETAIL.specs:
        assert spec.source == "environment:retail" and spec.binding is None
        assert spec.to_openai_tool()["function"]["parameters"] == spec.parameters


def _invariants(env: Environment) -> list[tuple[Any, ...]]:
    """Assert the per-order and sign invariants; return the per-variant unit counts, which
    no tool may change."""
    held = _rows(
        env,
        """
        SELECT v.item_id, v.stock
          + (SELECT COUNT(*) FROM order_items oi JOIN orders o USING (order_id)
             WHERE oi.item_id = v.item_id AND oi.exchange_item_id IS NULL
             AND o.status IN ('pending', 'processed'))
          + (SELECT COUNT(*) FROM order_items oi WHERE oi.exchange_item_id = v.item_id)
        FROM variants v ORDER BY 1""",
    )
    net = _rows(
        env,
        """
        SELECT o.order_id, o.status, (SELECT COALESCE(SUM(amount_cents), 0) FROM transactions t
            WHERE t.order_id = o.order_id), (SELECT SUM(price_cents) FROM order_items oi
            WHERE oi.order_id = o.order_id) FROM orders o""",
    )
    for _, status, paid, value in net:
        assert paid == (0 if status == "cancelled" else value)
    assert not _rows(env, "SELECT 1 FROM variants WHERE stock < 0")
    assert not _rows(env, "SELECT 1 FROM payment_methods WHERE balance_cents < 0")
    return held


def _random_call(env: Environment, rng: random.Random) -> tuple[str, dict[str, Any]]:
    orders = [r[0] for r in _rows(env, "SELECT order_id FROM orders ORDER BY 1")]
    items = [r[0] for r in _rows(env, "SELECT item_id FROM variants ORDER BY 1")]
    methods = [r[0] for r in _rows(env, "SELECT payment_id FROM payment_methods ORDER BY 1")]
    order = rng.choice(orders)
    lines = [r[0] for r in _rows(env, "SELECT item_id FROM order_items WHERE order_id = ?", order)]
    picked = rng.sample(lines, rng.randint(1, len(lines)))
    tool = rng.choice(
        [
            "cancel_pending_order",
            "modify_pending_order_address",
            "exchange_delivered_order_items",
            "return_delivered_order_items",
            "get_order_details",
        ]
    )
    arguments: dict[str, Any] = {
        "cancel_pending_order": {"order_id": order, "reason": "no longer needed"},
        "modify_pending_order_address": {
            "order_id": order,
            "address1": "2 Side St",
            "city": "c",
            "state": "s",
            "zip": "1",
            "country": "x",
        },
        "exchange_delivered_order_items": {
            "order_id": order,
            "item_ids": picked,
            "new_item_ids": [rng.choice(items) for _ in picked],
            "payment_method_id": rng.choice(methods),
        },
        "return_delivered_order_items": {
            "order_id": order,
            "item_ids": picked,
            "payment_method_id": rng.choice(methods),
        },
        "get_order_details": {"order_id": order},
    }[tool]
    return tool, arguments


@pytest.mark.parametrize("seed", range(6))
def test_invariants_hold_after_random_sequences(seed: int) -> None:
    env = _env(seed)
    rng = random.Random(seed)
    conserved = _invariants(env)
    outcomes: set[str] = set()
    for _ in range(60):
        result = env.call(*_random_call(env, rng))
        outcomes.add(result.reason or "ok")
        assert result.reason in REASONS or result.ok
        assert _invariants(env) == conserved
    assert "ok" in outcomes and len(outcomes) > 2


def test_the_executor_protocol_runs_the_tools() -> None:
    env = _env()
    executor = envs.EnvironmentExecutor(env)
    email = _rows(env, "SELECT email FROM users ORDER BY 1")[0][0]
    spec = next(s for s in RETAIL.specs if s.name == "find_user_by_email")
    found = anyio.run(executor.execute, spec, {"email": email})
    assert found.ok and found.result["user_id"]
    missing = anyio.run(executor.execute, spec, {"email": "no@example.com"})
    assert (missing.ok, missing.reason) == (False, "not_found")
    foreign = next(s for s in envs.AIRLINE.specs if s.name == "get_user_details")
    assert anyio.run(executor.execute, foreign, {"user_id": "x"}).reason == "unknown_tool"
    anyio.run(executor.aclose)
    with pytest.raises(RuntimeError, match="reset"):
        env.call("list_products", {})
