"""The ``[sampler]`` table's task-shape settings: style mix, APIs and examples per task, the
seed pool's size and the generator templates each style samples among.

Example::

    [sampler]
    style_mix = {simple = 3, parallel = 2, irrelevance = 1}   # relative weights
    apis_per_task = {multiple = [2, 5]}     # inclusive [min, max]; other styles keep defaults
    examples_per_task = [1, 3]              # inclusive [min, max] seed examples per task
    pool_capacity = 200                     # seed examples kept per style
    templates = {simple = ["generator", "generator-persona"]}   # template ids per style

The same values come from ``apigen run`` options (:func:`parse_style_weight` and the other
parsers here): ``--style simple=3``, ``--apis-per-task multiple=2-5``,
``--examples-per-task 1-3``, ``--template simple=generator-persona``. Every error names the
key (``apigen.toml: sampler.apis_per_task.multiple: ...``), reason ``invalid_config``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from topics import QueryStyle

from ..prompts import GENERATOR_TEMPLATES
from ._model_config import ConfigError, as_type

__all__ = [
    "MAX_APIS_PER_TASK",
    "MAX_EXAMPLES_PER_TASK",
    "SAMPLER_KEYS",
    "SamplerSettings",
    "parse_range",
    "parse_style_range",
    "parse_style_template",
    "parse_style_weight",
    "read_sampler_settings",
]

MAX_APIS_PER_TASK = 32
"""Most APIs one task may offer: each is a tool schema in the prompt."""

MAX_EXAMPLES_PER_TASK = 16
"""Most seed examples one task may show."""

_MIN_APIS = {QueryStyle.MULTIPLE: 2, QueryStyle.PARALLEL_MULTIPLE: 2}
"""Styles that need more than one API offered: a choice among tools, or two different ones."""


@dataclass(frozen=True, slots=True)
class SamplerSettings:
    """What shape the sampler gives tasks (all part of the sampler's version, so of every
    task id; ``None``/empty keeps the code's defaults, see :class:`~streamer.stages.SamplerConfig`).

    style_mix: relative weight per query style (normalized to shares) of the verified
      unique records the style controller steers towards; a style left out or at 0 is not
      asked for. Empty: the default mix, or ``simple`` only on the local model.
    apis_per_task: per style, the inclusive (min, max) number of APIs offered per task;
      styles left out keep their defaults.
    examples_per_task: inclusive (min, max) number of verified seed examples shown per task
      (fewer while the seed pool holds fewer); None: the default (0, 3).
    pool_capacity: seed examples kept per style (oldest evicted first); None: 200.
    templates: per style, the generator template ids (see :data:`GENERATOR_TEMPLATES`)
      one is drawn from per task; styles left out sample among all of them. A run on the
      local model uses the compact prompt whatever is set here.
    """

    style_mix: Mapping[QueryStyle, float] = field(default_factory=dict)
    apis_per_task: Mapping[QueryStyle, tuple[int, int]] = field(default_factory=dict)
    examples_per_task: tuple[int, int] | None = None
    pool_capacity: int | None = None
    templates: Mapping[QueryStyle, tuple[str, ...]] = field(default_factory=dict)


SAMPLER_KEYS = frozenset(
    {"style_mix", "apis_per_task", "examples_per_task", "pool_capacity", "templates"}
)
"""The ``[sampler]`` keys this module reads (the others are plain settings of the config)."""


def _style(name: Any, where: str) -> QueryStyle:
    try:
        return QueryStyle(name)
    except ValueError:
        known = ", ".join(s.value for s in QueryStyle)
        raise ConfigError(f"{where}: {name!r} is not a query style; known: {known}") from None


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table by style ({{simple = ...}}), got {value!r}")
    return value


def check_weight(value: Any, where: str) -> float:
    """A style's weight: a finite number >= 0."""
    weight = as_type(value, float, where)
    if not (math.isfinite(weight) and weight >= 0):
        raise ConfigError(f"{where}: {weight!r}: a weight is a number >= 0")
    return float(weight)


def check_range(value: Any, where: str, low: int, high: int) -> tuple[int, int]:
    """An inclusive ``[min, max]`` of integers with ``low <= min <= max <= high``."""
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise ConfigError(f"{where}: expected [min, max], got {value!r}")
    lo, hi = (as_type(v, int, where) for v in value)
    if not low <= lo <= hi <= high:
        raise ConfigError(f"{where}: [{lo}, {hi}]: use {low} <= min <= max <= {high}")
    return lo, hi


def _apis_range(style: QueryStyle, value: Any, where: str) -> tuple[int, int]:
    lo, hi = check_range(value, where, 1, MAX_APIS_PER_TASK)
    if lo < (least := _MIN_APIS.get(style, 1)):
        raise ConfigError(f"{where}: [{lo}, {hi}]: {style} offers at least {least} APIs")
    return lo, hi


def _template_ids(value: Any, where: str) -> tuple[str, ...]:
    ids = [value] if isinstance(value, str) else value
    if not (isinstance(ids, list | tuple) and ids and all(isinstance(i, str) for i in ids)):
        raise ConfigError(f"{where}: expected template ids (a string or a list), got {value!r}")
    for template_id in ids:
        if template_id not in GENERATOR_TEMPLATES:
            known = ", ".join(sorted(GENERATOR_TEMPLATES))
            raise ConfigError(f"{where}: {template_id!r} is not a template; known: {known}")
    return tuple(dict.fromkeys(ids))


def read_sampler_settings(table: Mapping[str, Any], where: str) -> SamplerSettings:
    """The :data:`SAMPLER_KEYS` of a ``[sampler]`` table (``where``: ``"<file>: sampler"``)."""
    mix: dict[QueryStyle, float] = {}
    for name, value in _table(table.get("style_mix", {}), f"{where}.style_mix").items():
        mix[_style(name, f"{where}.style_mix")] = check_weight(value, f"{where}.style_mix.{name}")
    if mix and not any(w > 0 for w in mix.values()):
        raise ConfigError(f"{where}.style_mix: needs at least one style with a weight > 0")
    ranges = {}
    for name, value in _table(table.get("apis_per_task", {}), f"{where}.apis_per_task").items():
        style = _style(name, f"{where}.apis_per_task")
        ranges[style] = _apis_range(style, value, f"{where}.apis_per_task.{name}")
    examples = None
    if "examples_per_task" in table:
        examples = check_range(
            table["examples_per_task"], f"{where}.examples_per_task", 0, MAX_EXAMPLES_PER_TASK
        )
    capacity = None
    if "pool_capacity" in table:
        capacity = as_type(table["pool_capacity"], int, f"{where}.pool_capacity")
        if capacity < 1:
            raise ConfigError(f"{where}.pool_capacity: {capacity}: keep at least 1 example")
    templates = {}
    for name, value in _table(table.get("templates", {}), f"{where}.templates").items():
        style = _style(name, f"{where}.templates")
        templates[style] = _template_ids(value, f"{where}.templates.{name}")
    return SamplerSettings(mix, ranges, examples, capacity, templates)


def _style_item(item: str, option: str, shape: str) -> tuple[QueryStyle, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise ConfigError(f"{option}: {item!r}: expected {shape}")
    return _style(name, f"{option} {item!r}"), value


def parse_range(text: str, where: str, low: int, high: int) -> tuple[int, int]:
    """``MIN-MAX`` (or one number for both) as an inclusive range."""
    lo, sep, hi = text.partition("-")
    try:
        bounds = [int(lo), int(hi if sep else lo)]
    except ValueError:
        raise ConfigError(f"{where}: {text!r}: expected MIN-MAX, e.g. 1-3") from None
    return check_range(bounds, where, low, high)


def parse_style_weight(item: str) -> tuple[QueryStyle, float]:
    """``--style STYLE=WEIGHT``."""
    style, value = _style_item(item, "--style", "STYLE=WEIGHT, e.g. simple=3")
    try:
        weight = float(value)
    except ValueError:
        raise ConfigError(f"--style {item!r}: {value!r} is not a number") from None
    return style, check_weight(weight, f"--style {item!r}")


def parse_style_range(item: str) -> tuple[QueryStyle, tuple[int, int]]:
    """``--apis-per-task STYLE=MIN-MAX``."""
    style, value = _style_item(item, "--apis-per-task", "STYLE=MIN-MAX, e.g. multiple=2-4")
    where = f"--apis-per-task {item!r}"
    return style, _apis_range(style, parse_range(value, where, 1, MAX_APIS_PER_TASK), where)


def parse_style_template(item: str) -> tuple[QueryStyle, str]:
    """``--template STYLE=ID``."""
    style, value = _style_item(item, "--template", "STYLE=ID, e.g. simple=generator-persona")
    (template_id,) = _template_ids(value, f"--template {item!r}")
    return style, template_id
