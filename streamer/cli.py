"""The ``apigen`` command. Each group of subcommands lives in its own ``_cli_*`` module."""

from __future__ import annotations

import typer

from . import _cli_apis, _cli_check, _cli_kafka, _cli_llm, _cli_pipeline, _cli_replay, _cli_services

app = typer.Typer(
    name="apigen",
    help="Streaming APIGen: generate verified function-calling datasets from real APIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_cli_pipeline.register(app)
_cli_apis.register(app)
_cli_llm.register(app)
_cli_kafka.register(app)
_cli_services.register(app)
_cli_check.register(app)
_cli_replay.register(app)


def main() -> None:
    app()
