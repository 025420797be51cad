"""The API library: an immutable collection of :class:`~executors.ApiSpec`.

Specs are looked up by id (``source:name``, unique) or by name. Names may repeat across
sources (two catalogues both have ``search``); both specs are kept and :meth:`ApiLibrary.get`
with such a name raises :class:`AmbiguousApiName` listing the ids to choose from.

A library is saved and loaded as JSON Lines of :meth:`ApiSpec.to_dict`, and built from
catalogues with :meth:`ApiLibrary.from_sources`, which picks the converter by file kind::

    library = ApiLibrary.from_sources(["petstore.yaml", "tools.jsonl"])
    finance = library.filter(category="Finance")
    finance.save("finance.jsonl")
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from ._errors import SpecError
from ._spec import ApiSpec

if TYPE_CHECKING:
    from .converters import ConversionReport

__all__ = [
    "MAX_SPEC_BYTES",
    "AmbiguousApiName",
    "ApiLibrary",
    "SourceKind",
    "detect_source_kind",
    "load_source",
]

log = logging.getLogger("apigen.library")

MAX_SPEC_BYTES = 200_000
"""Largest spec (as JSON, in bytes) :func:`load_source` accepts from a catalogue: four of
them still fit in one task event under the log's 1 MB message limit. The largest real spec
seen (Spotify's OpenAPI) is about 22 KB."""

SourceKind = Literal["spec", "openapi", "toolbench", "bfcl", "xlam", "openai", "glaive", "mcp"]


class AmbiguousApiName(KeyError):
    """``get(name)`` matched specs from several sources; use an id from ``ids``."""

    def __init__(self, name: str, ids: list[str]) -> None:
        super().__init__(f"API name {name!r} is ambiguous; use one of the ids {ids}")
        self.name = name
        self.ids = ids

    def __str__(self) -> str:
        return str(self.args[0])


class ApiLibrary:
    """An immutable, ordered collection of specs with lookup by id and name.

    Adding a spec whose id is already present raises :class:`SpecError`; identical
    duplicates (the same spec twice) are kept once.
    """

    __slots__ = ("_by_id", "_by_name")

    def __init__(self, specs: Iterable[ApiSpec] = ()) -> None:
        by_id: dict[str, ApiSpec] = {}
        by_name: dict[str, list[str]] = {}
        for spec in specs:
            existing = by_id.get(spec.id)
            if existing is not None:
                if existing == spec:
                    continue
                raise SpecError(spec.source or "<library>", "id", f"duplicate id {spec.id!r}")
            by_id[spec.id] = spec
            by_name.setdefault(spec.name, []).append(spec.id)
        self._by_id = by_id
        self._by_name = by_name

    def __repr__(self) -> str:
        return f"<ApiLibrary apis={len(self)} categories={len(self.categories())}>"

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[ApiSpec]:
        return iter(self._by_id.values())

    def __contains__(self, key: object) -> bool:
        return key in self._by_id or key in self._by_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiLibrary) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def get(self, name: str) -> ApiSpec:
        """The spec called ``name`` (or with id ``name``).

        Raises :class:`KeyError` when there is none and :class:`AmbiguousApiName` when
        several sources have an API of that name.
        """
        if name in self._by_id:
            return self._by_id[name]
        ids = self._by_name.get(name)
        if not ids:
            raise KeyError(f"no API named {name!r}")
        if len(ids) > 1:
            raise AmbiguousApiName(name, ids)
        return self._by_id[ids[0]]

    def by_id(self, api_id: str) -> ApiSpec:
        """The spec with id ``source:name``; :class:`KeyError` if absent."""
        try:
            return self._by_id[api_id]
        except KeyError:
            raise KeyError(f"no API with id {api_id!r}") from None

    def names(self) -> list[str]:
        """Distinct API names in library order."""
        return list(self._by_name)

    def categories(self) -> list[str]:
        """Distinct categories, sorted."""
        return sorted({spec.category for spec in self})

    def filter(
        self,
        predicate: Callable[[ApiSpec], bool] | None = None,
        *,
        category: str | None = None,
        source: str | None = None,
        binding: str | None = None,
    ) -> ApiLibrary:
        """A new library of the specs that match every given condition.

        ``source`` matches exactly or as a prefix up to ``:``/``/`` (``toolbench`` matches
        ``toolbench:Finance/...``); ``binding`` is a binding kind (``python``, ``rest``,
        ``mcp``) or ``none`` for catalogue-only specs.
        """

        def keep(spec: ApiSpec) -> bool:
            if category is not None and spec.category != category:
                return False
            if source is not None and not (
                spec.source == source or spec.source.startswith((f"{source}:", f"{source}/"))
            ):
                return False
            if binding is not None:
                kind = spec.binding.kind if spec.binding is not None else "none"
                if kind != binding:
                    return False
            return predicate is None or predicate(spec)

        return ApiLibrary(spec for spec in self if keep(spec))

    def merge(self, *others: ApiLibrary) -> ApiLibrary:
        """This library followed by ``others``; a conflicting id raises :class:`SpecError`."""
        return ApiLibrary([*self, *(spec for other in others for spec in other)])

    def save(self, path: str | Path) -> None:
        """Write JSON Lines, one :meth:`ApiSpec.to_dict` per line."""
        with Path(path).open("w", encoding="utf-8") as handle:
            for spec in self:
                handle.write(json.dumps(spec.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ApiLibrary:
        """Read what :meth:`save` wrote; a bad line raises :class:`SpecError` naming it."""
        from .converters._common import read_json_lines

        specs = []
        for where, record in read_json_lines(path):
            if isinstance(record, SpecError):
                raise record
            specs.append(ApiSpec.from_dict(record, where=where))
        return cls(specs)

    @classmethod
    def from_sources(
        cls,
        sources: Iterable[str | Path],
        *,
        kind: SourceKind | None = None,
        strict: bool = False,
        mcp_server: str | None = None,
    ) -> ApiLibrary:
        """Convert and merge catalogue files (kind detected per file unless given).

        Items that fail to convert, and a later spec whose id another one already took, are
        skipped with a warning on the ``apigen.library`` logger (how many, and the first
        error) unless ``strict``, which raises the first :class:`SpecError`; use
        :func:`load_source` to see every error. A file that cannot be read at all raises.
        """
        by_id: dict[str, ApiSpec] = {}
        for source in sources:
            converted, errors = load_source(source, kind=kind, mcp_server=mcp_server)
            for spec in converted:
                taken = by_id.setdefault(spec.id, spec)
                if taken != spec:
                    errors.append(SpecError(str(source), spec.id, "duplicate id; first kept"))
            if strict and errors:
                raise errors[0]
            if errors:
                log.warning("%s: %d item(s) skipped; first: %s", source, len(errors), errors[0])
        return cls(by_id.values())

    @classmethod
    def builtin(cls) -> ApiLibrary:
        """The built-in Python function library (``executors.builtin.builtin_specs``)."""
        try:
            from executors.builtin import builtin_specs  # type: ignore[attr-defined,unused-ignore]
        except ImportError as exc:
            raise RuntimeError(
                f"the built-in API library is not available ({exc}); "
                "pass catalogue files instead (e.g. --source tools.jsonl)"
            ) from exc
        return cls(builtin_specs())


def detect_source_kind(path: str | Path) -> SourceKind:
    """Guess a catalogue's kind from its name and first record.

    ``.yaml``/``.yml`` and JSON with an ``openapi`` key are OpenAPI; ``.jsonl`` lines with
    ``api_list`` are ToolBench, with ``function`` BFCL, with ``tools`` xLAM, with
    ``parameters`` and ``binding`` our own spec format; a JSON object with ``api_list`` is a
    ToolBench tool file; ``{"tools": [{..."inputSchema"}]}`` an MCP listing; a list of
    records with ``conversations`` glaive; a list of functions OpenAI tools.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return "openapi"
    first = _first_record(path)
    if isinstance(first, dict):
        if "openapi" in first:
            return "openapi"
        if "api_list" in first:
            return "toolbench"
        if "function" in first and "id" in first:
            return "bfcl"
        if "binding" in first and "parameters" in first:
            return "spec"
        if "conversations" in first:
            return "glaive"
        tools = first.get("tools")
        if isinstance(tools, str):
            return "xlam"
        if isinstance(tools, list) and tools and isinstance(tools[0], dict):
            return "mcp" if "inputSchema" in tools[0] else "openai"
        if "function" in first or ("name" in first and "parameters" in first):
            params = first.get("parameters")
            flat = isinstance(params, dict) and params.get("type") not in ("object", "dict")
            return "xlam" if flat and params else "openai"
        if "inputSchema" in first:
            return "mcp"
    raise SpecError(str(path), "<root>", "cannot tell the catalogue kind; pass it explicitly")


def _first_record(path: Path) -> Any:
    """The document, or the first line of JSON Lines, or the first item of a list."""
    from .converters._common import load_document, read_json_lines

    if not path.is_file():
        raise SpecError(str(path), "<file>", "no such file")
    try:
        document = load_document(path)
    except SpecError as exc:
        _, document = next(read_json_lines(path), ("", None))
        if isinstance(document, SpecError):
            raise SpecError(
                str(path), "<root>", f"neither JSON, JSON Lines nor YAML: {exc.problem}"
            ) from None
    if isinstance(document, list):
        return document[0] if document else None
    return document


def load_source(
    path: str | Path,
    *,
    kind: SourceKind | None = None,
    mcp_server: str | None = None,
    base_url: str | None = None,
) -> tuple[list[ApiSpec], list[SpecError]]:
    """Convert one catalogue file, or the functions of a module given as
    ``python:package.module`` (those in its ``__all__``, see :mod:`executors.curation`):
    ``(specs, errors)``, one error per item that did not convert or cannot travel in task
    events (see :data:`MAX_SPEC_BYTES`). Raises :class:`SpecError` only when the source
    itself cannot be read (or imported) or its kind told. ``base_url``: the server URL of
    an OpenAPI document that names none (or only relative ones)."""
    from . import converters as c
    from .converters._common import collect, read_json_lines

    if str(path).startswith("python:"):
        return _carriable(*_python_module(str(path)), str(path))
    path = Path(path)
    kind = kind or detect_source_kind(path)
    if kind == "spec":
        report = collect(read_json_lines(path), _spec_line)
    elif kind == "openapi":
        report = c.convert_openapi(path, base_url=base_url)
    elif kind == "toolbench":
        report = c.convert_toolbench_file(path)
    elif kind == "bfcl":
        report = c.convert_bfcl_file(path)
    elif kind == "xlam":
        report = c.convert_xlam_file(path)
    elif kind == "openai":
        report = c.convert_openai_tools(path)
    elif kind == "glaive":
        report = c.convert_glaive_file(path)
    elif kind == "mcp":
        report = c.convert_mcp_listing(path, server=mcp_server or path.stem)
    else:
        raise SpecError(str(path), "kind", f"unknown catalogue kind {kind!r}")
    return _carriable(report.specs, report.errors, str(path))


def _carriable(
    converted: Iterable[ApiSpec], errors: Iterable[SpecError], source: str
) -> tuple[list[ApiSpec], list[SpecError]]:
    """The specs that can travel in task events; an error for each one that cannot."""
    specs: list[ApiSpec] = []
    problems = list(errors)
    for spec in converted:
        problem = _uncarriable(spec)
        if problem:
            problems.append(SpecError(source, spec.id, problem))
        else:
            specs.append(spec)
    return specs, problems


def _python_module(source: str) -> tuple[tuple[ApiSpec, ...], tuple[SpecError, ...]]:
    from ._python_module import module_specs

    try:
        loaded = module_specs(source.removeprefix("python:"))
    except SpecError:
        raise
    except Exception as exc:  # importing runs the module: anything can come out
        problem = f"cannot import: {type(exc).__name__}: {exc}"
        raise SpecError(source, "<module>", problem) from None
    return loaded.specs, loaded.errors


def _spec_line(record: Any, where: str) -> ConversionReport:
    from .converters import ConversionReport

    return ConversionReport((ApiSpec.from_dict(record, where=where),))


def _uncarriable(spec: ApiSpec) -> str:
    """Why ``spec`` cannot travel in task events (JSON cannot express it, or it is larger
    than :data:`MAX_SPEC_BYTES`); empty when it can."""
    try:
        size = len(orjson.dumps(spec.to_dict()))
    except TypeError as exc:  # orjson.JSONEncodeError: too deep, a huge int, a lone surrogate
        return f"cannot be encoded as JSON ({exc})"
    except RecursionError:
        return "is nested too deeply to encode"
    if size > MAX_SPEC_BYTES:
        return f"is {size:,} bytes as JSON; the limit is {MAX_SPEC_BYTES:,}"
    return ""
