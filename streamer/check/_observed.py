"""Comparing executed results with the outputs a dataset recorded for the same calls.

Conversation datasets (glaive's ``observation`` turns, OpenAI ``tool`` messages, Hermes
``<tool_response>``) show what the tool returned when the record was made. When the
execution stage runs the calls, each result is compared with its recorded output:

- an output holding numbers **agrees** when every number in it is among the result's
  numbers, within 1 % (``{"tip_amount": 15}`` agrees with ``{"tip": 15.0, "total": 115.0}``;
  ``{"bmi": 22.86}`` with ``22.857``);
- an output without numbers agrees when it equals the result, or every string in it is
  among the result's strings (case and surrounding space ignored).

A difference does not change the verdict (random or time-dependent tools differ by nature);
it is reported on the record and counted in the summary, because it is how a tool that
binds by signature but means something else shows up (a tip *fraction* passed to a
function that takes a *percentage*).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Literal

__all__ = ["Agreement", "compare_observed"]

Agreement = Literal["agrees", "differs", ""]


def _leaves(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            yield item


def _numbers(value: Any) -> list[float]:
    return [
        float(v)
        for v in _leaves(value)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]


def _strings(value: Any) -> set[str]:
    return {v.strip().lower() for v in _leaves(value) if isinstance(v, str)}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.01, abs_tol=1e-9)


def _agrees(result: Any, observed: Any) -> bool:
    if observed == result:
        return True
    wanted = _numbers(observed)
    if wanted:
        have = _numbers(result)
        return all(any(_close(w, h) for h in have) for w in wanted)
    strings = _strings(observed)
    return bool(strings) and strings <= _strings(result)


def compare_observed(results: Sequence[Any], observed: Sequence[Any]) -> tuple[Agreement, str]:
    """(agreement, note) of executed ``results`` with the recorded ``observed`` outputs;
    ``("", "")`` when there is nothing to compare (no outputs, or not one per call)."""
    if not observed or len(observed) != len(results):
        return "", ""
    for index, (result, seen) in enumerate(zip(results, observed, strict=True)):
        if not _agrees(result, seen):
            return (
                "differs",
                f"call {index}: the dataset shows {seen!r:.120}, execution gave {result!r:.120}",
            )
    return "agrees", ""
