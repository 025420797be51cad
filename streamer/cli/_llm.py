"""`apigen` subcommands: llm (the simulated endpoint)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _load_config_file(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix == ".toml":
        data: Any = tomllib.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path}: expected a mapping of settings", param_hint="--config")
    return data


def _parse_corrupt(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        kind, sep, rate = item.partition("=")
        try:
            out[kind.strip()] = float(rate)
        except ValueError:
            sep = ""
        if not sep:
            raise typer.BadParameter(f"expected KIND=RATE, got {item!r}", param_hint="--corrupt")
    return out


def simulate_llm(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8900,
    config: Annotated[
        Path | None,
        typer.Option(help="JSON, TOML or YAML file of SimulatorConfig fields; options override."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed: same requests, same answers.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (must start with 'simulated-').")
    ] = None,
    latency_ms: Annotated[
        str | None,
        typer.Option(help="Latency: MS, fixed:MS, uniform:MIN:MAX or lognormal:MEDIAN:SIGMA."),
    ] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="Requests served at once; more queue (0: no bound).")
    ] = None,
    error_rate_429: Annotated[float | None, typer.Option(help="Share answered 429.")] = None,
    retry_after_s: Annotated[float | None, typer.Option(help="Retry-After sent with 429s.")] = None,
    error_rate_500: Annotated[float | None, typer.Option(help="Share answered 500.")] = None,
    error_rate_timeout: Annotated[
        float | None, typer.Option(help="Share that hang until the client gives up.")
    ] = None,
    hang_s: Annotated[float | None, typer.Option(help="How long a hang lasts at most.")] = None,
    error_rate_truncated: Annotated[
        float | None, typer.Option(help="Share with a body cut in half.")
    ] = None,
    error_rate_non_json: Annotated[
        float | None, typer.Option(help="Share answered with an HTML page.")
    ] = None,
    corrupt: Annotated[
        list[str] | None,
        typer.Option(
            help="KIND=RATE, repeatable. Kinds: invalid_json (per response), unknown_function, "
            "unknown_argument, missing_required, wrong_type, exec_failure, query_mismatch."
        ),
    ] = None,
    no_json_schema: Annotated[
        bool, typer.Option("--no-json-schema", help="Reject response_format json_schema (400).")
    ] = False,
    no_json_object: Annotated[
        bool, typer.Option("--no-json-object", help="Reject response_format json_object (400).")
    ] = False,
) -> None:
    """Serve a SIMULATED OpenAI-compatible endpoint (/v1/chat/completions) for tests and
    benchmarks. It is not a model: it parses the project's prompts and answers with
    schema-valid pairs and rule-based verdicts, with faults on demand. GET /stats reports
    the faults it injected."""
    from aiohttp import web
    from rich.console import Console

    from ..llm import SimulatorConfig, create_app
    from ..llm._simulator_metrics import add_metrics_route

    settings: dict[str, Any] = _load_config_file(config) if config else {}
    overrides: dict[str, Any] = {
        "seed": seed,
        "model": model,
        "max_concurrency": max_concurrency,
        "error_rate_429": error_rate_429,
        "retry_after_s": retry_after_s,
        "error_rate_500": error_rate_500,
        "error_rate_timeout": error_rate_timeout,
        "hang_s": hang_s,
        "error_rate_truncated": error_rate_truncated,
        "error_rate_non_json": error_rate_non_json,
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if latency_ms is not None:
        settings["latency"] = latency_ms
    if corrupt:
        settings["corruption"] = {**settings.get("corruption", {}), **_parse_corrupt(corrupt)}
    if no_json_schema:
        settings["accept_json_schema"] = False
    if no_json_object:
        settings["accept_json_object"] = False
    try:
        cfg = SimulatorConfig.from_dict(settings)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    console = Console(stderr=True)
    console.print(
        f"[bold yellow]SIMULATED LLM endpoint[/] — not a real model — "
        f"http://{host}:{port}/v1  model [bold]{cfg.model}[/]  seed {cfg.seed}\n"
        f"latency {cfg.latency}  errors 429={cfg.error_rate_429:g} 500={cfg.error_rate_500:g} "
        f"timeout={cfg.error_rate_timeout:g} truncated={cfg.error_rate_truncated:g} "
        f"non_json={cfg.error_rate_non_json:g}  corruption {dict(cfg.corruption) or 'none'}\n"
        f"injected-fault counts: GET http://{host}:{port}/stats (Prometheus: /metrics)"
    )
    app = create_app(cfg)
    add_metrics_route(app)
    web.run_app(
        app, host=host, port=port, print=None, access_log=None,
        handler_cancellation=True, shutdown_timeout=1.0,
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    app.command("simulate-llm")(simulate_llm)
