"""The ``apigen`` command. Each group of subcommands lives in its own module of this package."""

from __future__ import annotations

import typer

from . import _apis, _check, _kafka, _llm, _pipeline, _replay, _services

app = typer.Typer(
    name="apigen",
    help="Streaming APIGen: generate verified function-calling datasets from real APIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_pipeline.register(app)
_apis.register(app)
_llm.register(app)
_kafka.register(app)
_services.register(app)
_check.register(app)
_replay.register(app)


def main() -> None:
    app()
