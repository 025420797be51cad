"""Assemble and run the pipeline: every stage in one process (``apigen run``) or one stage as
a service (``apigen serve``).

``run_pipeline`` produces tasks with the sampler while the stage runners work, tracks each
task until all its pairs reached a terminal outcome (verified or rejected), and finishes when
the configured number of tasks completed (``samples``) or enough pairs were verified
(``target``). Terminal outcomes live in the dataset store, so a run restarted on the same
output directory and log resumes: re-issued tasks have the same ids and are not redone.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

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
    PIPELINE,
    GenerationSettings,
    Message,
    Reject,
    SemanticPass,
    Tool,
    Transport,
    encode,
)

from ._config import ConfigError, ModelConfig, PipelineConfig
from ._dataset import DatasetStore
from ._export import export_dataset
from ._local_run import LOCAL_RUN, all_local
from ._processes import StageProcess, offloaded, watch
from ._runner import RunnerSettings, StageRunner
from ._stage import Stage
from ._versions import (
    VERSION_NAMES,
    execution_stage,
    format_stage,
    generator_models,
    generator_stage,
    judge_models,
    semantic_stage,
)
from ._virtual_apis import open_virtual_apis
from .llm import ChatModel, LlmClient, LlmEndpoint, LocalModel, SimulatorConfig, run_simulator
from .llm._local import LocalModelError
from .stages import (
    DatasetSink,
    ExecutionChecker,
    FunnelSink,
    Sampler,
    SamplerConfig,
    SeedFeedback,
    SemanticChecker,
    tool_from_spec,
)

__all__ = [
    "Progress",
    "RunSummary",
    "build_stage",
    "load_library",
    "make_sampler",
    "open_transport",
    "run_pipeline",
]

log = logging.getLogger("apigen.pipeline")

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


@dataclass(slots=True)
class Progress:
    """Live counts of a run, for the terminal display and the summary."""

    issued: int = 0
    completed: int = 0
    verified: int = 0
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_model: Counter[tuple[str, str]] = field(default_factory=Counter)
    judges: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_at


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a finished run left: ``records`` kept in the dataset, ``duplicates`` of them
    removed by kind (``exact``, ``near``), and the exported ``files`` by format."""

    progress: Progress
    records: int
    files: dict[str, Path]
    duplicates: dict[str, int] = field(default_factory=dict)


class _Completion:
    """Which issued tasks reached a terminal outcome for every pair."""

    def __init__(self, store: DatasetStore) -> None:
        self._expected: dict[str, int] = {}
        self._seen: Counter[str] = Counter()
        self._whole: set[str] = set()
        self._done: set[str] = set()
        self.changed = anyio.Event()
        for sample_id, pair_index in store.terminal_outcomes():
            self._record(sample_id, pair_index)

    def issue(self, sample_id: str, pairs: int) -> None:
        self._expected[sample_id] = pairs
        self._check(sample_id)

    def _record(self, sample_id: str, pair_index: int) -> None:
        if pair_index < 0:
            self._whole.add(sample_id)
        else:
            self._seen[sample_id] += 1

    def terminal(self, sample_id: str, pair_index: int) -> None:
        self._record(sample_id, pair_index)
        self._check(sample_id)

    def _check(self, sample_id: str) -> None:
        expected = self._expected.get(sample_id)
        if expected is None or sample_id in self._done:
            return
        if sample_id in self._whole or self._seen[sample_id] >= expected:
            self._done.add(sample_id)
            self.changed.set()
            self.changed = anyio.Event()

    @property
    def outstanding(self) -> int:
        return len(self._expected) - len(self._done)

    @property
    def done(self) -> int:
        return len(self._done)


@asynccontextmanager
async def _open_model(cfg: ModelConfig, role: str, index: int) -> AsyncIterator[ChatModel]:
    if cfg.kind == "local":
        try:  # a model name not in the registry, or not installed: say so before running
            local = LocalModel(cfg.path or None, model=cfg.model, role=role, seed=cfg.seed or -1)
        except LocalModelError as exc:
            raise ConfigError(f"{role} {index}: {exc} ({exc.reason})") from None
        async with local as model:
            yield model
        return
    if cfg.kind == "simulated" and not cfg.base_url:
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
class _Built:
    stages: dict[str, Stage]
    sampler: Sampler
    store: DatasetStore
    library: ApiLibrary


async def _build(
    config: PipelineConfig,
    stack: AsyncExitStack,
    only: Sequence[str] = STAGE_NAMES,
    on_record: Callable[[SemanticPass], None] | None = None,
    on_reject: Callable[[Reject], None] | None = None,
) -> _Built:
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
            (await stack.enter_async_context(_open_model(m, "generator", i)), m.weight)
            for i, m in enumerate(generator_models(config))
        ]
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
    return _Built(stages, sampler, store, library)


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
        open_model=_open_model,
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
) -> SemanticChecker:
    """The semantic checker with its judges opened on ``stack`` (live and replays)."""
    judges = [
        await stack.enter_async_context(_open_model(m, "judge", i))
        for i, m in enumerate(judge_models(config))
    ]
    return semantic_stage(config, judges, version_name=version_name)


def make_sampler(config: PipelineConfig, library: ApiLibrary) -> Sampler:
    """The run's sampler over the library's executable APIs (same config, same tasks).

    A run on the local model gets :data:`LOCAL_RUN`'s styles, APIs and token cap."""
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
    sampler_config = SamplerConfig(
        seed=config.seed, settings=GenerationSettings(pairs=config.pairs)
    )
    if all_local(config.generators or (ModelConfig(kind="local"),)):
        executable = [s for s in executable if LOCAL_RUN.offers(s)] or executable
        sampler_config = SamplerConfig(
            style_mix=LOCAL_RUN.styles,
            seed=config.seed,
            settings=GenerationSettings(pairs=config.pairs, max_tokens=LOCAL_RUN.max_tokens),
        )
    return Sampler([tool_from_spec(s) for s in executable], sampler_config)


def _python_modules(library: ApiLibrary) -> set[str]:
    return {s.binding.module for s in library if isinstance(s.binding, PythonBinding)}


def _runner_settings(config: PipelineConfig) -> RunnerSettings:
    return RunnerSettings(concurrency=config.concurrency)


async def run_pipeline(
    config: PipelineConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: anyio.Event | None = None,
) -> RunSummary:
    """Run every stage until the run's goal is reached (or ``stop``), then export."""
    if config.samples is None and config.target is None:
        raise ConfigError("set samples (tasks to produce) or target (verified pairs to reach)")
    progress = Progress()
    await _run_stages(config, progress, on_progress, stop)
    # The stages, and the sink's near-duplicate index with them, are gone by now: the
    # export's memory adds to the run's baseline, not to its peak.
    store = DatasetStore(config.out / "dataset.db", near_threshold=0)
    try:
        files = export_dataset(store, config.out, judges=sorted(progress.judges))
        records = store.count()
        duplicates = store.duplicates()
    finally:
        store.close()
    if on_progress is not None:
        on_progress(progress)
    return RunSummary(progress, records, files, duplicates)


async def _run_stages(
    config: PipelineConfig,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    stop: anyio.Event | None,
) -> None:
    transport = open_transport(config)
    await transport.create_topics(list(PIPELINE), config.partitions)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(transport.aclose)
        completion: _Completion | None = None

        def on_record(event: SemanticPass) -> None:
            progress.verified += 1
            progress.per_model[(event.model, "verified")] += 1
            progress.judges.update(event.judgement.judges)
            if completion is not None:
                completion.terminal(event.meta.sample_id, event.pair_index)

        def on_reject(event: Reject) -> None:
            progress.rejected[(event.meta.stage, event.reason)] += 1
            progress.per_model[(event.model, f"fail_{event.meta.stage}")] += 1
            if completion is not None and event.meta.sample_id:
                completion.terminal(event.meta.sample_id, event.pair_index)

        children = [StageProcess(config, names) for names in offloaded(config.processes)]
        here = [n for n in STAGE_NAMES if not any(n in c.stages for c in children)]
        built = await _build(config, stack, here, on_record=on_record, on_reject=on_reject)
        completion = _Completion(built.store)
        for child in children:
            child.start()
            stack.push_async_callback(child.stop)
        runners = [
            StageRunner(stage, transport, settings=_runner_settings(config))
            for stage in built.stages.values()
        ]
        if config.feedback:
            runners.append(StageRunner(SeedFeedback(built.sampler), transport))
        async with anyio.create_task_group() as tg:
            for runner in runners:
                tg.start_soon(runner.run)
            watching = anyio.CancelScope()
            if children:
                tg.start_soon(_watch, children, watching)
            reporting = anyio.CancelScope()
            if on_progress is not None:
                tg.start_soon(_report, progress, on_progress, reporting)
            async with transport.producer() as producer:
                await _produce(config, built, completion, progress, producer, stop)
            while completion.outstanding and not (stop and stop.is_set()):
                with anyio.move_on_after(0.5):
                    await completion.changed.wait()
                progress.completed = completion.done
            progress.completed = completion.done
            for runner in runners:
                runner.stop()
            # The reporter never ends by itself; left running it held the group open
            # until the deadline below (a minute after every run).
            reporting.cancel()
            watching.cancel()
            tg.cancel_scope.deadline = anyio.current_time() + 60


async def _produce(
    config: PipelineConfig,
    built: _Built,
    completion: _Completion,
    progress: Progress,
    producer: Any,
    stop: anyio.Event | None,
) -> None:
    """Issue tasks while the goal is not met, keeping at most ``max_outstanding`` open."""
    pairs = config.pairs
    while not (stop and stop.is_set()):
        if config.samples is not None and progress.issued >= config.samples:
            return
        if config.target is not None and built.store.count() >= config.target:
            return
        room = config.max_outstanding - completion.outstanding
        if config.samples is not None:
            room = min(room, config.samples - progress.issued)
        if room <= 0:
            with anyio.move_on_after(0.2):
                await completion.changed.wait()
            progress.completed = completion.done
            continue
        batch = [built.sampler.next_sample() for _ in range(min(room, 256))]
        await producer.produce(
            [Message("samples", encode(s), key=s.meta.sample_id.encode()) for s in batch]
        )
        for s in batch:
            completion.issue(s.meta.sample_id, pairs)
        progress.issued += len(batch)
        progress.completed = completion.done


async def _watch(children: Sequence[StageProcess], scope: anyio.CancelScope) -> None:
    with scope:
        await watch(children)


async def _report(
    progress: Progress, callback: Callable[[Progress], None], scope: anyio.CancelScope
) -> None:
    with scope:
        while True:
            callback(progress)
            await anyio.sleep(0.5)


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
    built = await _build(config, stack, only=names)
    return [built.stages[name] for name in names]
