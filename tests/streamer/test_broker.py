"""The local Kafka broker helper and the `apigen kafka` CLI (the broker itself is exercised by
tests/topics/test_kafka.py)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streamer.broker import _kafka as _broker
from streamer.cli import _kafka as _cli_kafka
from streamer.cli._app import app


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {_broker._cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_heap_sizes_parse() -> None:
    assert _broker._megabytes("512m") == 512
    assert _broker._megabytes("1g") == 1024


def test_the_broker_home_is_the_projects_dot_kafka(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where scripts/install fetches the jars and the tests look for them (gitignored)."""
    monkeypatch.delenv("APIGEN_KAFKA_HOME", raising=False)
    assert _broker.default_home() == Path(__file__).resolve().parents[2] / ".kafka"


def test_fetch_is_skipped_when_the_jars_are_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = _broker.lib_dir(tmp_path)
    lib.mkdir(parents=True)
    (lib / ".complete").write_text(_broker.KAFKA_VERSION)
    monkeypatch.setattr("shutil.which", lambda _: pytest.fail("mvn must not run"))
    assert _broker.fetch(tmp_path) == lib


@pytest.mark.kafka
@pytest.mark.slow
def test_cli_start_is_idempotent_and_stop_stops(
    kafka_jars: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # State and data under tmp_path; jars from the real home (kafka_jars made sure of them).
    monkeypatch.setattr(_cli_kafka, "default_home", lambda: tmp_path)
    runner = CliRunner()
    started = runner.invoke(app, ["kafka", "start"])
    assert started.exit_code == 0, started.output
    bootstrap = started.output.strip()
    assert bootstrap.startswith("127.0.0.1:")
    state = json.loads((tmp_path / "broker.json").read_text())
    try:
        assert state["bootstrap"] == bootstrap
        assert _cli_kafka._alive(state["pid"])
        again = runner.invoke(app, ["kafka", "start"])
        assert again.output.strip() == bootstrap
    finally:
        stopped = runner.invoke(app, ["kafka", "stop"])
    assert stopped.exit_code == 0, stopped.output
    assert not _cli_kafka._alive(state["pid"])
    assert "no broker running" in runner.invoke(app, ["kafka", "stop"]).output


@pytest.mark.kafka
@pytest.mark.slow
def test_start_retries_on_new_ports_when_a_chosen_port_was_taken(
    kafka_jars: None, tmp_path: Path
) -> None:
    broker = _broker.LocalKafkaBroker(tmp_path / "kafka", die_with_parent=True, start_attempts=2)
    taken = broker.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        try:
            broker.start()
            assert broker.running
            assert broker.port != taken
        finally:
            broker.stop()
    assert broker.pid is None
    assert "BindException" in broker.log_file.read_text()
