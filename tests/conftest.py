"""Session-wide fixtures: the anyio backend and the real Kafka broker (streamer.broker._kafka)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamer.broker._kafka import LocalKafkaBroker, jars_present


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def kafka_jars() -> None:
    """Skip when the broker jars are missing (run ``scripts/kafka fetch``), except under
    ``CI``, where a missing broker is a failure, not a reason to test less."""
    if not jars_present():
        message = "Kafka broker jars missing: run `scripts/kafka fetch` (or scripts/install --test)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def kafka_broker(
    kafka_jars: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalKafkaBroker]:
    """One single-node KRaft broker per test session, on a fresh data dir and free ports."""
    broker = LocalKafkaBroker(tmp_path_factory.mktemp("kafka"), die_with_parent=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: LocalKafkaBroker) -> str:
    """``"127.0.0.1:PORT"`` of the session's broker."""
    return kafka_broker.bootstrap


@pytest.fixture
def own_broker(kafka_jars: None, tmp_path: Path) -> Iterator[LocalKafkaBroker]:
    """A broker for one test alone: it may be stopped and restarted without disturbing the
    session's, and its topics see only that test."""
    broker = LocalKafkaBroker(tmp_path / "kafka", die_with_parent=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
