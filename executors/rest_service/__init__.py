"""A local REST API service: real computation and bundled real data behind FastAPI.

Used as an executable API source for the pipeline (its ``/openapi.json`` converts into
specs) and as the real server the REST executor is tested against. Run it with
``apigen rest-service --port 8000``.
"""

from ._app import create_app, serve
from ._testing import RecordedRequest, RequestLog

__all__ = ["RecordedRequest", "RequestLog", "create_app", "serve"]
