"""``apigen replay`` (a changed checker over retained events), ``apigen diff`` (what changed
between two versions) and ``apigen export --version`` (a version's dataset)."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated

import anyio
import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..pipeline._build import open_transport
from ..pipeline._config import PipelineConfig, load_config
from ..pipeline._model_config import ConfigError
from ..pipeline._runs import recorded_run
from ..replay._diff import DiffReport, diff_versions, resolve_version
from ..replay._replay import (
    MULTI_TURN_REPLAYABLE,
    REPLAYABLE,
    Bound,
    ReplayError,
    ReplayResult,
    Window,
    build_replay_stages,
    materialize,
    replay,
)
from ..runtime._metrics import serve_metrics
from ..runtime._runner import RunnerSettings

__all__ = ["export_version", "register"]

console = Console(stderr=True)


def _load(config_file: Path | None, kafka: str | None, log: Path | None) -> PipelineConfig:
    try:
        config = load_config(config_file) if config_file else PipelineConfig()
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    if log is not None and config.out == PipelineConfig().out:
        # the run's own directory: where its result cache and dataset live beside the log
        config = config.with_overrides(out=log.parent)
    return config.with_overrides(kafka=kafka, log_path=log)


def _fail(exc: ReplayError | ConfigError) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``replay`` and ``diff``."""

    @app.command("replay")
    def replay_command(
        stage: Annotated[
            str,
            typer.Option(
                help=f"Stage to replay: {', '.join(REPLAYABLE)}; multi-turn: "
                f"{', '.join(MULTI_TURN_REPLAYABLE)} ([multi_turn] in --config)."
            ),
        ],
        version: Annotated[str, typer.Option(help="Name of the new version (e.g. strict-v2).")],
        config_file: Annotated[
            Path | None,
            typer.Option("--config", help="TOML config holding the changed rules or judges."),
        ] = None,
        start: Annotated[
            str, typer.Option("--from", help="earliest, an offset, or an ISO 8601 timestamp.")
        ] = "earliest",
        until: Annotated[
            str, typer.Option(help="end, an offset (exclusive) or an ISO 8601 timestamp.")
        ] = "end",
        downstream: Annotated[
            bool, typer.Option(help="Continue through the later checkers.")
        ] = False,
        cache: Annotated[
            bool, typer.Option("--cache/--no-cache", help="Execution: use the result cache.")
        ] = True,
        out: Annotated[
            Path | None,
            typer.Option(help="With --downstream: write the version's dataset here."),
        ] = None,
        kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
        log: Annotated[Path | None, typer.Option(help="Embedded log file.")] = None,
        run: Annotated[
            str | None,
            typer.Option(
                help="Replay this run's events only (default: the run recorded in the "
                "config's out directory, else every run's)."
            ),
        ] = None,
        metrics_port: Annotated[
            int,
            typer.Option(
                help="Serve Prometheus /metrics on this port while replaying (0: off; not "
                "the config's metrics.port, which the live stages hold)."
            ),
        ] = 0,
        metrics_host: Annotated[
            str, typer.Option(help="Interface for /metrics (0.0.0.0 in containers).")
        ] = "127.0.0.1",
    ) -> None:
        """Run a changed checker over the retained input, beside the live pipeline."""
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        config = _load(config_file, kafka, log)
        try:
            chosen = run if run is not None else (recorded_run(config.out) or "")
            config = config.with_overrides(run_id=chosen)
            console.print(
                f"replaying the events of run {chosen}"
                if chosen
                else "replaying the events of every run (none recorded; --run ID picks one)"
            )

            window = Window(Bound.parse(start), Bound.parse(until, option="--until"))
            with serve_metrics(metrics_port, host=metrics_host):
                result = anyio.run(_replay, config, stage, version, window, downstream, cache, out)
        except (ReplayError, ConfigError) as exc:
            raise _fail(exc) from None
        table = Table(title=f"replay {result.version}")
        for column in ("stage", "version", "input", "consumed", "produced", "rejected"):
            table.add_column(column, justify="right" if column[0] in "cpr" else "left")
        for s in result.stages:
            table.add_row(
                s.stage,
                s.stage_version,
                s.input_topic,
                f"{s.consumed:,}",
                f"{s.produced:,}",
                f"{s.rejected:,}",
            )
        Console().print(table)
        for s in result.stages:
            for gap in s.expired:
                console.print(f"[yellow]warning:[/yellow] {escape(gap.message())}")
        print(result.version)

    @app.command("diff")
    def diff_command(
        version_a: Annotated[str, typer.Argument(help="'live' or a replay version.")],
        version_b: Annotated[str, typer.Argument(help="'live' or a replay version.")],
        examples: Annotated[int, typer.Option(help="Examples shown per kind of flip.")] = 3,
        json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
        config_file: Annotated[Path | None, typer.Option("--config")] = None,
        kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
        log: Annotated[Path | None, typer.Option(help="Embedded log file.")] = None,
    ) -> None:
        """Per stage: pairs that flip pass->fail and fail->pass, by reason, with examples."""
        config = _load(config_file, kafka, log)
        try:
            report = anyio.run(_diff, config, version_a, version_b, examples)
        except ReplayError as exc:
            raise _fail(exc) from None
        if json:
            print(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
        else:
            _print_report(report)


def export_version(
    version: str,
    out: Path,
    config_file: Path | None = None,
    kafka: str | None = None,
    log: Path | None = None,
) -> dict[str, Path]:
    """Materialize the dataset of one version (``live`` or a replay version) into ``out``;
    used by ``apigen export --version``."""
    config = _load(config_file, kafka, log)
    try:
        return anyio.run(_export, config, version, out)
    except ReplayError as exc:
        raise _fail(exc) from None


async def _replay(
    config: PipelineConfig,
    stage: str,
    version: str,
    window: Window,
    downstream: bool,
    cache: bool,
    out: Path | None,
) -> ReplayResult:
    transport = open_transport(config)
    settings = RunnerSettings(concurrency=config.concurrency, commit_interval_s=0.2)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(transport.aclose)
        stages = await build_replay_stages(
            config, stack, stage, version, downstream=downstream, use_cache=cache
        )
        result = await replay(transport, stages, window=window, settings=settings)
        if out is not None and downstream:
            await materialize(transport, result.version, out, settings=settings)
        return result


async def _diff(config: PipelineConfig, a: str, b: str, examples: int) -> DiffReport:
    transport = open_transport(config)
    try:
        return await diff_versions(transport, a, b, examples_per_kind=examples)
    finally:
        await transport.aclose()


async def _export(config: PipelineConfig, version: str, out: Path) -> dict[str, Path]:
    transport = open_transport(config)
    try:
        resolved = await resolve_version(transport, version)
        return await materialize(transport, resolved, out)
    finally:
        await transport.aclose()


def _print_report(report: DiffReport) -> None:
    out = Console()
    if not report.stages:
        out.print(f"{report.a} and {report.b} share no replayed stage: nothing to compare")
    for s in report.stages:
        table = Table(title=f"{s.stage}: {report.a} -> {report.b}")
        table.add_column("change")
        table.add_column("reason")
        table.add_column("pairs", justify="right")
        for reason, n in sorted(s.pass_to_fail.items()):
            table.add_row("[red]pass -> fail", reason, f"{n:,}")
        for reason, n in sorted(s.fail_to_pass.items()):
            table.add_row("[green]fail -> pass", reason, f"{n:,}")
        for change, n in sorted(s.reason_changed.items()):
            table.add_row("reason changed", change, f"{n:,}")
        table.add_row("unchanged", "pass", f"{s.unchanged_pass:,}")
        table.add_row("unchanged", "fail", f"{s.unchanged_fail:,}")
        if s.only_a or s.only_b:
            table.add_row("only in", report.a, f"{s.only_a:,}")
            table.add_row("only in", report.b, f"{s.only_b:,}")
        out.print(table)
        for f in s.examples:
            out.print(
                f"  {f.before} -> {f.after}  {f.sample_id}#{f.pair_index}: "
                f"{f.query[:80]!r} {f.message[:120]}",
                markup=False,
            )
