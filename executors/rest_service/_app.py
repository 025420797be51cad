"""The app factory and server entry point of the local REST API service."""

from __future__ import annotations

from fastapi import FastAPI

from . import _math, _reference, _testing, _tools

__all__ = ["create_app", "serve"]

_DESCRIPTION = """\
A local REST API for executing function calls against real computation and bundled real
data: chemical elements, planets, countries, unit conversion, dates, text, statistics,
finance, number theory, networks, geography and colours. Errors: 404 for unknown ids, 400
for input the endpoint cannot process, 422 for input that fails validation.
"""


def create_app(testing: bool = False) -> FastAPI:
    """Build the app. ``testing=True`` adds the ``/_test/*`` behaviour endpoints (status
    codes, slow and huge responses, flaky 429s, echo) and a request log at
    ``app.state.request_log``; neither appears in ``/openapi.json``."""
    app = FastAPI(
        title="APIGen local REST service",
        version="1.0.0",
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    for module in (_reference, _math, _tools):
        app.include_router(module.router)
    if testing:
        log = _testing.RequestLog()
        app.state.request_log = log
        app.include_router(_testing.router)
        app.add_middleware(_testing.RequestLogMiddleware, log=log)
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the public service with uvicorn until interrupted (``/metrics`` included)."""
    import uvicorn

    from ._metrics import add_metrics

    app = create_app()
    add_metrics(app)
    uvicorn.run(app, host=host, port=port, log_level="info", ws="none")
