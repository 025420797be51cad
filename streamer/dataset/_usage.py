"""What a run's LLM calls used and cost, per role and model, kept beside the dataset.

Each process adds its clients' totals (:class:`~streamer.llm.LlmStats`: tokens as the
endpoint reported them, cost in US dollars from the configured prices) to the ``llm_usage``
table of the run's ``dataset.db`` when it closes them, so a run spread over processes or
resumed several times sums up in one place, and the card (:mod:`._export`) shows it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModelUsage", "add_usage", "read_usage"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS llm_usage (
    role TEXT NOT NULL, model TEXT NOT NULL, calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
    PRIMARY KEY (role, model))"""


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One role's model (``generator``/``judge``): calls made, tokens, cost in US dollars."""

    role: str
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def add_usage(db: Path, usage: ModelUsage) -> None:
    """Add ``usage`` to the totals in ``db`` (the run's ``dataset.db``)."""
    with sqlite3.connect(db, timeout=60.0) as con:
        con.execute(_SCHEMA)
        con.execute(
            "INSERT INTO llm_usage VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (role, model) DO UPDATE"
            " SET calls = calls + excluded.calls, prompt_tokens = prompt_tokens +"
            " excluded.prompt_tokens, completion_tokens = completion_tokens +"
            " excluded.completion_tokens, cost_usd = cost_usd + excluded.cost_usd",
            (usage.role, usage.model, usage.calls, usage.prompt_tokens,
             usage.completion_tokens, usage.cost_usd),
        )  # fmt: skip
    con.close()


def read_usage(db: Path) -> list[ModelUsage]:
    """The totals in ``db`` by role and model (none when nothing was recorded)."""
    if not db.is_file():
        return []
    with sqlite3.connect(db, timeout=60.0) as con:
        con.execute(_SCHEMA)
        rows = con.execute("SELECT * FROM llm_usage ORDER BY role, model").fetchall()
    con.close()
    return [
        ModelUsage(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[5])) for r in rows
    ]
