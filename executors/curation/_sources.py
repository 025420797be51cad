"""Reading what curation starts from: catalogue files, Python modules, OpenAPI URLs.

A source is one of:

- a catalogue file of any kind :func:`executors._library.detect_source_kind` knows
  (ToolBench, OpenAPI, our spec JSON Lines, BFCL, xLAM, OpenAI tools, MCP listings);
  OpenAPI documents without an absolute server URL use ``base_url``;
- ``python:package.module``: every function in the module's ``__all__``, converted by
  :func:`~executors.converters.spec_from_callable` with the module's ``API_CATEGORY``
  (else its last dotted part) as category;
- ``builtin``: the built-in Python function library;
- an ``http://`` or ``https://`` URL of an OpenAPI document (a running service's
  ``/openapi.json``); its origin is the base URL of operations without an absolute server.

Items that do not convert are kept as :class:`~executors.SpecError` values: they are input
too, and the report rejects them as ``unparseable_doc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .._errors import SpecError
from .._library import detect_source_kind, load_source
from .._network import NetworkPolicy, fetch_url, url_host
from .._python_module import module_specs
from .._spec import ApiSpec
from ..converters import (
    ConversionReport,
    Rename,
    convert_openapi,
    convert_toolbench_file,
)
from ._reasons import CurationError

__all__ = ["LoadedSource", "load_curation_source"]

FETCH_TIMEOUT_S = 10.0
"""Seconds to fetch an OpenAPI document given by URL."""


@dataclass(frozen=True, slots=True)
class LoadedSource:
    """One source's specs, the items that failed to convert, and converter renames.

    ``python_modules`` are the modules whose functions may be called to test them: only
    those of module sources (``python:``, ``builtin``), never ones a catalogue file names.
    """

    label: str
    specs: tuple[ApiSpec, ...]
    errors: tuple[SpecError, ...] = ()
    renames: tuple[Rename, ...] = field(default=())
    python_modules: frozenset[str] = frozenset()


def load_curation_source(source: str | Path, *, base_url: str | None = None) -> LoadedSource:
    """Convert one source; :class:`CurationError` when the source itself cannot be read."""
    text = str(source)
    if text.startswith("python:"):
        return _python_module(text.removeprefix("python:"))
    if text == "builtin":
        from ..builtin import MODULES, builtin_specs

        return LoadedSource(text, tuple(builtin_specs()), python_modules=frozenset(MODULES))
    if text.startswith(("http://", "https://")):
        return _openapi_url(text)
    path = Path(source)
    if not path.exists():
        raise CurationError(text, "<file>", "no such file")
    try:
        kind = detect_source_kind(path)
        if kind == "openapi":
            return _from_report(text, convert_openapi(path, base_url=base_url))
        if kind == "toolbench":
            return _from_report(text, convert_toolbench_file(path))
        specs, errors = load_source(path, kind=kind)
    except SpecError as exc:
        raise CurationError(text, exc.field, exc.problem) from None
    return LoadedSource(text, tuple(specs), tuple(errors))


def _from_report(label: str, report: ConversionReport) -> LoadedSource:
    return LoadedSource(label, report.specs, report.errors, report.renames)


def _python_module(name: str) -> LoadedSource:
    try:
        loaded = module_specs(name)
    except SpecError as exc:
        raise CurationError(exc.document, exc.field, exc.problem) from None
    return LoadedSource(
        loaded.label, loaded.specs, loaded.errors, python_modules=loaded.python_modules
    )


def _openapi_url(url: str) -> LoadedSource:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    policy = NetworkPolicy().allowing(*filter(None, [url_host(url)]))  # the user's own URL
    try:
        response = fetch_url(url, policy, timeout_s=FETCH_TIMEOUT_S)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError, OSError) as exc:
        raise CurationError(url, "<url>", f"cannot fetch the OpenAPI document: {exc}") from None
    if not isinstance(document, dict):
        raise CurationError(url, "<root>", "the OpenAPI document must be an object")
    return _from_report(url, convert_openapi(document, base_url=origin, where=url))
