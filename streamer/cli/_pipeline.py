"""``apigen run`` (every stage in one process) and ``apigen serve STAGE`` (one stage)."""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from topics import MULTI_TURN, PIPELINE, QueryStyle

from ..pipeline._blueprint_sampler_service import serve_blueprint_sampler
from ..pipeline._build import STAGE_NAMES, build_stage, open_transport
from ..pipeline._config import PipelineConfig, check_allow_hosts, load_config
from ..pipeline._model_config import ConfigError, ModelConfig
from ..pipeline._multi_turn import run_multi_turn
from ..pipeline._multi_turn_stages import MULTI_TURN_STAGE_NAMES, build_multi_turn_stage
from ..pipeline._processes import StageProcessError
from ..pipeline._run import Progress, run_pipeline
from ..pipeline._sampler_config import (
    MAX_EXAMPLES_PER_TASK,
    SamplerSettings,
    parse_range,
    parse_style_range,
    parse_style_template,
    parse_style_weight,
)
from ..pipeline._sampler_service import serve_sampler
from ..runtime._metrics import serve_metrics
from ..runtime._runner import StageRunner
from ..runtime._stage import StageHalted

__all__ = ["register"]

console = Console(stderr=True)

T = TypeVar("T")


def _parse_corruptions(items: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in items:
        kind, sep, rate = item.partition("=")
        try:
            rates[kind] = float(rate)
        except ValueError:
            sep = ""
        if not sep:
            raise typer.BadParameter(f"{item!r}: expected KIND=RATE, e.g. wrong_type=0.05")
    return rates


def _config(
    config_file: Path | None,
    *,
    out: Path | None,
    samples: int | None,
    target: int | None,
    kafka: str | None,
    partitions: int | None,
    pairs: int | None,
    seed: int | None,
    feedback: bool | None,
    simulate: bool,
    latency_ms: float,
    corrupt: list[str],
    endpoint: str | None,
    model: str | None,
    api_key_env: str | None,
    gguf: Path | None,
    apis: list[str],
    metrics_port: int | None = None,
    metrics_host: str | None = None,
    allow_hosts: tuple[str, ...] = (),
    virtual_apis: bool = False,
    shape: _TaskShape | None = None,
    multi_turn: bool = False,
) -> PipelineConfig:
    try:
        config = load_config(config_file) if config_file else PipelineConfig()
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    generators = config.generators
    judges = config.judges
    if simulate and (multi_turn or config.multi_turn.enabled):
        # One simulated endpoint plays every part (writer, reviewers, user, agent), so its
        # /stats adds up to the run's rejects; each part's faults are its own kinds.
        sim = ModelConfig(
            kind="simulated", latency_ms=latency_ms, corrupt=_parse_corruptions(corrupt)
        )
        generators, judges = (sim,), (sim,)
    elif simulate:
        rates = _parse_corruptions(corrupt)
        # judge_* corruptions act on verdicts: they go to the simulated judge, not the generator
        for_judge = {k: r for k, r in rates.items() if k.startswith("judge_")}
        for_generator = {k: r for k, r in rates.items() if k not in for_judge}
        sim = ModelConfig(kind="simulated", latency_ms=latency_ms, corrupt=for_generator)
        judge = ModelConfig(kind="simulated", seed=1, corrupt=for_judge)
        generators, judges = (sim,), (judge,)
    elif endpoint:
        generators = (
            ModelConfig(
                kind="openai",
                base_url=endpoint,
                model=model or "",
                name=model or endpoint,
                api_key_env=api_key_env or "",
            ),
        )
    elif gguf:
        generators = (ModelConfig(kind="local", path=str(gguf)),)
    return config.with_overrides(
        out=out,
        samples=samples,
        target=target,
        kafka=kafka,
        partitions=partitions,
        pairs=pairs,
        seed=seed,
        feedback=feedback,
        generators=generators,
        judges=judges,
        api_sources=tuple(apis) or None,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        allow_hosts=_allowed(config.allow_hosts, allow_hosts),
        virtual_apis=replace(config.virtual_apis, enabled=True) if virtual_apis else None,
        sampler=shape.apply(config.sampler) if shape else None,
        multi_turn=replace(config.multi_turn, enabled=True) if multi_turn else None,
    )


@dataclass(frozen=True, slots=True)
class _TaskShape:
    """``apigen run``'s sampler options as given (see :mod:`streamer.pipeline._sampler_config`)."""

    styles: tuple[str, ...] = ()
    apis_per_task: tuple[str, ...] = ()
    examples_per_task: str | None = None
    templates: tuple[str, ...] = ()

    def apply(self, settings: SamplerSettings) -> SamplerSettings:
        """``settings`` with these options over them: ``--style`` replaces the mix, the
        others replace the styles they name; a bad option is a usage error naming it."""
        try:
            mix = dict(parse_style_weight(item) for item in self.styles)
            ranges = dict(parse_style_range(item) for item in self.apis_per_task)
            templates: dict[QueryStyle, tuple[str, ...]] = {}
            for style, template_id in map(parse_style_template, self.templates):
                templates[style] = (*templates.get(style, ()), template_id)
            examples = settings.examples_per_task
            if self.examples_per_task is not None:
                where = "--examples-per-task"
                examples = parse_range(self.examples_per_task, where, 0, MAX_EXAMPLES_PER_TASK)
            if mix and not any(w > 0 for w in mix.values()):
                raise ConfigError("--style: needs at least one style with a weight > 0")
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
        return replace(
            settings,
            style_mix=mix or settings.style_mix,
            apis_per_task={**settings.apis_per_task, **ranges},
            examples_per_task=examples,
            templates={**settings.templates, **templates},
        )


def _allowed(configured: tuple[str, ...], given: tuple[str, ...]) -> tuple[str, ...] | None:
    """The config's allowed hosts plus ``--allow-host`` ones (None: no change)."""
    if not given:
        return None
    try:
        return configured + check_allow_hosts(list(given), "--allow-host")
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--allow-host") from None


def _table(progress: Progress, kept: str = "verified pairs") -> Table:
    table = Table(title=f"apigen run: {progress.elapsed_s:,.0f} s", expand=False)
    table.add_column("")
    table.add_column("count", justify="right")
    rate = progress.completed / progress.elapsed_s if progress.elapsed_s else 0.0
    table.add_row("tasks issued", f"{progress.issued:,}")
    table.add_row("tasks finished", f"{progress.completed:,} ({rate:,.1f}/s)")
    table.add_row(f"[green]{kept}", f"{progress.verified:,}")
    by_stage: dict[str, int] = {}
    for (stage, _), n in progress.rejected.items():
        by_stage[stage] = by_stage.get(stage, 0) + n
    for stage, n in sorted(by_stage.items()):
        table.add_row(f"[red]rejected at {stage}", f"{n:,}")
    models = sorted({m for m, _ in progress.per_model})
    for m in models:
        verified = progress.per_model[(m, "verified")]
        total = sum(n for (mm, _), n in progress.per_model.items() if mm == m)
        table.add_row(f"pass rate {m}", f"{verified / total:.1%} of {total:,}" if total else "-")
    return table


_METRICS_PORT = typer.Option(
    help="Serve Prometheus /metrics on this port (0: off; default: config metrics.port)."
)
_METRICS_HOST = typer.Option(
    help="Interface for /metrics (default 127.0.0.1; 0.0.0.0 in containers)."
)
_ALLOW_HOST = typer.Option(
    "--allow-host",
    help="HOST or HOST:PORT that API calls may reach at a loopback/private address "
    "(repeatable; hosts from API sources are refused there otherwise).",
)


_VIRTUAL_APIS = typer.Option(
    "--virtual-apis",
    help="Answer calls of APIs without a binding (ToolBench, say) with virtual APIs: a "
    "simulator model ([virtual_apis.simulator], default the first generator) makes the "
    "responses up from the documentation; results are marked simulated.",
)


_DECONTAMINATE = typer.Option(
    "--decontaminate",
    help="A benchmark reference set to keep out of the dataset (a BFCL folder, an xLAM/"
    "OpenAI/ShareGPT dataset, a query list; repeatable): a pair repeating one of its items "
    "is rejected as contaminated.",
)


_MULTI_TURN = typer.Option(
    "--multi-turn",
    help="Make verified multi-turn trajectories (after APIGen-MT) instead of single-turn "
    "pairs: task blueprints validated on stateful retail/airline environments and a review "
    "committee, then played by a simulated user and the agent ([multi_turn] in the config).",
)
_RESUME = typer.Option(
    "--resume",
    help="Continue the run recorded in --out (same run id and task ids; nothing finished "
    "is redone). Without it a new run starts clean: its own run id, the previous run's "
    "dataset moved to <out>/runs/<id>/, other runs' events on the log read past.",
)
_RUN = typer.Option(
    "--run",
    help="Work for this run id only: the sampler's tasks carry it, the stage reads past "
    "other runs' events (default: every event, no run).",
)
_STYLE = typer.Option(
    "--style",
    help="STYLE=WEIGHT: relative weight of a query style among the verified records "
    "(repeatable; replaces [sampler] style_mix; styles not given are not asked for).",
)
_APIS_PER_TASK = typer.Option(
    "--apis-per-task",
    help="STYLE=MIN-MAX: APIs offered per task of that style, inclusive (repeatable).",
)
_EXAMPLES_PER_TASK = typer.Option(
    help="MIN-MAX: verified seed examples shown per task, inclusive (default 0-3)."
)
_TEMPLATE = typer.Option(
    "--template",
    help="STYLE=ID: a generator template that style draws from (repeatable; ids: "
    "generator, generator-persona, generator-scenario).",
)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``serve``."""

    @app.command()
    def run(
        config_file: Annotated[
            Path | None, typer.Option("--config", help="TOML config file (see docs).")
        ] = None,
        out: Annotated[Path | None, typer.Option(help="Dataset directory.")] = None,
        samples: Annotated[int | None, typer.Option(help="Tasks to produce, then finish.")] = None,
        target: Annotated[
            int | None, typer.Option(help="Verified pairs to reach, then finish.")
        ] = None,
        kafka: Annotated[
            str | None, typer.Option(help="Kafka bootstrap servers (default: embedded log).")
        ] = None,
        partitions: Annotated[int | None, typer.Option(help="Partitions per topic.")] = None,
        pairs: Annotated[int | None, typer.Option(help="Pairs asked for per LLM call.")] = None,
        seed: Annotated[int | None, typer.Option(help="Sampler seed.")] = None,
        feedback: Annotated[
            bool | None, typer.Option("--feedback/--no-feedback", help="Grow the seed pool.")
        ] = None,
        simulate: Annotated[
            bool, typer.Option(help="Use the SIMULATED LLM endpoint (for trying things out).")
        ] = False,
        latency_ms: Annotated[float, typer.Option(help="Simulated latency (ms).")] = 0.0,
        corrupt: Annotated[
            list[str], typer.Option(help="Simulated corruption KIND=RATE (repeatable).")
        ] = [],  # noqa: B006
        endpoint: Annotated[
            str | None, typer.Option(help="OpenAI-compatible base URL for the generator.")
        ] = None,
        model: Annotated[str | None, typer.Option(help="Model name at --endpoint.")] = None,
        api_key_env: Annotated[
            str | None, typer.Option(help="Environment variable holding the API key.")
        ] = None,
        gguf: Annotated[Path | None, typer.Option(help="Local GGUF model file.")] = None,
        apis: Annotated[
            list[str],
            typer.Option("--apis", help="API source file or python:MODULE (repeatable)."),
        ] = [],  # noqa: B006
        metrics_port: Annotated[int | None, _METRICS_PORT] = None,
        metrics_host: Annotated[str | None, _METRICS_HOST] = None,
        allow_host: Annotated[list[str], _ALLOW_HOST] = [],  # noqa: B006
        processes: Annotated[
            int | None,
            typer.Option(
                min=1, max=3, help="Processes to spread the stages over (2: generator apart)."
            ),
        ] = None,
        virtual_apis: Annotated[bool, _VIRTUAL_APIS] = False,
        decontaminate: Annotated[list[Path], _DECONTAMINATE] = [],  # noqa: B006
        style: Annotated[list[str], _STYLE] = [],  # noqa: B006
        apis_per_task: Annotated[list[str], _APIS_PER_TASK] = [],  # noqa: B006
        examples_per_task: Annotated[str | None, _EXAMPLES_PER_TASK] = None,
        template: Annotated[list[str], _TEMPLATE] = [],  # noqa: B006
        resume: Annotated[bool, _RESUME] = False,
        multi_turn: Annotated[bool, _MULTI_TURN] = False,
    ) -> None:
        """Run every stage until the goal is reached (in one process unless --processes);
        write the dataset."""
        shape = _TaskShape(tuple(style), tuple(apis_per_task), examples_per_task, tuple(template))
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        config = _config(
            config_file, out=out, samples=samples, target=target, kafka=kafka,
            partitions=partitions, pairs=pairs, seed=seed, feedback=feedback,
            simulate=simulate, latency_ms=latency_ms, corrupt=corrupt, endpoint=endpoint,
            model=model, api_key_env=api_key_env, gguf=gguf, apis=apis,
            metrics_port=metrics_port, metrics_host=metrics_host, allow_hosts=tuple(allow_host),
            virtual_apis=virtual_apis, shape=shape, multi_turn=multi_turn,
        ).with_overrides(processes=processes)  # fmt: skip
        if config.multi_turn.enabled:
            _run_multi_turn(config, resume)
            return
        if decontaminate:
            references = config.decontaminate.references + tuple(decontaminate)
            config = config.with_overrides(
                decontaminate=replace(config.decontaminate, references=references)
            )
        if config.samples is None and config.target is None:
            config = config.with_overrides(target=20)
        summary = _live(run_pipeline, config, resume, "verified pairs")
        say = functools.partial(console.print, soft_wrap=True)  # paths stay whole in logs
        if summary.run is not None:
            say(summary.run.describe(config.out))
        say(f"[bold]{summary.records}[/bold] verified records in {config.out}/")
        if summary.duplicates:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.duplicates.items()))
            removed = sum(summary.duplicates.values())
            verified = summary.progress.verified
            say(f"  {verified} verified pairs; {removed} duplicate(s) removed ({kinds})")
        for kind, path in summary.files.items():
            say(f"  {kind:9} {path}")

    @app.command()
    def serve(
        stage: Annotated[
            str,
            typer.Argument(
                help=f"One of sampler, {', '.join(STAGE_NAMES)}; multi-turn: blueprint-sampler, "
                f"{', '.join(MULTI_TURN_STAGE_NAMES)}."
            ),
        ],
        config_file: Annotated[Path | None, typer.Option("--config")] = None,
        kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
        out: Annotated[Path | None, typer.Option(help="Dataset directory (sink).")] = None,
        simulate: Annotated[bool, typer.Option(help="Use the SIMULATED LLM endpoint.")] = False,
        group: Annotated[str | None, typer.Option(help="Consumer group (default: stage).")] = None,
        run: Annotated[str | None, _RUN] = None,
        metrics_port: Annotated[int | None, _METRICS_PORT] = None,
        metrics_host: Annotated[str | None, _METRICS_HOST] = None,
        allow_host: Annotated[list[str], _ALLOW_HOST] = [],  # noqa: B006
        samples: Annotated[
            int | None, typer.Option(help="(sampler) Tasks to produce, then finish.")
        ] = None,
        target: Annotated[
            int | None,
            typer.Option(help="(sampler) Verified pairs to reach, then finish (none: run on)."),
        ] = None,
        seed: Annotated[int | None, typer.Option(help="(sampler) Sampler seed.")] = None,
        feedback: Annotated[
            bool | None,
            typer.Option("--feedback/--no-feedback", help="(sampler) Grow the seed pool."),
        ] = None,
        multi_turn: Annotated[
            bool,
            typer.Option(
                "--multi-turn",
                help="Serve the multi-turn pipeline's stage (implied by its stage names; "
                "for the funnel, count the multi-turn rejects).",
            ),
        ] = False,
    ) -> None:
        """Run one stage as a long-running service (replicas share its partitions). The
        sampler (one instance) produces --samples tasks, or tasks until --target verified
        pairs exist, or tasks until stopped; restarted, it resumes. The blueprint-sampler
        produces --samples blueprint tasks for the multi-turn stages; restarted, it skips
        the tasks already produced."""
        served = ("sampler", *STAGE_NAMES, "blueprint-sampler", *MULTI_TURN_STAGE_NAMES)
        if stage not in served:
            known = list(dict.fromkeys(served))
            console.print(f"[red]error:[/red] unknown stage {stage!r}; choose from {known}")
            raise typer.Exit(2)
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        for chatty in ("httpx", "httpx2"):  # a line per LLM request drowns the service's own
            logging.getLogger(chatty).setLevel(logging.WARNING)
        config = _config(
            config_file, out=out, samples=samples, target=target, kafka=kafka, partitions=None,
            pairs=None, seed=seed, feedback=feedback, simulate=simulate, latency_ms=0.0,
            corrupt=[], endpoint=None, model=None, api_key_env=None, gguf=None, apis=[],
            metrics_port=metrics_port, metrics_host=metrics_host, allow_hosts=tuple(allow_host),
            multi_turn=multi_turn or _multi_turn_only(stage),
        ).with_overrides(run_id=run)  # fmt: skip
        try:
            with serve_metrics(config.metrics_port, host=config.metrics_host):
                if stage == "blueprint-sampler":
                    anyio.run(_serve_blueprint_sampler, config)
                elif stage == "sampler":
                    anyio.run(_serve_sampler, config)
                else:
                    anyio.run(_serve, stage, config, group)
        except ConfigError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None


def _live(
    runner: Callable[..., Awaitable[T]], config: PipelineConfig, resume: bool, kept: str
) -> T:
    """Run ``runner`` (a pipeline) with a live progress table and /metrics; a usage error
    exits 2, a refused credential 3, a failed stage process 1, each with its message."""
    with Live(console=console, refresh_per_second=2, transient=False) as live:

        def show(progress: Progress) -> None:
            live.update(_table(progress, kept))

        try:
            with serve_metrics(config.metrics_port, host=config.metrics_host):
                summary = anyio.run(_run_with_signals, runner, config, show, resume)
        except ConfigError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except BaseExceptionGroup as group:
            bad_config, _ = group.split(ConfigError)
            halted, _ = group.split(StageHalted)  # a refused key: exit 3
            found = bad_config or halted or group.split(StageProcessError)[0]
            if found is None:
                raise
            leaf: BaseException = found
            while isinstance(leaf, BaseExceptionGroup):  # task groups nest
                leaf = leaf.exceptions[0]
            console.print(f"[red]error:[/red] {escape(str(leaf))}")
            raise typer.Exit(2 if bad_config else 3 if halted else 1) from None
    console.print()  # without a terminal, Live leaves the table's last border unended
    return summary


def _run_multi_turn(config: PipelineConfig, resume: bool) -> None:
    """``apigen run --multi-turn``: the multi-turn pipeline, its progress and summary."""
    if config.target is not None:
        console.print("[red]error:[/red] --target is for pairs; a multi-turn run takes --samples")
        raise typer.Exit(2)
    if config.samples is None:
        config = config.with_overrides(samples=8)
    summary = _live(run_multi_turn, config, resume, "verified trajectories")
    say = functools.partial(console.print, soft_wrap=True)
    if summary.run is not None:
        say(summary.run.describe(config.out))
    say(f"[bold]{summary.trajectories}[/bold] verified trajectories in {config.out}/")
    for kind, path in summary.files.items():
        say(f"  {kind:9} {path}")


async def _run_with_signals(
    runner: Callable[..., Awaitable[T]],
    config: PipelineConfig,
    show: Callable[[Progress], None],
    resume: bool,
) -> T:
    stop = anyio.Event()
    result: list[T] = []

    async def watch() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                console.print("stopping: draining in-flight work (Ctrl-C again to abort)")
                stop.set()
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        result.append(await runner(config, on_progress=show, stop=stop, resume=resume))
        tg.cancel_scope.cancel()
    return result[0]


async def _until_signal(serve: Callable[[anyio.Event], Awaitable[T]]) -> T:
    """``serve(stop)`` with ``stop`` set on SIGTERM or SIGINT."""
    stop = anyio.Event()

    async def watch() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                stop.set()
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        result = await serve(stop)
        tg.cancel_scope.cancel()
    return result


async def _serve_sampler(config: PipelineConfig) -> None:
    stats = await _until_signal(lambda stop: serve_sampler(config, stop=stop))
    console.print(
        f"sampler: produced={stats.produced} skipped={stats.skipped} verified={stats.verified}"
    )


def _multi_turn_only(stage: str) -> bool:
    """Whether ``stage`` names a stage only the multi-turn pipeline has (the funnel is
    both pipelines')."""
    return stage == "blueprint-sampler" or (
        stage in MULTI_TURN_STAGE_NAMES and stage not in STAGE_NAMES
    )


async def _serve_blueprint_sampler(config: PipelineConfig) -> None:
    stats = await _until_signal(lambda stop: serve_blueprint_sampler(config, stop=stop))
    console.print(f"blueprint-sampler: produced={stats.produced} skipped={stats.skipped}")


async def _serve(name: str, config: PipelineConfig, group: str | None) -> None:
    transport = open_transport(config)
    multi_turn = config.multi_turn.enabled and name in MULTI_TURN_STAGE_NAMES
    async with AsyncExitStack() as stack:
        stack.push_async_callback(transport.aclose)
        # Every service creates the topics (existing ones are left as they are), so replicas
        # can start in any order: a stage started before the sampler used to exit with
        # TopicNotFound.
        await transport.create_topics(
            list(MULTI_TURN if multi_turn else PIPELINE), config.partitions
        )
        if multi_turn:
            stage = await build_multi_turn_stage(name, config, stack)
        else:
            stage = await build_stage(name, config, stack)
        runner = StageRunner(stage, transport, group=group, handle_signals=True)
        await runner.run()
