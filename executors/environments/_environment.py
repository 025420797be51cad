"""An environment: one domain's SQLite database, reset per task, changed only by its tools.

A :class:`Domain` is data: a schema (SQL), a seeded generator that fills it, tools and a
written policy. An :class:`Environment` runs one domain in a private in-memory database:

- :meth:`Environment.reset` rebuilds the database from ``seed``; the same seed gives the
  same content byte for byte (:meth:`Environment.dump`).
- :meth:`Environment.call` validates the arguments with the format checker's rules
  (:func:`executors.compile_schema` with closed objects, through the spec), runs the tool
  in one transaction (rolled back on any failure) and returns a :class:`ToolResult`; it
  never raises.
- :meth:`Environment.state_digest` hashes the whole state, so "expected final state" and
  "actual final state" compare as two strings.

Sandbox: the database lives in memory; the connection refuses ``ATTACH`` (which would open
a file); tools use parameterized SQL only, so arguments stay data.

Usage::

    env = Environment(RETAIL)
    env.reset(7)
    found = env.call("find_user_by_email", {"email": "ava.smith@example.com"})
    digest = env.state_digest()
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .._spec import ApiSpec
from .._virtual import argument_problem
from ._errors import ToolError

__all__ = ["Domain", "Environment", "Tool", "ToolResult"]

ToolFunction = Callable[[sqlite3.Connection, dict[str, Any]], Any]
"""A tool's body: reads and changes the database, returns JSON data or raises ToolError."""


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool: what the agent sees (name, description, JSON Schema ``parameters``,
    ``returns``) and the function that runs it; ``writes`` says whether it may change
    the database (a later stage compares only the writes of two action sequences)."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: ToolFunction
    writes: bool = False
    returns: str = ""


@dataclass(frozen=True, slots=True)
class Domain:
    """A domain: ``schema`` (SQL statements), ``seed`` (fills a fresh database from a
    seeded :class:`random.Random`; must draw from nothing else), ``tools`` and ``policy``
    (plain text the agent must follow; rules a tool enforces itself fail with
    ``policy_violation``)."""

    name: str
    schema: str
    seed: Callable[[sqlite3.Connection, random.Random], None]
    tools: tuple[Tool, ...]
    policy: str
    specs: tuple[ApiSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate tool names in {names}")
        specs = tuple(
            ApiSpec.create(
                where=f"environment:{self.name}",
                name=t.name,
                description=t.description,
                parameters=t.parameters,
                category=self.name,
                returns=t.returns,
                source=f"environment:{self.name}",
            )
            for t in self.tools
        )
        object.__setattr__(self, "specs", specs)

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One call's end: ``ok`` with JSON ``value``, or a ``reason`` from
    :data:`~executors.environments.REASONS` and a ``message``."""

    ok: bool
    value: Any = None
    reason: str = ""
    message: str = ""


def _authorize(action: int, *_: str | None) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class Environment:
    """One domain's database; see the module docstring. Not thread-safe: one per task."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.seed: int | None = None
        self.calls_total = 0
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        state = "closed" if self._db is None else f"seed={self.seed}"
        return f"<Environment {self.domain.name} {state} calls={self.calls_total}>"

    def reset(self, seed: int) -> None:
        """A fresh database seeded from ``seed`` (any earlier state is dropped)."""
        self.close()
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(self.domain.schema)
        db.execute("BEGIN")
        self.domain.seed(db, random.Random(seed))
        db.execute("COMMIT")
        db.set_authorizer(_authorize)
        self._db, self.seed, self.calls_total = db, seed, 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"{self.domain.name}: call reset(seed) first")
        return self._db

    def call(self, tool: str, arguments: Any) -> ToolResult:
        """Run ``tool`` with ``arguments`` (JSON data) in one transaction; never raises."""
        db = self.db
        self.calls_total += 1
        found = self.domain.tool(tool)
        if found is None:
            names = sorted(t.name for t in self.domain.tools)
            return ToolResult(False, reason="unknown_tool", message=f"{tool!r} not in {names}")
        spec = next(s for s in self.domain.specs if s.name == tool)
        if problem := argument_problem(spec, arguments):
            return ToolResult(False, reason="invalid_arguments", message=f"{tool}: {problem}")
        db.execute("BEGIN")
        try:
            value = found.function(db, arguments)
        except ToolError as exc:
            db.execute("ROLLBACK")
            return ToolResult(False, reason=exc.reason, message=exc.message)
        except Exception as exc:  # a bug in a tool must not leave half a change behind
            db.execute("ROLLBACK")
            message = f"{tool}: {type(exc).__name__}: {exc}"
            return ToolResult(False, reason="environment_error", message=message)
        db.execute("COMMIT")
        return ToolResult(True, value=value)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's rows as dicts, tables by name and rows by all columns in order."""
        db = self.db
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        out: dict[str, list[dict[str, Any]]] = {}
        for table in tables:
            # The table names come from sqlite_master (the domain's own schema), never data.
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            rows = sorted(cursor.fetchall(), key=lambda r: tuple((v is None, v) for v in r))
            out[table] = [dict(zip(columns, row, strict=True)) for row in rows]
        return out

    def dump(self) -> str:
        """The database as SQL text (schema and rows), for tests and debugging."""
        return "\n".join(self.db.iterdump())

    def state_digest(self) -> str:
        """SHA-256 (hex) of the domain name and :meth:`snapshot`: equal states, equal digests."""
        body = orjson.dumps([self.domain.name, self.snapshot()], option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(body).hexdigest()
