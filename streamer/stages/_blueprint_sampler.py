"""Blueprint sampler -> ``blueprint-tasks``: the domain, data, user and tools of each task.

A source, like the single-turn :class:`~streamer.stages.Sampler`: task number ``index``
(from 1) is a pure function of the sampler's version (its config and the domains' tools and
policies) and ``index``, so a restarted sampler re-issues the same tasks with the same ids
(replays, exactly-once) without remembering anything.

For each task the sampler

- picks a domain: the domains alternate when their weights are equal, else each index
  draws one by weight;
- derives the environment seed from the run seed and the index, resets an
  :class:`~executors.environments.Environment` with it and draws a user from that data:
  one with something the offered write tools can act on (a pending order to cancel, an
  active reservation to change), so a correct blueprint exists;
- offers the domain's tools (all, or every lookup tool plus a draw of write tools) as
  :class:`topics.Tool` built from ``domain.specs``, and the domain's policy;
- shows the user's record as the tools show it: the user's details with their orders
  (retail) or reservations (airline) in full.

Usage::

    sampler = BlueprintSampler(BlueprintSamplerConfig(seed=7), run_id="run-1")
    for task in sampler.tasks(100):
        ...
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from executors.environments import AIRLINE, RETAIL, Domain, Environment
from topics import BlueprintTask, EventMeta, Tool, derive_id

from ..runtime._stage import stage_version
from ._sampler import tool_from_spec

__all__ = ["DEFAULT_DOMAINS", "BlueprintSampler", "BlueprintSamplerConfig"]

DEFAULT_DOMAINS: tuple[Domain, ...] = (RETAIL, AIRLINE)
"""The domains a sampler draws from unless told otherwise."""

_UPCOMING = "NOT EXISTS (SELECT 1 FROM reservation_flights f WHERE f.reservation_id = "
_UPCOMING += "r.reservation_id AND f.date < '2024-05-15')"

_ELIGIBLE: Mapping[str, Mapping[str, str]] = {
    "retail": {
        "cancel_pending_order": "SELECT user_id FROM orders WHERE status = 'pending'",
        "modify_pending_order_address": "SELECT user_id FROM orders WHERE status = 'pending'",
        "return_delivered_order_items": "SELECT user_id FROM orders WHERE status = 'delivered'",
        "exchange_delivered_order_items": (
            "SELECT o.user_id FROM orders o JOIN order_items i ON i.order_id = o.order_id "
            "JOIN variants v ON v.item_id = i.item_id JOIN variants w ON w.product_id = "
            "v.product_id AND w.item_id <> v.item_id AND w.stock > 0 "
            "WHERE o.status = 'delivered'"
        ),
    },
    "airline": {
        "book_reservation": "SELECT user_id FROM users",
        "cancel_reservation": (
            "SELECT r.user_id FROM reservations r WHERE r.status = 'active' AND (r.cabin = "
            "'business' OR r.insurance = 1 OR r.created_at >= '2024-05-14T15:00:00') AND "
            + _UPCOMING
        ),
        "update_reservation_baggages": (
            "SELECT r.user_id FROM reservations r WHERE r.status = 'active' AND " + _UPCOMING
        ),
        "update_reservation_passengers": (
            "SELECT r.user_id FROM reservations r WHERE r.status = 'active' AND " + _UPCOMING
        ),
    },
}
"""Per domain and write tool, the users that tool can act for on a fresh environment (SQL
of the domain's own schema, constant: never built from data). The airline's clock is
fixed (2024-05-15T15:00:00, see docs/environments.md), hence the literal dates."""

_DETAILS: Mapping[str, tuple[str, str, str]] = {
    "retail": ("orders", "get_order_details", "order_id"),
    "airline": ("reservations", "get_reservation_details", "reservation_id"),
}
"""Per domain: the user-details key listing ids, the tool giving one's details, its argument."""


@dataclass(frozen=True, slots=True)
class BlueprintSamplerConfig:
    """What the blueprint sampler draws (all of it hashed into the sampler's version).

    seed: the run seed; the environment seed of task ``index`` derives from it and the
      index, so equal seeds give equal tasks.
    weights: relative weight (> 0) per domain name; empty or all equal: the domains
      alternate in the order given; otherwise each task draws its domain by weight.
    tools_per_task: how many tools a task offers. None: all of the domain's tools; a number:
      every lookup tool (never dropped: the agent needs them to find the data) plus write
      tools drawn to fill the number, at least one.

    Usage::

        BlueprintSamplerConfig(seed=7, weights={"retail": 3, "airline": 1}, tools_per_task=8)
    """

    seed: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)
    tools_per_task: int | None = None


def _domain_fingerprint(domain: Domain) -> dict[str, Any]:
    policy = hashlib.blake2b(domain.policy.encode(), digest_size=8).hexdigest()
    return {"tools": [(s.name, s.version) for s in domain.specs], "policy": policy}


class BlueprintSampler:
    """Produces :class:`~topics.BlueprintTask` events; see the module docstring. Not
    thread-safe (it reuses one environment per domain)."""

    name = "blueprint-sampler"

    def __init__(
        self,
        config: BlueprintSamplerConfig | None = None,
        *,
        domains: Sequence[Domain] = DEFAULT_DOMAINS,
        run_id: str = "",
    ) -> None:
        """``domains``: the domains to draw from, in alternation order. ``run_id``: the run
        the tasks belong to (in every task's meta; empty: no run)."""
        self.config = config or BlueprintSamplerConfig()
        if not domains:
            raise ValueError("the blueprint sampler needs at least one domain")
        self.domains = tuple(domains)
        names = [d.name for d in self.domains]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate domains in {names}")
        unknown = set(self.config.weights) - set(names)
        if unknown:
            raise ValueError(f"weights for unknown domains {sorted(unknown)}; known: {names}")
        self._weights = [float(self.config.weights.get(n, 1.0)) for n in names]
        if any(w <= 0 for w in self._weights):
            raise ValueError(f"domain weights must be > 0: {self._weights}")
        if self.config.tools_per_task is not None and self.config.tools_per_task < 1:
            raise ValueError("tools_per_task must be at least 1")
        self.run_id = run_id
        self._envs = {d.name: Environment(d) for d in self.domains}
        self._tools = {d.name: tuple(tool_from_spec(s) for s in d.specs) for d in self.domains}
        self.version = _version(self.config, self.domains)
        self.issued = 0

    def __repr__(self) -> str:
        names = [d.name for d in self.domains]
        return f"<BlueprintSampler {self.version} domains={names} issued={self.issued}>"

    def task_id(self, index: int) -> str:
        """The id of the ``index``-th task (from 1) of this sampler."""
        return derive_id("blueprint-task", self.version, str(index))

    def env_seed(self, index: int) -> int:
        """The environment seed of the ``index``-th task: from the run seed and the index
        (32 bits, so every transport carries it as a plain integer)."""
        return int(derive_id("blueprint-env", str(self.config.seed), str(index))[:8], 16)

    def _domain(self, index: int, rng: random.Random) -> Domain:
        if len(set(self._weights)) == 1:
            return self.domains[(index - 1) % len(self.domains)]
        return rng.choices(self.domains, self._weights)[0]

    def _offered(self, domain: Domain, rng: random.Random) -> tuple[Tool, ...]:
        tools = self._tools[domain.name]
        k = self.config.tools_per_task
        if k is None or k >= len(tools):
            return tools
        writes = [t.name for t in domain.tools if t.writes]
        reads = len(domain.tools) - len(writes)
        chosen = set(rng.sample(writes, min(len(writes), max(1, k - reads))))
        return tuple(
            t for t, d in zip(tools, domain.tools, strict=True) if not d.writes or t.name in chosen
        )

    def _user(self, env: Environment, tools: Sequence[Tool], rng: random.Random) -> str:
        eligible = _ELIGIBLE.get(env.domain.name, {})
        users: set[str] = set()
        for tool in tools:
            if (sql := eligible.get(tool.name)) is not None:
                users.update(r[0] for r in env.db.execute(sql))
        if not users:  # a domain without a table, or no write with work: any user
            users = {r[0] for r in env.db.execute("SELECT user_id FROM users")}
        if not users:
            raise ValueError(f"{env.domain.name}: the seeded environment has no users")
        return rng.choice(sorted(users))

    def _record(self, env: Environment, user_id: str) -> str:
        found = env.call("get_user_details", {"user_id": user_id})
        if not found.ok:
            return orjson.dumps({"user_id": user_id}).decode()
        record: dict[str, Any] = dict(found.value)
        if (details := _DETAILS.get(env.domain.name)) is not None:
            key, tool, argument = details
            shown = [env.call(tool, {argument: i}) for i in record.get(key, [])]
            record[key] = [r.value for r in shown if r.ok]
        return orjson.dumps(record).decode()

    def task(self, index: int) -> BlueprintTask:
        """The ``index``-th task (from 1): the same for the same version and index."""
        if index < 1:
            raise ValueError(f"task indexes start at 1, got {index}")
        rng = random.Random(f"{self.version}:{index}")
        domain = self._domain(index, rng)
        tools = self._offered(domain, rng)
        env = self._envs[domain.name]
        seed = self.env_seed(index)
        env.reset(seed)
        user_id = self._user(env, tools, rng)
        record = self._record(env, user_id)
        tid = self.task_id(index)
        meta = EventMeta(
            id=tid,
            parent_id=None,
            sample_id=tid,
            stage=self.name,
            stage_version=self.version,
            versions=((self.name, self.version),),
            run_id=self.run_id,
        )
        return BlueprintTask(
            meta=meta,
            domain=domain.name,
            env_seed=seed,
            user_id=user_id,
            user_record=record,
            tools=tools,
            policy=domain.policy,
        )

    def tasks(self, n: int, *, start: int = 1) -> Iterator[BlueprintTask]:
        """Tasks ``start`` .. ``start + n - 1``, lazily; ``issued`` counts those yielded."""
        for index in range(start, start + n):
            task = self.task(index)
            self.issued += 1
            yield task


def _version(config: BlueprintSamplerConfig, domains: Sequence[Domain]) -> str:
    """The sampler's version: its config and the domains' tool versions and policies, so a
    changed tool or policy starts a new lineage."""
    return stage_version(
        "blueprint-sampler-v1",
        {"config": config, "domains": {d.name: _domain_fingerprint(d) for d in domains}},
    )
