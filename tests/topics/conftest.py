"""Fixtures of the transport tests: one ``transport`` fixture per implementation."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from topics import EmbeddedTransport, MemoryTransport, Transport


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
async def transport(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Transport]:
    """Every transport, so the contract suite runs unchanged against each."""
    t: Transport
    if request.param == "memory":
        t = MemoryTransport()
    elif request.param == "embedded":
        t = EmbeddedTransport(tmp_path / "log.db")
    else:
        bootstrap: str = request.getfixturevalue("kafka_bootstrap")
        # Imported by name: the Kafka transport is optional here and may not exist yet.
        kafka = importlib.import_module("topics._kafka")
        t = kafka.KafkaTransport(bootstrap)
    try:
        yield t
    finally:
        await t.aclose()
