"""``apigen check FILE...`` (verify an existing dataset) and ``apigen export RUN_DIR``.

``check`` writes one JSON line per record (per tool-calling turn of a conversation) to
stdout (``id``, ``verdict``, ``stage``, ``reason``, ``message``, ``where``, ``stages``,
``not_run`` where execution was asked for but the calls could not run, ``observed`` where
executed results were compared with the outputs the record shows, ``executed``: ``real`` or,
with ``--virtual-apis``, ``virtual`` where a virtual API answered a call), then a
summary by stage and reason: a rich table on stderr, or with ``--summary-json`` a final
``{"summary": {...}}`` line on stdout. A record that cannot be read (bad encoding, not
JSON, malformed tools or schema, beyond a limit) is that record's ``fail`` and the check
goes on. A judge endpoint that is unavailable (5xx, timeouts, connection errors, 429s beyond
the client's retries) makes its records ``not_judged`` (counted apart, never failed); one
that refuses the credentials stops the check at once with a message naming the endpoint.
Without a judge, a record the semantic rules cannot decide (argument values the query does
not state, nothing in the query against the calls) is ``unverified``: counted apart, never
passed or failed; give a judge to decide it.

Multi-turn conversations: besides one line per tool-calling turn, a conversation that names
a built-in environment (``domain`` and ``env_seed`` fields), or every conversation with
``--environment DOMAIN[:SEED]``, gets one ``<id>#trajectory`` line (stage ``trajectory``):
its calls replayed in order on the environment reset to the seed, each result compared with
the recorded output (reasons :data:`~streamer.check.TRAJECTORY_REASONS`); the summary counts
them under ``trajectories``. Without a seed the conversation is checked for format only
(a ``no_seed`` skip). ``--stages`` without ``execution`` turns replay off.

Exit status (:data:`EXIT_STATUS`): 0 when every record was checked and none failed, 1 when
some failed (or, with ``--strict``, were skipped, not judged or unverified), 2 on usage
errors (unknown options, unreadable files, a file whose format cannot be told, BFCL
questions without their answers), 3 when the judge endpoint refused the credentials
(401/403, or its key variable unset: the check stopped), 4 when none failed but some could
not be judged (the endpoint was unavailable: run the check again later).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import anyio
import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from executors import ApiLibrary, SpecError, default_redactor

from ..check import (
    CHECK_STAGES,
    ENVIRONMENTS,
    FORMAT_NAMES,
    TRAJECTORY_REASONS,
    CheckResult,
    CheckSettings,
    CheckSummary,
    DatasetFormatError,
    EnvironmentChoice,
    ReadLimits,
    ReadSettings,
    RecordFormat,
    ReplaySettings,
    open_checker,
    parse_environment,
    read_items,
    run_check,
)
from ..dataset._export import FORMATS, export_dataset
from ..dataset._hub import HubPushError, hub_files, push_to_hub, valid_repo_id
from ..dataset._store import DatasetStore
from ..decontamination import ContaminationIndex
from ..llm import LlmError
from ..pipeline._config import check_allow_hosts
from ..pipeline._decontamination import DecontaminationConfig, contamination_index
from ..pipeline._model_config import ConfigError, ModelConfig
from ..pipeline._virtual_config import VirtualApisConfig
from ..runtime._stage import StageHalted
from ..stages import FormatRules

__all__ = ["EXIT_STATUS", "register"]

HF_TOKEN_ENV = "HF_TOKEN"
"""The variable ``apigen export --push-to-hub`` reads the Hub token from."""

EXIT_STATUS = {
    0: "every record checked, none failed",
    1: "some records failed (with --strict: or were skipped, not judged or unverified)",
    2: "usage error: options, files, formats",
    3: "the judge endpoint refused the credentials: the check stopped",
    4: "none failed, but the judge endpoint was unavailable for some records (not judged)",
}
"""``apigen check``'s exit statuses and what each means."""

console = Console(stderr=True)
_LIMITS = ReadLimits()


def _contamination_index(paths: list[Path]) -> ContaminationIndex | None:
    """The index over ``--decontaminate`` sets (None without any), as ``apigen run`` builds
    it; exit 2 naming a set that cannot be read or holds nothing usable."""
    try:
        return contamination_index(DecontaminationConfig(references=tuple(paths)))
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def _stages(text: str, judged: bool) -> tuple[str, ...]:
    stages = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in stages if s not in CHECK_STAGES]
    if unknown:
        raise typer.BadParameter(
            f"unknown stage(s) {unknown}; choose from {', '.join(CHECK_STAGES)}",
            param_hint="--stages",
        )
    if "format" not in stages:
        raise typer.BadParameter(
            "format always runs (later stages need its parsed calls), e.g. format,semantic",
            param_hint="--stages",
        )
    if judged and "semantic" not in stages:
        stages += ("semantic",)
    return tuple(s for s in CHECK_STAGES if s in stages)


def _judge(
    endpoint: str | None,
    model: str | None,
    key_env: str | None,
    simulated: bool,
    role: str = "judge",
) -> ModelConfig | None:
    if simulated and endpoint:
        raise typer.BadParameter(f"choose --{role}-endpoint or --{role}-simulated, not both")
    if simulated:
        return ModelConfig(kind="simulated", seed=1)
    if endpoint:
        if not model:
            raise typer.BadParameter(f"--{role}-endpoint needs --{role}-model")
        return ModelConfig(
            kind="openai", base_url=endpoint, model=model, name=model, api_key_env=key_env or ""
        )
    return None


def _summary_table(summary: CheckSummary) -> Table:
    table = Table(title=f"apigen check: {summary.records:,} records", expand=False)
    for column in ("verdict", "stage", "reason", "records"):
        table.add_column(column, justify="right" if column == "records" else "left")
    table.add_row("[green]pass", "", "", f"{summary.verdicts['pass']:,}")
    for verdict, stage, reason, count in summary.rows():
        colour = {"fail": "red", "not_judged": "magenta", "unverified": "cyan"}.get(
            verdict, "yellow"
        )
        table.add_row(f"[{colour}]{verdict}", stage or "-", reason or "-", f"{count:,}")
    for cause, count in sorted(summary.not_run.items()):
        table.add_row("[dim]calls not run", "execution", cause, f"{count:,}")
    for agreement, count in sorted(summary.observed.items()):
        table.add_row("[dim]recorded outputs", "execution", agreement, f"{count:,}")
    for executed, count in sorted(summary.executed.items()):
        table.add_row("[dim]calls run", "execution", executed, f"{count:,}")
    for verdict, count in sorted(summary.trajectories.items()):
        table.add_row("[dim]trajectories", "trajectory", verdict, f"{count:,}")
    return table


_ENVIRONMENT_HELP = (
    f"Replay every conversation's calls on this built-in environment ({', '.join(ENVIRONMENTS)})"
    ", reset to SEED (default: each record's env_seed; records that carry domain and env_seed "
    "are replayed without this option); one <id>#trajectory verdict per conversation, stage "
    "trajectory, reasons: " + ", ".join(TRAJECTORY_REASONS) + ". Needs the execution stage."
)


def _environment(text: str | None) -> EnvironmentChoice | None:
    if text is None:
        return None
    try:
        return parse_environment(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--environment") from None


def _virtual_apis(on: bool, simulator: ModelConfig | None, cache: Path | None) -> VirtualApisConfig:
    if not on and (simulator is not None or cache is not None):
        raise typer.BadParameter("the --virtual-* options need --virtual-apis")
    return VirtualApisConfig(enabled=on, simulator=simulator, cache=cache)


def register(app: typer.Typer) -> None:
    """Add ``check`` and ``export``."""

    @app.command()
    def check(
        files: Annotated[list[Path], typer.Argument(help="Dataset file(s) to check.")],
        fmt: Annotated[
            str | None,
            typer.Option("--format", help=f"Force the format: {', '.join(FORMAT_NAMES)}."),
        ] = None,
        allow_no_call: Annotated[
            bool,
            typer.Option(
                help="An answer with no call means no call is wanted (irrelevance) in every "
                "record; without it a record must say so itself."
            ),
        ] = False,
        max_record_bytes: Annotated[
            int, typer.Option(min=1, help="Largest record (JSON line or list element), bytes.")
        ] = _LIMITS.max_record_bytes,
        max_depth: Annotated[
            int, typer.Option(min=1, help="Deepest nesting of objects/arrays in a record.")
        ] = _LIMITS.max_depth,
        max_tools: Annotated[
            int, typer.Option(min=1, help="Most tools one record may offer.")
        ] = _LIMITS.max_tools,
        max_calls: Annotated[
            int, typer.Option(min=1, help="Most calls one answer (assistant turn) may make.")
        ] = _LIMITS.max_calls,
        max_conversation_calls: Annotated[
            int,
            typer.Option(
                min=1,
                help="Most calls one conversation may make over all its turns (beyond: the "
                "record is one limit_exceeded fail).",
            ),
        ] = _LIMITS.max_conversation_calls,
        environment: Annotated[
            str | None,
            typer.Option(metavar="DOMAIN[:SEED]", help=_ENVIRONMENT_HELP),
        ] = None,
        answers: Annotated[
            Path | None, typer.Option(help="BFCL possible_answer file (default: found beside).")
        ] = None,
        stages: Annotated[
            str, typer.Option(help=f"Comma-separated stages among {', '.join(CHECK_STAGES)}.")
        ] = "format,execution",
        require_execution: Annotated[
            bool, typer.Option(help="Skip (not_executable) records whose calls cannot run.")
        ] = False,
        apis: Annotated[
            list[Path],
            typer.Option("--apis", help="API library source file(s) (default: built-in)."),
        ] = [],  # noqa: B006
        judge_endpoint: Annotated[
            str | None, typer.Option(help="OpenAI-compatible base URL of the judge.")
        ] = None,
        judge_model: Annotated[str | None, typer.Option(help="Judge model name.")] = None,
        judge_api_key_env: Annotated[
            str | None, typer.Option(help="Environment variable holding the judge's API key.")
        ] = None,
        judge_simulated: Annotated[
            bool, typer.Option(help="Use the SIMULATED judge endpoint.")
        ] = False,
        summary_json: Annotated[
            bool, typer.Option(help="Print the summary as a final JSON line on stdout.")
        ] = False,
        strict: Annotated[
            bool, typer.Option(help="Exit 1 when records were skipped, not judged or unverified.")
        ] = False,
        concurrency: Annotated[int, typer.Option(min=1, help="Records checked at once.")] = 32,
        workers: Annotated[int, typer.Option(min=1, help="Python executor processes.")] = 2,
        timeout: Annotated[float, typer.Option(help="Seconds one call may run.")] = 10.0,
        allow_host: Annotated[
            list[str],
            typer.Option(
                "--allow-host",
                help="HOST or HOST:PORT REST calls may reach at a loopback/private address "
                "(repeatable).",
            ),
        ] = [],  # noqa: B006
        virtual_apis: Annotated[
            bool,
            typer.Option(
                help="Run calls of tools that bind to no library function on virtual APIs: "
                "a simulator model answers from the tool's documentation (marked virtual)."
            ),
        ] = False,
        virtual_endpoint: Annotated[
            str | None, typer.Option(help="OpenAI-compatible base URL of the simulator.")
        ] = None,
        virtual_model: Annotated[str | None, typer.Option(help="Simulator model name.")] = None,
        virtual_api_key_env: Annotated[
            str | None, typer.Option(help="Environment variable holding its API key.")
        ] = None,
        virtual_simulated: Annotated[
            bool, typer.Option(help="Use the SIMULATED endpoint as the simulator.")
        ] = False,
        virtual_cache: Annotated[
            Path | None, typer.Option(help="SQLite answer store (default: in memory).")
        ] = None,
        decontaminate: Annotated[
            list[Path],
            typer.Option(
                "--decontaminate",
                help="A benchmark reference set (BFCL folder, xLAM/OpenAI/ShareGPT dataset, "
                "query list; repeatable): a record repeating one of its items fails as "
                "contaminated.",
            ),
        ] = [],  # noqa: B006
    ) -> None:
        """Verify an existing dataset (xLAM rows, OpenAI chat, ShareGPT/glaive or Hermes
        conversations, BFCL files) through the format, execution and optionally semantic
        stages.

        A judge option (--judge-endpoint/--judge-simulated) implies the semantic stage.
        The simulator of --virtual-apis defaults to the judge, else the local model.
        A multi-turn conversation that names its environment (domain and env_seed fields,
        as `apigen run --multi-turn` exports write them), or every one with --environment,
        is also replayed as one trajectory: verdict <id>#trajectory (see docs/checks.md).
        """
        if fmt is not None and fmt not in FORMAT_NAMES:
            raise typer.BadParameter(
                f"{fmt!r}: choose from {', '.join(FORMAT_NAMES)}", param_hint="--format"
            )
        judge = _judge(judge_endpoint, judge_model, judge_api_key_env, judge_simulated)
        simulator = _judge(
            virtual_endpoint, virtual_model, virtual_api_key_env, virtual_simulated, "virtual"
        )
        virtual = _virtual_apis(virtual_apis, simulator, virtual_cache)
        limits = ReadLimits(
            max_record_bytes=max_record_bytes,
            max_depth=max_depth,
            max_tools=max_tools,
            max_calls=max_calls,
            max_conversation_calls=max_conversation_calls,
        )
        chosen_stages = _stages(stages, judge is not None)
        choice = _environment(environment)
        if choice is not None and "execution" not in chosen_stages:
            raise typer.BadParameter(
                "replaying on an environment is execution: add it to --stages",
                param_hint="--environment",
            )
        replay = ReplaySettings(enabled="execution" in chosen_stages, environment=choice)
        settings = CheckSettings(
            stages=chosen_stages,
            require_execution=require_execution,
            reading=ReadSettings(limits=limits, allow_no_call=allow_no_call, replay=replay),
            format_rules=FormatRules(max_query_chars=32768, max_calls=max_calls),
            judge=judge,
            concurrency=concurrency,
            python_workers=workers,
            exec_timeout_s=timeout,
            allow_hosts=_allowed_hosts(allow_host),
            virtual_apis=virtual,
            decontaminate=_contamination_index(decontaminate),
        )
        try:
            library = ApiLibrary.from_sources(apis) if apis else None
            items = read_items(
                files, fmt=_record_format(fmt), answers=answers, settings=settings.reading
            )
        except (DatasetFormatError, SpecError) as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        out = sys.stdout

        def emit(result: CheckResult) -> None:
            out.write(orjson.dumps(result.to_json()).decode() + "\n")

        async def main() -> CheckSummary:
            async with open_checker(settings, library) as checker:
                return await run_check(checker, items, emit)

        try:
            summary = anyio.run(main)
        except (DatasetFormatError, ConfigError) as exc:  # ConfigError: a model not installed
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except LlmError as exc:  # opening the judge: its key variable is not set
            if not exc.fatal:
                raise
            _refused(f"judge endpoint {exc.endpoint}: {exc.message}")
        except BaseExceptionGroup as group:
            halted, _ = group.split(StageHalted)
            if halted is None:
                raise
            leaf: BaseException = halted
            while isinstance(leaf, BaseExceptionGroup):  # task groups nest
                leaf = leaf.exceptions[0]
            assert isinstance(leaf, StageHalted)
            _refused(leaf.message)
        if summary_json:
            out.write(orjson.dumps({"summary": summary.to_json()}).decode() + "\n")
        else:
            console.print(_summary_table(summary))
        out.flush()
        unsure = sum(summary.verdicts[v] for v in ("skip", "not_judged", "unverified"))
        if summary.verdicts["unverified"]:
            console.print(
                f"[cyan]{summary.verdicts['unverified']:,} records unverified[/cyan]: the rules"
                " cannot ground some argument values and the query states nothing against"
                " them; check them with a judge (--judge-endpoint) to decide"
            )
        if summary.verdicts["fail"] or (strict and unsure):
            raise typer.Exit(1)
        if summary.verdicts["not_judged"]:
            console.print(
                f"[magenta]{summary.verdicts['not_judged']:,} records not judged[/magenta]: "
                "the judge endpoint was unavailable; check them again later"
            )
            raise typer.Exit(4)

    @app.command()
    def export(
        run_dir: Annotated[
            Path | None,
            typer.Argument(help="An `apigen run --out` directory (holds dataset.db)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="Output directory (default: the run directory).")
        ] = None,
        formats: Annotated[
            list[str],
            typer.Option(
                "--format", help=f"Format to write (repeatable): {', '.join(FORMATS)}, card."
            ),
        ] = [],  # noqa: B006
        version: Annotated[
            str | None,
            typer.Option(
                help="Materialize this version's dataset from the log instead "
                "('live' or an `apigen replay` version); needs --out."
            ),
        ] = None,
        config_file: Annotated[
            Path | None, typer.Option("--config", help="Pipeline config (with --version).")
        ] = None,
        kafka: Annotated[
            str | None, typer.Option(help="Kafka bootstrap servers (with --version).")
        ] = None,
        log: Annotated[
            Path | None, typer.Option(help="Embedded log file (with --version).")
        ] = None,
        push_to_hub: Annotated[
            str | None,
            typer.Option(
                "--push-to-hub",
                metavar="REPO",
                help="Then upload the card and exports to this Hugging Face dataset "
                "repository (name or namespace/name; created if missing) with the token in "
                f"${HF_TOKEN_ENV}; needs the `hub` extra.",
            ),
        ] = None,
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run", help="With --push-to-hub: list what would be uploaded, upload nothing."
            ),
        ] = False,
        private: Annotated[
            bool, typer.Option(help="With --push-to-hub: create the repository private.")
        ] = False,
    ) -> None:
        """Re-export a run's dataset store to xLAM, OpenAI chat, ShareGPT/Hermes, Parquet and
        the dataset card (all of them by default), or with ``--version`` materialize one
        version's verified pairs from the retained topics; ``--push-to-hub`` then uploads
        them to the Hugging Face Hub."""
        token = _hub_token(push_to_hub, dry_run)
        if version is not None:
            if out is None or run_dir is not None:
                console.print("[red]error:[/red] --version takes --out and no RUN_DIR")
                raise typer.Exit(2)
            from ._replay import export_version

            for kind, path in export_version(version, out, config_file, kafka, log).items():
                typer.echo(f"{kind}\t{path}")
            _push(out, push_to_hub, token, private)
            return
        if run_dir is None:
            console.print("[red]error:[/red] give RUN_DIR (an `apigen run --out` dir) or --version")
            raise typer.Exit(2)
        chosen = formats or [*FORMATS, "card"]
        unknown = sorted(set(chosen) - {*FORMATS, "card"})
        if unknown:
            raise typer.BadParameter(
                f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}, card",
                param_hint="--format",
            )
        db = run_dir / "dataset.db"
        if not db.is_file():
            where = escape(str(db))
            console.print(f"[red]error:[/red] {where}: no dataset store (an apigen run --out dir)")
            raise typer.Exit(2)
        store = DatasetStore(db)
        try:
            written = export_dataset(
                store,
                out or run_dir,
                [f for f in FORMATS if f in chosen],
                card="card" in chosen,
            )
            records = store.count()
        finally:
            store.close()
        for kind, path in written.items():
            typer.echo(f"{kind}\t{path}")
        console.print(f"exported {records} records")
        _push(out or run_dir, push_to_hub, token, private)


def _hub_token(repo: str | None, dry_run: bool) -> str | None:
    """The token ``--push-to-hub`` uploads with (None for a dry run); exits 2 on a usage
    error and 3 when the token variable is not set. The token is never printed."""
    if repo is None:
        if dry_run:
            console.print("[red]error:[/red] --dry-run goes with --push-to-hub REPO")
            raise typer.Exit(2)
        return None
    if not valid_repo_id(repo):
        console.print(
            f"[red]error:[/red] --push-to-hub {escape(repr(repo))}: not a Hub repository id "
            "(name or namespace/name)"
        )
        raise typer.Exit(2)
    if dry_run:
        return None
    # Registered with the process's redactor, so no log line or error can carry it.
    token = default_redactor().add_env(HF_TOKEN_ENV).strip()
    if not token:
        console.print(
            f"[red]error:[/red] --push-to-hub needs a Hugging Face token in ${HF_TOKEN_ENV}"
        )
        raise typer.Exit(3)
    return token


def _push(out: Path, repo: str | None, token: str | None, private: bool) -> None:
    """Upload ``out`` to ``repo`` with ``token``, or with no token list what would go."""
    if repo is None:
        return
    files = hub_files(out)
    if token is None:
        for file in files:
            typer.echo(f"upload\t{file.name}\t{file.stat().st_size}")
        total = sum(f.stat().st_size for f in files)
        console.print(f"dry run: {len(files)} files, {total} bytes, would go to {escape(repo)}")
        return
    try:
        url = push_to_hub(out, repo, token, private=private)
    except HubPushError as exc:
        console.print(f"[red]error:[/red] push to {escape(repo)}: {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"pushed {len(files)} files to {escape(repo)}: {escape(url)}")


def _refused(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {escape(message)}")
    console.print("the check stopped: fix the credentials (the key variable) and run it again")
    raise typer.Exit(3)


def _record_format(fmt: str | None) -> RecordFormat | None:
    for name in FORMAT_NAMES:
        if name == fmt:
            return name
    return None


def _allowed_hosts(given: list[str]) -> tuple[str, ...]:
    try:
        return check_allow_hosts(given, "--allow-host")
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--allow-host") from None
