"""Fixtures for the monitoring tests: the real Prometheus binaries, repository paths, and a
live set-up (the services as processes of their own, and Prometheus scraping them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._prometheus import Prometheus
    from ._services import Services

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules" / "apigen.yml"
DASHBOARDS = REPO / "dashboards"


def _binary(name: str) -> str:
    """The path of ``name``; skip when missing, except under CI where that is a failure."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        message = f"{name} missing: install Debian's prometheus package (scripts/install --test)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return _binary("prometheus")


@pytest.fixture
def live(prometheus_bin: str, tmp_path: Path) -> Iterator[tuple[Prometheus, int, Services]]:
    """``apigen simulate-llm`` and ``apigen rest-service`` running, and Prometheus scraping
    them (job ``apigen-services``) and 127.0.0.1:<metrics port> (job ``apigen``), for the
    test to serve a run's ``/metrics`` on; yields (Prometheus, metrics port, services)."""
    from ._prometheus import free_port, running_prometheus  # they import this module
    from ._services import running_services

    metrics_port = free_port()
    with running_services(tmp_path, wait=False) as services:  # starting meanwhile
        jobs = {"apigen": [f"127.0.0.1:{metrics_port}"], "apigen-services": services.targets}
        with running_prometheus(prometheus_bin, tmp_path, jobs) as server:
            services.wait_ready()
            yield server, metrics_port, services
