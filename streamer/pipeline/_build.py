"""Build the pipeline's parts from a config: the transport, the API library, the models,
the sampler and each stage with its resources (``apigen run``, ``apigen serve``, replays and
checks all build their stages here, so the same config gives the same stages)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from executors import (
    ApiLibrary,
    ApiSpec,
    Dispatcher,
    HostRefused,
    McpBinding,
    McpExecutor,
    NetworkPolicy,
    PythonBinding,
    PythonExecutor,
    RateLimits,
    RestBinding,
    RestExecutor,
    ResultCache,
    SpecError,
    VirtualFallback,
    default_redactor,
)
from executors._network import url_host
from executors.builtin import failing_arguments
from topics import (
    Reject,
    SemanticPass,
    Tool,
    Transport,
)

from ..dataset._store import DatasetStore
from ..dataset._usage import ModelUsage, add_usage
from ..llm import ChatModel, LlmClient, LlmEndpoint, LlmStats, LocalModel
from ..llm._local import LocalModelError
from ..runtime._runner import RunnerSettings
from ..runtime._stage import Stage
from ..stages import (
    DatasetSink,
    ExecutionChecker,
    FunnelSink,
    Sampler,
    tool_from_spec,
)
from ._config import PipelineConfig
from ._local_run import LOCAL_RUN, all_local
from ._model_config import ConfigError, ModelConfig
from ._runs import RunScoped
from ._versions import (
    VERSION_NAMES,
    execution_stage,
    format_stage,
    generator_models,
    generator_stage,
    judge_models,
    sampler_config,
    semantic_stage,
)
from ._virtual_apis import open_virtual_apis

__all__ = [
    "STAGE_NAMES",
    "Built",
    "build",
    "build_stage",
    "build_stages",
    "load_library",
    "make_sampler",
    "open_execution",
    "open_model",
    "open_semantic",
    "open_transport",
    "runner_settings",
]


STAGE_NAMES = ("generator", "format", "execution", "semantic", "sink", "funnel")


def open_transport(config: PipelineConfig) -> Transport:
    """Kafka when ``config.kafka`` is set, else the embedded log at ``config.embedded_log``;
    either with ``config.retention_hours`` (0 = keep records forever)."""
    retention_s = config.retention_hours * 3600 if config.retention_hours > 0 else None
    if config.kafka:
        from topics import KafkaTransport

        retention_ms = None if retention_s is None else max(1, round(retention_s * 1000))
        return KafkaTransport(config.kafka, namespace=config.namespace, retention_ms=retention_ms)
    from topics import EmbeddedTransport

    config.embedded_log.parent.mkdir(parents=True, exist_ok=True)
    return EmbeddedTransport(
        config.embedded_log, default_partitions=config.partitions, retention_s=retention_s
    )


def load_library(config: PipelineConfig) -> ApiLibrary:
    """The configured API sources, or the built-in library."""
    if not config.api_sources:
        return ApiLibrary.builtin()
    try:
        return ApiLibrary.from_sources(config.api_sources)
    except SpecError as exc:  # a catalogue that cannot be read at all: a usage error
        raise ConfigError(f"apis: {exc}") from None


@asynccontextmanager
async def open_model(cfg: ModelConfig, role: str, index: int) -> AsyncIterator[ChatModel]:
    if cfg.kind == "local":
        try:  # a model name not in the registry, or not installed: say so before running
            local = LocalModel(cfg.path or None, model=cfg.model, role=role, seed=cfg.seed or -1)
        except LocalModelError as exc:
            raise ConfigError(f"{role} {index}: {exc} ({exc.reason})") from None
        async with local as model:
            yield model
        return
    if cfg.kind == "simulated" and not cfg.base_url:
        from ..llm import SimulatorConfig, run_simulator

        sim_cfg = SimulatorConfig.from_dict(
            {"seed": cfg.seed, "latency": f"fixed:{cfg.latency_ms}", "corruption": cfg.corrupt}
            | ({"model": cfg.model} if cfg.model else {})
        )
        if cfg.corrupt.get("exec_failure"):
            # Argument sets the built-ins really reject, so each injected exec_failure on
            # the built-in library is exactly one function_error reject.
            sim_cfg = replace(sim_cfg, exec_failures=failing_arguments())
        async with run_simulator(sim_cfg) as sim:
            endpoint = LlmEndpoint(
                name=cfg.name or f"simulated-{role}-{index}",
                base_url=sim.base_url,
                model=cfg.model or sim.config.model,
                max_concurrency=cfg.max_concurrency,
                timeout_s=cfg.timeout_s,
            )
            async with LlmClient(endpoint) as client:
                yield client
        return
    endpoint = LlmEndpoint(
        name=cfg.name or cfg.model,
        base_url=cfg.base_url,
        model=cfg.model,
        api_key_env=cfg.api_key_env,
        requests_per_minute=cfg.requests_per_minute,
        tokens_per_minute=cfg.tokens_per_minute,
        max_concurrency=cfg.max_concurrency,
        timeout_s=cfg.timeout_s,
        price_input_per_mtok=cfg.price_input_per_mtok,
        price_output_per_mtok=cfg.price_output_per_mtok,
    )
    async with LlmClient(endpoint) as client:
        yield client


def _resolver(library: ApiLibrary) -> Callable[[Tool], ApiSpec | None]:
    def resolve(tool: Tool) -> ApiSpec | None:
        try:
            return library.by_id(tool.api_id)
        except KeyError:
            return None

    return resolve


@dataclass(slots=True)
class Built:
    stages: dict[str, Stage]
    sampler: Sampler
    store: DatasetStore
    library: ApiLibrary


async def build(
    config: PipelineConfig,
    stack: AsyncExitStack,
    only: Sequence[str] = STAGE_NAMES,
    on_record: Callable[[SemanticPass], None] | None = None,
    on_reject: Callable[[Reject], None] | None = None,
) -> Built:
    library = load_library(config)
    sampler = make_sampler(config, library)
    # Only the sink needs the near-duplicate index (tens of MB over a long run, and the
    # scipy import behind datasketch); the funnel writes outcomes, other stages nothing.
    path = config.out / "dataset.db"
    store = DatasetStore(path) if "sink" in only else DatasetStore(path, near_threshold=0)
    stack.callback(store.close)
    stages: dict[str, Stage] = {}
    if "generator" in only:
        models = [
            (await stack.enter_async_context(open_model(m, "generator", i)), m.weight)
            for i, m in enumerate(generator_models(config))
        ]
        stack.callback(_record_usage, path, "generator", [m for m, _ in models])
        stages["generator"] = generator_stage(config, models)
    if "format" in only:
        stages["format"] = format_stage(config)
    if "execution" in only:
        stages["execution"] = await open_execution(config, stack, library)
    if "semantic" in only:
        stages["semantic"] = await open_semantic(config, stack)
    if "sink" in only:
        stages["sink"] = DatasetSink(store, on_record)
    if "funnel" in only:
        stages["funnel"] = FunnelSink(store, on_reject)
    if config.run_id:  # one run's stages take only that run's events
        stages = {name: RunScoped(stage, config.run_id) for name, stage in stages.items()}
    return Built(stages, sampler, store, library)


async def open_execution(
    config: PipelineConfig,
    stack: AsyncExitStack,
    library: ApiLibrary,
    *,
    version_name: str = VERSION_NAMES["execution"],
    use_cache: bool = True,
) -> ExecutionChecker:
    """The execution checker with its executors entered on ``stack`` (live and replays)."""
    python = PythonExecutor(
        workers=config.python_workers,
        timeout_s=config.exec_timeout_s,
        allowed_modules=_python_modules(library),
    )
    cache = ResultCache(path=config.out / "results-cache.db") if use_cache else None
    for spec in library:  # every credential is a secret from the start, called or not
        if isinstance(spec.binding, RestBinding) and spec.binding.auth_env:
            default_redactor().add_env(spec.binding.auth_env)
    policy = NetworkPolicy.from_hosts(config.allow_hosts)
    rest = RestExecutor(policy=policy, limits=RateLimits(host_limits=config.host_limits))
    mcp = _mcp_executor(config, library, policy)
    dispatcher = Dispatcher(python=python, rest=rest, mcp=mcp, cache=cache)
    await stack.enter_async_context(dispatcher)
    virtual = await open_virtual_apis(
        config.virtual_apis,
        out=config.out,
        generators=generator_models(config),
        stack=stack,
        open_model=open_model,
    )
    executor = dispatcher if virtual is None else VirtualFallback(dispatcher, virtual)
    return execution_stage(config, library, executor, _resolver(library), version_name=version_name)


def _mcp_executor(
    config: PipelineConfig, library: ApiLibrary, policy: NetworkPolicy
) -> McpExecutor | None:
    """The executor of ``library``'s MCP tools on the configured servers (None when it
    has none); a tool naming a server that is not configured, or a server URL at an
    address ``policy`` refuses, is a :class:`ConfigError` before anything runs."""
    named = {s.binding.server for s in library if isinstance(s.binding, McpBinding)}
    if not named:
        return None
    if missing := sorted(named - set(config.mcp_servers)):
        raise ConfigError(
            f"mcp.servers: the API library's MCP tools name server(s) {missing}, which the "
            f"config does not have (configured: {sorted(config.mcp_servers)}); add "
            '[[mcp.servers]] name = "..." with command = [...] (stdio) or url = "..." (HTTP)'
        )
    for name, server in config.mcp_servers.items():
        if target := url_host(server.url):
            host, _, port = target.rpartition(":")
            try:
                policy.check_host(host.strip("[]"), int(port))
            except HostRefused as exc:
                raise ConfigError(
                    f"mcp.servers {name!r}: url {server.url}: {exc.message}"
                ) from None
    return McpExecutor(
        config.mcp_servers,
        timeout_s=config.mcp_timeout_s,
        startup_timeout_s=config.mcp_startup_timeout_s,
        policy=policy,
    )


async def open_semantic(
    config: PipelineConfig,
    stack: AsyncExitStack,
    *,
    version_name: str = VERSION_NAMES["semantic"],
) -> Stage:
    """The semantic checker with its judges opened on ``stack`` (live and replays)."""
    judges = [
        await stack.enter_async_context(open_model(m, "judge", i))
        for i, m in enumerate(judge_models(config))
    ]
    stack.callback(_record_usage, config.out / "dataset.db", "judge", judges)
    return semantic_stage(config, judges, version_name=version_name)


def _record_usage(db: Path, role: str, models: Sequence[ChatModel]) -> None:
    """Add what the models' clients accounted (LlmStats) to the run's usage for the card."""
    for model in models:
        stats = getattr(model, "stats", None)
        if isinstance(stats, LlmStats) and stats.calls:
            add_usage(db, ModelUsage(role, model.name, stats.calls, stats.prompt_tokens,
                                     stats.completion_tokens, stats.cost_usd))  # fmt: skip


def make_sampler(config: PipelineConfig, library: ApiLibrary, run_id: str = "") -> Sampler:
    """The run's sampler over the library's executable APIs (same config and run, same
    tasks; :func:`~._versions.sampler_config` says what it draws).

    A run on the local model offers only :data:`LOCAL_RUN`'s easy APIs."""
    virtual = config.virtual_apis.enabled  # then every API is executable, virtually
    executable = [s for s in library if s.binding is not None or virtual]
    if not executable:
        raise ConfigError(
            f"the API library has no executable API: none of its {len(library)} APIs has a "
            "binding (catalogue-only specs, such as ToolBench dumps, name no host to call). "
            "Add executable sources (--apis builtin, python:MODULE, an OpenAPI file with "
            "servers, an MCP listing), bind these with `apigen apis curate ... --base-url`, "
            "or answer them with virtual APIs (--virtual-apis: a simulator model makes the "
            "responses up from the documentation; marked simulated)"
        )
    if all_local(config.generators or (ModelConfig(kind="local"),)):
        executable = [s for s in executable if LOCAL_RUN.offers(s)] or executable
    tools = [tool_from_spec(s) for s in executable]
    return Sampler(tools, sampler_config(config), run_id=run_id or config.run_id)


def _python_modules(library: ApiLibrary) -> set[str]:
    return {s.binding.module for s in library if isinstance(s.binding, PythonBinding)}


def runner_settings(config: PipelineConfig) -> RunnerSettings:
    return RunnerSettings(concurrency=config.concurrency)


async def build_stage(name: str, config: PipelineConfig, stack: AsyncExitStack) -> Stage:
    """One stage (for ``apigen serve``), with its resources entered on ``stack``."""
    if name not in STAGE_NAMES:
        raise ConfigError(f"unknown stage {name!r}; choose from {list(STAGE_NAMES)}")
    (stage,) = await build_stages(config, stack, (name,))
    return stage


async def build_stages(
    config: PipelineConfig, stack: AsyncExitStack, names: Sequence[str]
) -> list[Stage]:
    """Stages ``names`` with their resources entered on ``stack`` (one library load)."""
    unknown = sorted(set(names) - set(STAGE_NAMES))
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; choose from {list(STAGE_NAMES)}")
    built = await build(config, stack, only=names)
    return [built.stages[name] for name in names]
