"""Simulated blueprint writer of the multi-turn pipeline (see :mod:`._simroles`).

The role answers a ``<blueprint_task>`` block (:mod:`streamer.prompts._blueprint`). It resets
a scratch :class:`~executors.environments.Environment` of the task's domain with the task's
seed and writes a **correct** blueprint from the domain's task templates, with the user's
real data: retail — cancel a pending order, re-address one, return or exchange delivered
items; airline — cancel a reservation, add bags, fix a passenger, book a flight found by
search. Sometimes two goals are combined. Every intent starts with the facts that identify
the user, then the facts of each goal, so a simulated user can reveal them turn by turn.
The actions are a lookup that authenticates the user, the lookups each goal needs and its
write; the outputs (amounts, a new reservation id) come from running the actions on the
scratch environment, and the whole draft is replayed on a fresh one before it is sent:
every action succeeds and every write changes the state.

Faults, at most one per blueprint response, each at its configured rate per response (the
three are exclusive: their rates should sum to at most 1; beyond, the later kinds get what
is left), and the reject each must cause:

- ``blueprint_invalid_json``: the JSON is cut short -> (blueprint-writer,
  blueprint_unparseable);
- ``blueprint_failing_action``: the first write (and its lookups) names an order,
  reservation or flight that does not exist, by an id that fits the schema, so only running
  it finds out -> (blueprint-validator, action_failed);
- ``blueprint_unknown_tool``: the first write calls a plausible tool the domain lacks ->
  (blueprint-validator, unknown_tool).

A refinement round (``attempt`` > 0) is answered like a first draft, with a correct
blueprint unless a fault is drawn again; its intent never repeats the previous draft's, so
a reviewer deciding by the blueprint's text decides afresh. A task with no feasible goal
(nothing the offered writes can act on) is a request the role cannot read: ValueError.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from executors.environments import AIRLINE, RETAIL, Domain, Environment

from ._simrole import RoleRequest, SimRole

__all__ = ["ROLES", "write_blueprint"]

WRITER = "blueprint-writer"
VALIDATOR = "blueprint-validator"

CORRUPTIONS: dict[str, tuple[str, str]] = {
    "blueprint_invalid_json": (WRITER, "blueprint_unparseable"),
    "blueprint_failing_action": (VALIDATOR, "action_failed"),
    "blueprint_unknown_tool": (VALIDATOR, "unknown_tool"),
}
"""The writer role's faults and the reject each must cause."""

_DOMAINS: dict[str, Domain] = {d.name: d for d in (RETAIL, AIRLINE)}

_UNKNOWN_TOOLS = {
    "cancel_pending_order": "cancel_order",
    "modify_pending_order_address": "update_order_address",
    "exchange_delivered_order_items": "exchange_items",
    "return_delivered_order_items": "refund_order",
    "book_reservation": "book_flight",
    "cancel_reservation": "cancel_booking",
    "update_reservation_baggages": "add_checked_bags",
    "update_reservation_passengers": "rename_passengers",
}
"""Plausible tools no domain has, for ``blueprint_unknown_tool``."""

_STREETS = ("Birch Way", "Lake Shore Drive", "Park Avenue", "Willow Street", "Mill Road")
_CITIES = (("Portland", "OR", "972"), ("Madison", "WI", "537"), ("Raleigh", "NC", "276"))
_NAMES = ("Nora", "Ravi", "Lucia", "Ben", "Amara", "Felix")
_LAST = ("Walsh", "Iyer", "Moreno", "Fischer", "Diallo")
_CABINS = {"basic_economy": "basic economy", "economy": "economy", "business": "business"}

Action = dict[str, Any]
_T = TypeVar("_T")


class _Infeasible(Exception):
    """A call of a template failed on the scratch environment: try another candidate."""


@dataclass(slots=True)
class _Part:
    """One goal: its intent sentences, its actions after the login, what the agent reports."""

    intent: str
    actions: list[Action]
    outputs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Ctx:
    env: Environment
    user: dict[str, Any]
    rng: random.Random
    offered: frozenset[str]
    used: set[str] = field(default_factory=set)

    def run(self, name: str, arguments: dict[str, Any]) -> Any:
        result = self.env.call(name, arguments)
        if not result.ok:
            raise _Infeasible(f"{name}: {result.reason}")
        return result.value

    def try_run(self, name: str, arguments: dict[str, Any]) -> Any | None:
        result = self.env.call(name, arguments)
        return result.value if result.ok else None


Builder = Callable[[_Ctx], _Part | None]


def _call(name: str, arguments: dict[str, Any]) -> Action:
    return {"name": name, "arguments": arguments}


def _money(cents: int) -> str:
    return f"{abs(cents) / 100:.2f}"


def _net(payments: Sequence[dict[str, Any]]) -> int:
    return sum(int(p["amount_cents"]) for p in payments)


def _options(options: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(options.items()))


def _items(items: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"the {i['name']} ({_options(i['options'])})" for i in items)


def _method(ctx: _Ctx, payment_id: str) -> str:
    kind = next(m["kind"] for m in ctx.user["payment_methods"] if m["payment_id"] == payment_id)
    return f"your {str(kind).replace('_', ' ')} {payment_id}"


def _shuffled(ctx: _Ctx, values: Sequence[_T]) -> list[_T]:
    out = list(values)
    ctx.rng.shuffle(out)
    return out


# Retail ---------------------------------------------------------------------------------


def _orders(ctx: _Ctx, status: str) -> list[dict[str, Any]]:
    orders = [ctx.run("get_order_details", {"order_id": o}) for o in ctx.user["orders"]]
    return [o for o in orders if o["status"] == status and o["order_id"] not in ctx.used]


def _retail_cancel(ctx: _Ctx) -> _Part | None:
    orders = _orders(ctx, "pending")
    if not orders:
        return None
    order = ctx.rng.choice(orders)
    oid = order["order_id"]
    reason = ctx.rng.choice(("no longer needed", "ordered by mistake"))
    args = {"order_id": oid, "reason": reason}
    after = ctx.run("cancel_pending_order", args)
    why = "you no longer need it" if reason == "no longer needed" else "you ordered it by mistake"
    intent = (
        f"You want to cancel your pending order {oid} ({_items(order['items'])}) because {why}. "
        "You want to know how much money you will get back."
    )
    actions = [_call("get_order_details", {"order_id": oid}), _call("cancel_pending_order", args)]
    return _Part(intent, actions, [_money(_net(order["payments"]) - _net(after["payments"]))])


def _retail_address(ctx: _Ctx) -> _Part | None:
    orders = _orders(ctx, "pending")
    if not orders:
        return None
    order = ctx.rng.choice(orders)
    city, state, prefix = ctx.rng.choice(_CITIES)
    address = {
        "address1": f"{ctx.rng.randrange(10, 999)} {ctx.rng.choice(_STREETS)}",
        "city": city,
        "state": state,
        "zip": f"{prefix}{ctx.rng.randrange(10, 99)}",
        "country": "USA",
    }
    args = {"order_id": order["order_id"], **address}
    ctx.run("modify_pending_order_address", args)
    intent = (
        f"You moved: your pending order {order['order_id']} should ship to {address['address1']}, "
        f"{city}, {state} {address['zip']}, USA instead."
    )
    return _Part(intent, [_call("modify_pending_order_address", args)])


def _retail_return(ctx: _Ctx) -> _Part | None:
    orders = _orders(ctx, "delivered")
    if not orders:
        return None
    order = ctx.rng.choice(orders)
    items = order["items"]
    chosen = sorted(ctx.rng.sample(range(len(items)), ctx.rng.randint(1, len(items))))
    returned = [items[i] for i in chosen]
    gift_cards = [m["payment_id"] for m in ctx.user["payment_methods"] if m["kind"] == "gift_card"]
    method = ctx.rng.choice([order["payment_id"], *gift_cards])
    args = {
        "order_id": order["order_id"],
        "item_ids": [i["item_id"] for i in returned],
        "payment_method_id": method,
    }
    after = ctx.run("return_delivered_order_items", args)
    intent = (
        f"You want to return {_items(returned)} from your delivered order {order['order_id']}, "
        f"with the refund going to {_method(ctx, method)}. "
        "You want to know how much will be refunded."
    )
    actions = [
        _call("get_order_details", {"order_id": order["order_id"]}),
        _call("return_delivered_order_items", args),
    ]
    return _Part(intent, actions, [_money(_net(order["payments"]) - _net(after["payments"]))])


def _retail_exchange(ctx: _Ctx) -> _Part | None:
    for order in _shuffled(ctx, _orders(ctx, "delivered")):
        for item in _shuffled(ctx, order["items"]):
            product = ctx.run("get_product_details", {"product_id": item["product_id"]})
            others = [
                v for v in product["variants"] if v["available"] and v["item_id"] != item["item_id"]
            ]
            if not others:
                continue
            new = ctx.rng.choice(others)
            methods = [m["payment_id"] for m in ctx.user["payment_methods"]]
            for method in [ctx.rng.choice(methods), *methods]:
                args = {
                    "order_id": order["order_id"],
                    "item_ids": [item["item_id"]],
                    "new_item_ids": [new["item_id"]],
                    "payment_method_id": method,
                }
                after = ctx.try_run("exchange_delivered_order_items", args)
                if after is None:
                    continue  # a gift card that does not cover the difference
                difference = _net(after["payments"]) - _net(order["payments"])
                settle = "pay" if difference > 0 else "receive"
                intent = (
                    f"You want to exchange {_items([item])} from your delivered order "
                    f"{order['order_id']} for the same product with {_options(new['options'])}. "
                    f"You {settle} any price difference through {_method(ctx, method)}, and "
                    "want to know how large the difference is."
                )
                actions = [
                    _call("get_order_details", {"order_id": order["order_id"]}),
                    _call("get_product_details", {"product_id": item["product_id"]}),
                    _call("exchange_delivered_order_items", args),
                ]
                return _Part(intent, actions, [_money(difference)])
    return None


def _retail_login(ctx: _Ctx) -> tuple[str, Action]:
    user = ctx.user
    first, last = user["name"]["first_name"], user["name"]["last_name"]
    ways = [w for w in ("find_user_by_email", "find_user_by_name_zip") if w in ctx.offered]
    way = ctx.rng.choice(ways) if ways else "find_user_by_email"
    if way == "find_user_by_email":
        return f"You are {first} {last}; your email is {user['email']}.", _call(
            way, {"email": user["email"]}
        )
    zip_code = user["address"]["zip"]
    args = {"first_name": first, "last_name": last, "zip": zip_code}
    return f"You are {first} {last} and live in zip code {zip_code}.", _call(way, args)


# Airline --------------------------------------------------------------------------------


def _reservations(ctx: _Ctx) -> list[dict[str, Any]]:
    found = [
        ctx.run("get_reservation_details", {"reservation_id": r}) for r in ctx.user["reservations"]
    ]
    return [r for r in found if r["status"] == "active" and r["reservation_id"] not in ctx.used]


def _trip(r: dict[str, Any]) -> str:
    return (
        f"{r['reservation_id']} ({r['origin']} to {r['destination']} on {r['flights'][0]['date']})"
    )


def _airline_cancel(ctx: _Ctx) -> _Part | None:
    for r in _shuffled(ctx, _reservations(ctx)):
        args = {"reservation_id": r["reservation_id"]}
        after = ctx.try_run("cancel_reservation", args)
        if after is None:
            continue  # flown, or outside the cancellation rules
        intent = (
            f"Your plans changed: you want to cancel reservation {_trip(r)} and to know how "
            "much will be refunded."
        )
        actions = [_call("get_reservation_details", args), _call("cancel_reservation", args)]
        return _Part(intent, actions, [_money(_net(r["payments"]) - _net(after["payments"]))])
    return None


def _airline_bags(ctx: _Ctx) -> _Part | None:
    methods = [m["payment_id"] for m in ctx.user["payment_methods"]]
    for r in _shuffled(ctx, _reservations(ctx)):
        total = int(r["total_baggages"]) + ctx.rng.randint(1, 2)
        for method in [ctx.rng.choice(methods), *methods]:
            args = {
                "reservation_id": r["reservation_id"],
                "total_baggages": total,
                "payment_id": method,
            }
            after = ctx.try_run("update_reservation_baggages", args)
            if after is None:
                continue
            fee = _net(after["payments"]) - _net(r["payments"])
            intent = (
                f"You want {total} checked bags in all on reservation {_trip(r)} (it has "
                f"{r['total_baggages']} now), paying any fee with {_method(ctx, method)}, and "
                "want to know what the extra bags cost."
            )
            lookup = _call("get_reservation_details", {"reservation_id": r["reservation_id"]})
            return _Part(
                intent, [lookup, _call("update_reservation_baggages", args)], [_money(fee)]
            )
    return None


def _airline_passengers(ctx: _Ctx) -> _Part | None:
    for r in _shuffled(ctx, _reservations(ctx)):
        people = [dict(p) for p in r["passengers"]]
        n = ctx.rng.randrange(len(people))
        old = people[n]
        name = f"{old['first_name']} {old['last_name']}"
        if ctx.rng.random() < 0.5:
            dob = f"19{ctx.rng.randrange(50, 99)}-1{ctx.rng.randrange(3)}-2{ctx.rng.randrange(8)}"
            if dob == old["dob"]:
                continue
            people[n]["dob"] = dob
            change = f"the date of birth of passenger {name} is wrong: it is {dob}"
        else:
            last = ctx.rng.choice([x for x in _LAST if x != old["last_name"]])
            people[n]["last_name"] = last
            change = f"passenger {name} is now called {old['first_name']} {last}"
        args = {"reservation_id": r["reservation_id"], "passengers": people}
        if ctx.try_run("update_reservation_passengers", args) is None:
            continue
        intent = f"On reservation {_trip(r)}, {change}; you want the reservation corrected."
        lookup = _call("get_reservation_details", {"reservation_id": r["reservation_id"]})
        return _Part(intent, [lookup, _call("update_reservation_passengers", args)])
    return None


def _airline_book(ctx: _Ctx) -> _Part | None:
    routes = ctx.env.db.execute(
        "SELECT DISTINCT f.origin, f.destination, d.date FROM flights f JOIN flight_dates d "
        "USING (flight_number) WHERE d.status = 'available' ORDER BY 1, 2, 3"
    ).fetchall()
    user, draw = ctx.user, ctx.rng.randrange
    me = {
        "first_name": user["name"]["first_name"],
        "last_name": user["name"]["last_name"],
        "dob": f"19{draw(60, 99)}-0{draw(1, 10)}-1{draw(10)}",
    }
    people = [me]
    if ctx.rng.random() < 0.4:
        people.append(
            {
                "first_name": ctx.rng.choice(_NAMES),
                "last_name": me["last_name"],
                "dob": "2001-04-12",
            }
        )
    methods = [m["payment_id"] for m in user["payment_methods"]]
    for origin, destination, date in _shuffled(ctx, routes)[:12]:
        search = {"origin": origin, "destination": destination, "date": date}
        for flight in ctx.run("search_direct_flight", search):
            cabins = [
                c
                for c, s in sorted(flight["cabins"].items())
                if s["available_seats"] >= len(people)
            ]
            if not cabins:
                continue
            cabin = ctx.rng.choice(cabins)
            bags, insurance = ctx.rng.randint(0, 2), ctx.rng.random() < 0.3
            for method in [ctx.rng.choice(methods), *methods]:
                args = {
                    "user_id": user["user_id"], "origin": origin, "destination": destination,
                    "flight_type": "one_way", "cabin": cabin,
                    "flights": [{"flight_number": flight["flight_number"], "date": date}],
                    "passengers": people, "payment_id": method, "total_baggages": bags,
                    "insurance": insurance,
                }  # fmt: skip
                booked = ctx.try_run("book_reservation", args)
                if booked is None:
                    continue  # flown already, or a gift card that does not cover it
                who = "; ".join(
                    f"{p['first_name']} {p['last_name']}, born {p['dob']}" for p in people
                )
                intent = (
                    f"You want to book a one-way {_CABINS[cabin]} trip from {origin} to "
                    f"{destination} on {date}, on the flight leaving at {flight['departure']}, "
                    f"for {who}. You want {bags} checked bags in all and "
                    f"{'travel insurance' if insurance else 'no insurance'}, and you pay with "
                    f"{_method(ctx, method)}. You want to know the reservation number and the "
                    "total price."
                )
                actions = [_call("search_direct_flight", search), _call("book_reservation", args)]
                outputs = [booked["reservation_id"], _money(_net(booked["payments"]))]
                return _Part(intent, actions, outputs)
    return None


def _airline_login(ctx: _Ctx) -> tuple[str, Action]:
    name = ctx.user["name"]
    uid = ctx.user["user_id"]
    intent = f"You are {name['first_name']} {name['last_name']}; your user id is {uid}."
    return intent, _call("get_user_details", {"user_id": uid})


_GOALS: dict[str, tuple[tuple[str, Builder], ...]] = {
    "retail": (
        ("cancel_pending_order", _retail_cancel),
        ("modify_pending_order_address", _retail_address),
        ("return_delivered_order_items", _retail_return),
        ("exchange_delivered_order_items", _retail_exchange),
    ),
    "airline": (
        ("cancel_reservation", _airline_cancel),
        ("update_reservation_baggages", _airline_bags),
        ("update_reservation_passengers", _airline_passengers),
        ("book_reservation", _airline_book),
    ),
}
"""Per domain, each goal's write tool and its builder."""

_LOGINS: dict[str, Callable[[_Ctx], tuple[str, Action]]] = {
    "retail": _retail_login,
    "airline": _airline_login,
}

COMBINE_RATE = 0.35
"""Share of blueprints that combine two goals (when the user has a second one)."""


def _ids(actions: Sequence[Action]) -> set[str]:
    keys = ("order_id", "reservation_id")
    return {str(a["arguments"][k]) for a in actions for k in keys if k in a["arguments"]}


def _replays(domain: Domain, seed: int, actions: Sequence[Action]) -> bool:
    """Every action succeeds on a fresh environment, and every write changes its state."""
    env = Environment(domain)
    env.reset(seed)
    try:
        for action in actions:
            tool = domain.tool(action["name"])
            writes = tool is not None and tool.writes
            before = env.state_digest() if writes else ""
            if not env.call(action["name"], action["arguments"]).ok:
                return False
            if writes and env.state_digest() == before:
                return False
        return True
    finally:
        env.close()


def _goal(ctx: _Ctx, goals: Sequence[tuple[str, Builder]]) -> _Part | None:
    for _, build in _shuffled(ctx, goals):
        try:
            part = build(ctx)
        except _Infeasible:
            part = None
        if part is not None:
            ctx.used |= _ids(part.actions)
            return part
    return None


def write_blueprint(
    domain: Domain, seed: int, user_id: str, offered: frozenset[str], rng: random.Random
) -> dict[str, Any]:
    """A correct blueprint (the writer's reply as JSON data) for ``user_id`` on ``domain``
    seeded with ``seed``, using only the ``offered`` tools; ValueError when no goal fits."""
    goals = [(w, b) for w, b in _GOALS.get(domain.name, ()) if w in offered]
    env = Environment(domain)
    try:
        for _ in range(3):  # a combination that does not replay falls back to other draws
            env.reset(seed)
            found = env.call("get_user_details", {"user_id": user_id})
            if not found.ok:
                raise ValueError(f"{domain.name} seed {seed} has no user {user_id!r}")
            ctx = _Ctx(env, found.value, rng, offered)
            login, lookup = _LOGINS[domain.name](ctx)
            first = _goal(ctx, goals)
            if first is None:
                break
            parts = [first]
            if rng.random() < COMBINE_RATE:
                rest = [(w, b) for w, b in goals if w != "book_reservation"]
                if (second := _goal(ctx, rest)) is not None:
                    parts.append(second)
            actions = [lookup, *(a for p in parts for a in p.actions)]
            if not _replays(domain, seed, actions):
                continue
            independent = len(parts) > 1 and "gift_card" not in orjson.dumps(actions).decode()
            return {
                "intent": " ".join([login, *(p.intent for p in parts)]),
                "actions": actions,
                "outputs": [o for p in parts for o in p.outputs],
                "ordered": not independent,
            }
    finally:
        env.close()
    raise ValueError(f"no feasible {domain.name} goal for {user_id!r} with tools {sorted(offered)}")


def _fail_action(domain: Domain, draft: dict[str, Any], rng: random.Random) -> None:
    """Make the first write name a row that does not exist (its lookups too): the ids
    still fit the schema, so only running the action finds out."""
    write = next(a for a in draft["actions"] if (t := domain.tool(a["name"])) and t.writes)
    args = write["arguments"]
    if "order_id" in args or "reservation_id" in args:
        key = "order_id" if "order_id" in args else "reservation_id"
        # Seeded ids start "#W1" and "R1": a leading zero names nothing.
        ghost = (
            f"#W0{rng.randrange(10**6):06d}"
            if key == "order_id"
            else f"R0{rng.randrange(10**5):05d}"
        )
        old = args[key]
        for action in draft["actions"]:
            if action["arguments"].get(key) == old:
                action["arguments"][key] = ghost
    else:  # a booking: seeded flight numbers are HAT100 to HAT186
        args["flights"][0]["flight_number"] = f"HAT9{rng.randrange(100):02d}"


def _unknown_tool(domain: Domain, draft: dict[str, Any]) -> None:
    write = next(a for a in draft["actions"] if (t := domain.tool(a["name"])) and t.writes)
    write["name"] = _UNKNOWN_TOOLS.get(write["name"], f"{write['name']}_now")


def _fault(request: RoleRequest) -> str | None:
    u = request.rng.random()
    for kind in CORRUPTIONS:
        rate = request.corruption.get(kind, 0.0)
        if u < rate:
            return kind
        u -= rate
    return None


def _answer(request: RoleRequest) -> str:
    task = orjson.loads(request.block)
    domain = _DOMAINS[str(task["domain"])]
    seed, user_id = int(task["env_seed"]), str(task["user_id"])
    offered = frozenset(str(t["name"]) for t in task["tools"])
    fault = _fault(request)
    draft = write_blueprint(domain, seed, user_id, offered, request.rng)
    previous = task.get("previous")
    if isinstance(previous, dict) and int(task.get("attempt") or 0) > 0:
        while draft["intent"] == previous.get("intent"):
            draft["intent"] += " You are happy to confirm each step."
    if fault == "blueprint_failing_action":
        _fail_action(domain, draft, request.rng)
    elif fault == "blueprint_unknown_tool":
        _unknown_tool(domain, draft)
    text = orjson.dumps(draft).decode()
    if fault == "blueprint_invalid_json":
        text = text[: max(1, int(len(text) * request.rng.uniform(0.3, 0.9)))]
    if fault is not None:
        request.injected[fault] += 1
    return text


ROLES: tuple[SimRole, ...] = (
    SimRole(tag="blueprint_task", answer=_answer, corruptions=CORRUPTIONS),
)
"""The blueprint roles the simulated endpoint plays."""
