"""Prometheus metrics of the local REST API service (``apigen rest-service``) at ``/metrics``.

The service is a process of its own (a compose service), so it serves its own metrics:
requests by method, route and status, their wall time, and the process's ``process_*`` and
``python_*`` metrics. Labels are bounded: ``route`` is the matched route's path template
(``/elements/{symbol}``, never the path asked for) or ``unmatched``; ``status`` the HTTP
status code. ``/metrics`` is left out of the OpenAPI document and of the counts::

    apigen_rest_service_requests_total{method, route, status}
    apigen_rest_service_request_duration_seconds{route}

Usage::

    app = create_app()
    add_metrics(app)        # what serve() does; tests' apps go without
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

__all__ = ["SERVICE_LATENCY_BUCKETS", "add_metrics"]

SERVICE_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Histogram buckets in seconds: the service computes in-process, from µs to slow tests."""

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def add_metrics(app: FastAPI, registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Count ``app``'s requests and serve them at ``GET /metrics``; returns the registry
    (a new one unless given, with the process collectors)."""
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
    requests = Counter(
        "apigen_rest_service_requests",
        "Requests to the local REST service, by method, route template and status code.",
        ["method", "route", "status"],
        registry=registry,
    )
    duration = Histogram(
        "apigen_rest_service_request_duration_seconds",
        "Wall time of the local REST service's answers in seconds, by route template.",
        ["route"],
        buckets=SERVICE_LATENCY_BUCKETS,
        registry=registry,
    )

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path == "/metrics":
            return await call_next(request)
        started = time.perf_counter()
        response = await call_next(request)
        matched = request.scope.get("route")
        route = str(getattr(matched, "path", "")) or "unmatched"
        method = request.method if request.method in _METHODS else "other"
        requests.labels(method, route, str(response.status_code)).inc()
        duration.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
