"""`apigen` subcommands: kafka (a local single-node Apache Kafka broker, no Docker).

    apigen kafka fetch                       # resolve the broker jars with Maven (once)
    apigen kafka start [--data-dir D] [--port P]   # prints the bootstrap address
    apigen kafka stop

``start`` records the broker in ``<project>/.kafka/broker.json``; ``stop`` reads it and
stops the JVM by PID (SIGTERM, then SIGKILL). Starting again on the same data dir reuses
the recorded ports, so the bootstrap address stays the same.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from ..broker._kafka import (
    KAFKA_VERSION,
    BrokerError,
    LocalKafkaBroker,
    default_home,
    fetch,
    jars_present,
)

__all__ = ["kafka_app", "register"]

kafka_app = typer.Typer(
    name="kafka",
    help=f"A local single-node Apache Kafka {KAFKA_VERSION} broker (KRaft) for tests and dev.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    app.add_typer(kafka_app, name="kafka")


def _state_file() -> Path:
    return default_home() / "broker.json"


def _read_state() -> dict[str, object] | None:
    try:
        state: dict[str, object] = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    return state


def _alive(pid: int) -> bool:
    """Is ``pid`` a live Kafka broker (not a reused PID of something else)?"""
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@kafka_app.command("fetch")
def fetch_command(
    verbose: Annotated[bool, typer.Option(help="Show Maven's own output.")] = False,
) -> None:
    """Resolve the broker jars from Maven Central into .kafka/ (skipped when present).

    Maven's output is shown only with --verbose or when it fails."""
    if not jars_present():
        typer.echo(f"Fetching the Kafka {KAFKA_VERSION} broker jars from Maven Central (once)...")
    try:
        path = fetch(quiet=not verbose)
    except BrokerError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"Kafka {KAFKA_VERSION} jars in {path}")


@kafka_app.command("start")
def start_command(
    data_dir: Annotated[
        Path | None, typer.Option(help="Broker data (default .kafka/data); kept across starts.")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="PLAINTEXT port (default: last one used, else free).")
    ] = None,
) -> None:
    """Start the broker in the background and print its bootstrap address."""
    state = _read_state()
    pid = state.get("pid") if state is not None else None
    if state is not None and isinstance(pid, int) and _alive(pid):
        typer.echo(str(state["bootstrap"]))
        return
    data_dir = (data_dir or default_home() / "data").resolve()
    controller_port: int | None = None
    if state is not None and state.get("data_dir") == str(data_dir):
        port = port or int(str(state["port"]))
        controller_port = int(str(state["controller_port"]))
    broker = LocalKafkaBroker(data_dir, port=port, controller_port=controller_port)
    try:
        bootstrap = broker.start()
    except BrokerError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    _state_file().write_text(
        json.dumps(
            {
                "pid": broker.pid,
                "bootstrap": bootstrap,
                "port": broker.port,
                "controller_port": broker.controller_port,
                "data_dir": str(data_dir),
                "kafka_version": KAFKA_VERSION,
                "startup_seconds": round(broker.startup_seconds or 0.0, 2),
            },
            indent=2,
        )
        + "\n"
    )
    typer.echo(bootstrap)


@kafka_app.command("stop")
def stop_command(
    timeout_s: Annotated[float, typer.Option(help="Seconds before SIGKILL.")] = 30.0,
) -> None:
    """Stop the broker started by `apigen kafka start` (SIGTERM, then SIGKILL)."""
    state = _read_state()
    pid = state.get("pid") if state is not None else None
    if not isinstance(pid, int) or not _alive(pid):
        typer.echo("no broker running")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    # Keep the ports and data dir in the state file: the next start reuses them.
    if state is not None:
        state["pid"] = None
        _state_file().write_text(json.dumps(state, indent=2) + "\n")
    typer.echo(f"stopped broker pid {pid}")
