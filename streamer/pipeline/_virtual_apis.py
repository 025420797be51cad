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
from pathlib import Path
from typing import TYPE_CHECKING

from executors import VirtualCache, VirtualExecutor

from ._model_config import ModelConfig
from ._virtual_config import VirtualApisConfig, simulator_model

if TYPE_CHECKING:
    from ..llm import ChatModel

__all__ = ["open_virtual_apis"]

OpenModel = Callable[[ModelConfig, str, int], AbstractAsyncContextManager["ChatModel"]]
"""How the pipeline opens a model (``_build.open_model``): config, role, index."""


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
        open_model(simulator_model(virtual, generators), "virtual-apis", 0)
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
