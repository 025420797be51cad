"""Virtual APIs in runs and checks: ``--virtual-apis`` and the ``[virtual_apis]`` table.

Off unless turned on, so no one mistakes a made-up response for a real execution. On, every
call of an API without a binding (ToolBench's RapidAPI tools, a dataset's tools nobody
has) is answered by a :class:`~executors.VirtualExecutor`: the answer store first
(``<out>/virtual-apis.db`` by default, shared by every process of the run and kept across
runs and replays), then the simulator model. Results are marked ``simulated`` in their
events, in the dataset's records and in its card.

Example::

    [virtual_apis]
    enabled = true            # or: apigen run --virtual-apis
    # cache = "answers.db"    # the answer store (relative to the config file); default
    #                         # <out>/virtual-apis.db
    # max_attempts = 3        # replies asked per call before virtual_bad_response
    # temperature = 0.2       # the simulator's sampling temperature
    # max_tokens = 1024       # longest reply, in tokens
    # timeout_s = 120.0       # seconds one simulator request may take (retries included)

    [virtual_apis.simulator]  # the model writing responses, a [[generators]]-style table;
    kind = "openai"           # default: the first generator (else the local model)
    base_url = "https://api.openai.com/v1"
    model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"
    requests_per_minute = 500 # rate limits and prices as for generators

The simulator's rate limits, retries and cost accounting are its LLM client's (the
``apigen_llm_*`` metrics under its endpoint name, ``virtual-apis`` unless it has one).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from executors import VirtualCache, VirtualExecutor

if TYPE_CHECKING:
    from ._config import ModelConfig
    from .llm import ChatModel

__all__ = ["VirtualApisConfig", "open_virtual_apis", "read_virtual_apis", "virtual_identity"]

OpenModel = Callable[["ModelConfig", str, int], AbstractAsyncContextManager["ChatModel"]]
"""How the pipeline opens a model (``_pipeline._open_model``): config, role, index."""


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
    :class:`~streamer._config.ConfigError` naming the field."""
    from ._config import ConfigError, _model, _typed

    where = f"{path}: virtual_apis"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table ([virtual_apis]), got {table!r}")
    known = {f.name for f in fields(VirtualApisConfig)}
    if unknown := sorted(set(table) - known):
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    if "enabled" in table:
        values["enabled"] = _typed(table["enabled"], bool, f"{where}.enabled")
    if "simulator" in table:
        values["simulator"] = _model(table["simulator"], f"{where}.simulator")
    if "cache" in table:
        cache = _typed(table["cache"], str, f"{where}.cache")
        values["cache"] = (path.parent / cache) if cache else None
    for key, typ in _NUMBERS.items():
        if key in table:
            values[key] = _typed(table[key], typ, f"{where}.{key}")
    config = VirtualApisConfig(**values)
    if config.max_attempts < 1 or config.max_tokens < 1:
        raise ConfigError(f"{where}: max_attempts and max_tokens must be at least 1")
    if not config.timeout_s > 0 or not 0 <= config.temperature <= 2:
        raise ConfigError(f"{where}: timeout_s must be > 0 and temperature within 0..2")
    return config


def _simulator_model(
    virtual: VirtualApisConfig, generators: tuple[ModelConfig, ...]
) -> ModelConfig:
    from ._config import ModelConfig

    if virtual.simulator is not None:
        return replace(virtual.simulator, name=virtual.simulator.name or "virtual-apis")
    chosen = generators[0] if generators else ModelConfig(kind="local")
    # Its own endpoint name, so its calls, tokens and cost are counted apart from the
    # generator's although it is the same model.
    return replace(chosen, name="virtual-apis", weight=1.0)


def virtual_identity(
    virtual: VirtualApisConfig, generators: tuple[ModelConfig, ...]
) -> dict[str, Any]:
    """What decides the virtual APIs' answers (for the execution stage's version); empty
    when they are off, so runs without them keep their versions."""
    if not virtual.enabled:
        return {}
    from ._versions import model_identity

    model = _simulator_model(virtual, generators)
    return {
        "simulator": model_identity(model),
        "max_attempts": virtual.max_attempts,
        "temperature": virtual.temperature,
    }


async def open_virtual_apis(
    virtual: VirtualApisConfig,
    *,
    out: Path | None,
    generators: tuple[ModelConfig, ...],
    stack: AsyncExitStack,
    open_model: OpenModel,
) -> VirtualExecutor | None:
    """The run's virtual-API executor with its simulator and store entered on ``stack``
    (None when virtual APIs are off). The store is ``virtual.cache``, else
    ``out/virtual-apis.db``, else (no ``out``: ``apigen check``) in memory."""
    if not virtual.enabled:
        return None
    model = await stack.enter_async_context(
        open_model(_simulator_model(virtual, generators), "virtual-apis", 0)
    )
    executor = VirtualExecutor(
        model,
        cache=VirtualCache(virtual.cache or (out / "virtual-apis.db" if out else None)),
        max_attempts=virtual.max_attempts,
        temperature=virtual.temperature,
        max_tokens=virtual.max_tokens,
        timeout_s=virtual.timeout_s,
    )
    stack.push_async_callback(executor.aclose)
    return executor
