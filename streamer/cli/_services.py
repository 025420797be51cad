"""`apigen` subcommands: local services (the REST API service)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""

    @app.command("rest-service")
    def rest_service(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port to listen on."),
    ) -> None:
        """Serve the local REST API service (OpenAPI document at /openapi.json)."""
        from executors.rest_service import serve

        serve(host=host, port=port)
