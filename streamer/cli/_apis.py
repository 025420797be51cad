"""`apigen apis`: list, show, convert and curate API catalogues.

``list`` and ``show`` read the built-in library unless ``--source`` names catalogue files
(any kind :func:`executors.ApiLibrary.from_sources` detects); ``convert`` turns one
catalogue into our spec JSON Lines, OpenAI ``tools`` or xLAM tool lists.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from executors import ApiLibrary, ApiSpec, SpecError
from executors._library import load_source
from executors._network import url_host

__all__ = ["register"]

apis = typer.Typer(help="Inspect and convert API catalogues.", no_args_is_help=True)


class FromFormat(StrEnum):
    openapi = "openapi"
    toolbench = "toolbench"
    bfcl = "bfcl"
    xlam = "xlam"
    openai = "openai"
    glaive = "glaive"
    mcp = "mcp"


class ToFormat(StrEnum):
    spec = "spec"
    openai = "openai"
    xlam = "xlam"


SourceOption = Annotated[
    list[Path] | None,
    typer.Option("--source", "-s", help="Catalogue file(s); default: the built-in library."),
]


def _library(sources: list[Path] | None) -> ApiLibrary:
    try:
        return ApiLibrary.from_sources(sources) if sources else ApiLibrary.builtin()
    except (SpecError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _summary(spec: ApiSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": spec.name,
        "category": spec.category,
        "binding": spec.binding.kind if spec.binding is not None else "none",
        "source": spec.source,
        "description": spec.description,
        "required": list(spec.required),
    }


@apis.command("list")
def list_apis(
    source: SourceOption = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one API a line.")] = False,
) -> None:
    """List APIs: id, name, category, binding kind and description."""
    library = _library(source)
    if category is not None:
        library = library.filter(category=category)
    if as_json:
        for spec in library:
            typer.echo(json.dumps(_summary(spec), ensure_ascii=False))
        return
    table = Table(title=f"{len(library)} APIs in {len(library.categories())} categories")
    for column in ("name", "category", "binding", "id", "description"):
        table.add_column(column, overflow="fold")
    for spec in library:
        first_line = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
        kind = spec.binding.kind if spec.binding is not None else "none"
        table.add_row(spec.name, spec.category, kind, spec.id, first_line[:80])
    Console().print(table)


@apis.command("show")
def show_api(
    name: Annotated[str, typer.Argument(help="API name or id (source:name).")],
    source: SourceOption = None,
) -> None:
    """Print one API's spec as JSON."""
    library = _library(source)
    try:
        spec = library.get(name)
    except KeyError as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(spec.to_dict(), indent=2, ensure_ascii=False))


@apis.command("convert")
def convert(
    source: Annotated[Path, typer.Argument(help="The catalogue file to convert.")],
    from_: Annotated[FromFormat, typer.Option("--from", help="The catalogue's format.")],
    to: Annotated[ToFormat, typer.Option("--to", help="Output format.")] = ToFormat.spec,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    mcp_server: Annotated[
        str | None, typer.Option(help="Server name for MCP bindings (default: file stem).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="(openapi) Server URL for a document without one, or with relative ones "
            "(e.g. the local REST service's /openapi.json: http://127.0.0.1:8000)."
        ),
    ] = None,
) -> None:
    """Convert a catalogue; items that fail are reported on stderr and skipped.

    ``--to spec`` writes JSON Lines of specs (loadable with ``ApiLibrary.load``);
    ``openai`` and ``xlam`` write one JSON list of tools.
    """
    if base_url is not None and url_host(base_url) is None:
        raise typer.BadParameter(
            f"{base_url!r} is not an absolute http(s) URL", param_hint="--base-url"
        )
    if base_url is not None and from_ is not FromFormat.openapi:
        raise typer.BadParameter("only OpenAPI documents take a base URL", param_hint="--base-url")
    try:
        specs, errors = load_source(
            source, kind=from_.value, mcp_server=mcp_server, base_url=base_url
        )
    except SpecError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for error in errors:
        typer.echo(f"skipped: {error}", err=True)
    if errors and not specs and all(e.problem.startswith("no server URL") for e in errors):
        typer.echo("hint: the document names no server; give one with --base-url URL", err=True)
    if to is ToFormat.spec:
        text = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in specs)
    else:
        tools = [s.to_openai_tool() if to is ToFormat.openai else s.to_xlam_tool() for s in specs]
        text = json.dumps(tools, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    typer.echo(f"converted {len(specs)} APIs, {len(errors)} errors", err=True)


@apis.command("curate")
def curate_command(
    sources: Annotated[
        list[str],
        typer.Argument(help="Catalogue files, python:MODULE, builtin, or an OpenAPI URL."),
    ],
    out: Annotated[Path, typer.Option(help="Curated library (JSON Lines); reports beside.")],
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy TOML (default: 21).")] = None,
    examples: Annotated[
        Path | None, typer.Option(help="JSON/YAML: API id or name -> example arguments.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Base URL for OpenAPI files without a server URL.")
    ] = None,
    keep_no_params: Annotated[bool, typer.Option(help="Keep APIs without parameters.")] = False,
    keep_untested: Annotated[
        bool, typer.Option(help="Keep APIs without example arguments, untested.")
    ] = False,
    access_test: Annotated[bool, typer.Option(help="Call each API once.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds per test call.")] = 10.0,
    rate: Annotated[float, typer.Option(help="Test requests per second per host.")] = 5.0,
    cache: Annotated[Path | None, typer.Option(help="SQLite result cache file.")] = None,
    simulate: Annotated[
        bool, typer.Option(help="Regenerate docs with the SIMULATED LLM endpoint.")
    ] = False,
    endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint to regenerate docs with.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name at --endpoint.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the endpoint's key.")
    ] = None,
    local_model: Annotated[
        bool, typer.Option(help="Regenerate docs with the embedded local model.")
    ] = False,
    allow_host: Annotated[
        list[str],
        typer.Option(
            "--allow-host",
            help="HOST or HOST:PORT the access test may reach at a loopback/private address "
            "(repeatable; the hosts of URL sources and --base-url are allowed anyway).",
        ),
    ] = [],  # noqa: B006
) -> None:
    """Curate APIs as APIGen did: quality rules, dedup, one test call each, regenerated
    docs (with an LLM option), categories mapped to a taxonomy; writes a report."""
    import anyio

    from executors.curation import (
        AccessSettings,
        CurationError,
        CurationSettings,
        RuleSettings,
        load_examples,
    )

    from ..curation._curate import curate_apis, write_outputs
    from ..pipeline._model_config import ModelConfig

    llm: ModelConfig | None = None
    if simulate:
        llm = ModelConfig(kind="simulated")
    elif endpoint:
        llm = ModelConfig(
            kind="openai", base_url=endpoint, model=model or "", api_key_env=api_key_env or ""
        )
    elif local_model:
        llm = ModelConfig(kind="local")
    settings = CurationSettings(
        rules=RuleSettings(keep_no_parameters=keep_no_params),
        access=AccessSettings(
            timeout_s=timeout,
            rate_per_host=rate,
            keep_untested=keep_untested,
            cache_path=str(cache) if cache else None,
            allow_hosts=tuple(allow_host),
        ),
        test_access=access_test,
        taxonomy_path=str(taxonomy) if taxonomy else None,
    )
    try:
        calls = load_examples(examples) if examples else None
        result = anyio.run(
            lambda: curate_apis(sources, settings, model=llm, examples=calls, base_url=base_url)
        )
    except (CurationError, SpecError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    json_path, md_path = write_outputs(result, out)
    report = result.report
    typer.echo(
        f"kept {len(report.kept)} of {report.total_in} APIs in "
        f"{len(report.categories_after())} categories -> {out}; report: {md_path}, {json_path}",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    app.add_typer(apis, name="apis")
