"""Every PromQL expression of the dashboards and rules, ready to evaluate.

Dashboard variables are substituted with what "All" selects (``.*``) and Grafana's
interval macros with fixed windows. A variable query ``label_values(m, l)`` is evaluated as
``count by (l) (m)``. An alert's expression has the form ``<lhs> <comparison> <number>``;
an alert that is not firing returns nothing, so the tests evaluate its left-hand side
(:func:`alert_lhs`) and require series there, and evaluate the whole expression only for
parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Expr", "alert_lhs", "alerts", "dashboard_exprs", "load_dashboards", "recordings"]

MACROS = {"__rate_interval": "1m", "__range": "5m", "__interval": "5s"}
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_LABEL_VALUES = re.compile(r"^label_values\((?P<metric>.+),\s*(?P<label>\w+)\)$", re.S)
_ALERT = re.compile(r"^(?P<lhs>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<number>[-+0-9.eE]+)\s*$", re.S)


@dataclass(frozen=True, slots=True)
class Expr:
    where: str
    promql: str


def substitute(expr: str) -> str:
    return _VARIABLE.sub(lambda m: MACROS.get(m.group(1), ".*"), expr)


def load_dashboards(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def dashboard_exprs(
    folder: Path, *, only: Collection[str] | None = None, exclude: Collection[str] = ()
) -> list[Expr]:
    """The queries and variables of the dashboards in ``folder`` (file names, e.g.
    ``overview.json``: ``only`` those if given, never those in ``exclude``)."""
    out: list[Expr] = []
    for name, board in load_dashboards(folder).items():
        if name in exclude or (only is not None and name not in only):
            continue
        for panel in board["panels"]:
            for target in panel["targets"]:
                where = f"{name}: panel {panel['id']} {panel['title']!r} {target['refId']}"
                out.append(Expr(where, substitute(target["expr"])))
        for var in board["templating"]["list"]:
            if var["type"] != "query":
                continue
            match = _LABEL_VALUES.match(var["definition"])
            assert match, f"{name}: variable {var['name']}: not label_values(...)"
            promql = f"count by ({match['label']}) ({match['metric']})"
            out.append(Expr(f"{name}: variable {var['name']}", substitute(promql)))
    return out


def _rules(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def recordings(path: Path) -> list[tuple[str, Expr]]:
    """(recorded series name, expression) of every recording rule."""
    return [
        (r["record"], Expr(f"record {r['record']}", r["expr"]))
        for r in _rules(path)
        if "record" in r
    ]


def alerts(path: Path) -> list[tuple[str, Expr]]:
    return [
        (r["alert"], Expr(f"alert {r['alert']}", r["expr"])) for r in _rules(path) if "alert" in r
    ]


def alert_lhs(expr: str) -> str:
    """The left-hand side of ``<lhs> <comparison> <number>``."""
    match = _ALERT.match(expr.strip())
    assert match, f"alert expression is not '<lhs> <op> <number>': {expr!r}"
    return match["lhs"]
