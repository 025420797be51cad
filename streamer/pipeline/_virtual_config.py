"""The ``[virtual_apis]`` table: whether calls of APIs without a binding are answered by
virtual APIs, by which simulator model, and with what store and limits (what it means:
:mod:`streamer.pipeline._virtual_apis`)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ._model_config import ConfigError, ModelConfig, as_type, read_model

__all__ = ["VirtualApisConfig", "read_virtual_apis", "simulator_model"]


@dataclass(frozen=True, slots=True)
class VirtualApisConfig:
    """Virtual APIs for calls of APIs without a binding (see the module docstring).

    enabled: answer such calls with virtual APIs (off: they fail ``no_binding``).
    simulator: the model writing the responses; None = the first generator, else the local
      model.
    cache: the answer store's SQLite file; None = ``<out>/virtual-apis.db``.
    max_attempts: simulator replies asked per call before ``virtual_bad_response``.
    temperature: the simulator's sampling temperature.
    max_tokens: longest simulator reply, in tokens.
    timeout_s: seconds one simulator request may take, its retries included.
    """

    enabled: bool = False
    simulator: ModelConfig | None = None
    cache: Path | None = None
    max_attempts: int = 3
    temperature: float = 0.2
    max_tokens: int = 1024
    timeout_s: float = 120.0


_NUMBERS = {"max_attempts": int, "temperature": float, "max_tokens": int, "timeout_s": float}


def read_virtual_apis(table: Any, path: Path) -> VirtualApisConfig:
    """The ``[virtual_apis]`` table of config file ``path``; raises
    :class:`ConfigError` naming the field."""
    where = f"{path}: virtual_apis"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table ([virtual_apis]), got {table!r}")
    known = {f.name for f in fields(VirtualApisConfig)}
    if unknown := sorted(set(table) - known):
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    if "enabled" in table:
        values["enabled"] = as_type(table["enabled"], bool, f"{where}.enabled")
    if "simulator" in table:
        values["simulator"] = read_model(table["simulator"], f"{where}.simulator")
    if "cache" in table:
        cache = as_type(table["cache"], str, f"{where}.cache")
        values["cache"] = (path.parent / cache) if cache else None
    for key, typ in _NUMBERS.items():
        if key in table:
            values[key] = as_type(table[key], typ, f"{where}.{key}")
    config = VirtualApisConfig(**values)
    if config.max_attempts < 1 or config.max_tokens < 1:
        raise ConfigError(f"{where}: max_attempts and max_tokens must be at least 1")
    if not config.timeout_s > 0 or not 0 <= config.temperature <= 2:
        raise ConfigError(f"{where}: timeout_s must be > 0 and temperature within 0..2")
    return config


def simulator_model(virtual: VirtualApisConfig, generators: tuple[ModelConfig, ...]) -> ModelConfig:
    """The model that writes virtual-API responses: the configured simulator, else the
    first generator, else the local model; under its own endpoint name."""
    if virtual.simulator is not None:
        return replace(virtual.simulator, name=virtual.simulator.name or "virtual-apis")
    chosen = generators[0] if generators else ModelConfig(kind="local")
    # Its own endpoint name, so its calls, tokens and cost are counted apart from the
    # generator's although it is the same model.
    return replace(chosen, name="virtual-apis", weight=1.0)
