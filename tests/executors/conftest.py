"""Fixtures for executor tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .rest_server import RunningService, run_service


@pytest.fixture(scope="session")
def rest_service() -> Iterator[RunningService]:
    """The local REST service (with ``/_test`` endpoints) on a free port of 127.0.0.1."""
    with run_service(testing=True) as service:
        yield service
