"""Curation end to end: rules, names, duplicates, accessibility, regeneration, taxonomy.

Every input item ends in exactly one :class:`~executors.curation.ApiRecord`. The steps, in
order (a rejected API leaves at the first step that rejects it):

1. ``conversion``: items the converter could not read (``unparseable_doc``).
2. ``parameters`` / ``documentation`` rules (:func:`spec_issues`); only fatal issues
   reject here, fixable ones (poor descriptions) wait for step 6.
3. ``names``: invalid names are renamed (:func:`fix_names`) or rejected.
4. ``duplicates``: exact and near-duplicates rejected; copied descriptions become
   fixable issues.
5. ``accessibility``: one example call per API (:func:`check_access`).
6. ``regeneration``: with a :class:`DocWriter` (an LLM), APIs with fixable issues get a new
   description and parameter descriptions, checked by the same rules; the originals are
   kept in the record. Without one, such APIs are rejected with their issue's reason.
7. Categories are mapped onto the taxonomy.

Usage::

    result = await curate(["tools.jsonl", "python:mypkg.tools"], CurationSettings())
    result.library.save("curated.jsonl")
    result.report.write("curated.report.json", "curated.report.md")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import anyio

from .._dispatch import Dispatcher
from .._library import ApiLibrary
from .._spec import ApiSpec
from ..converters._common import load_document
from ._access import AccessResult, AccessSettings, check_access
from ._dedup import DuplicateSettings, find_duplicates
from ._reasons import CurationError
from ._report import ApiRecord, CurationReport
from ._rules import Issue, RuleSettings, description_issues, fix_names, known_names, spec_issues
from ._sources import LoadedSource, load_curation_source
from ._taxonomy import Taxonomy

__all__ = [
    "CurationResult",
    "CurationSettings",
    "DocRequest",
    "DocWriter",
    "WrittenDocs",
    "curate",
    "curate_sources",
    "load_examples",
]


@dataclass(frozen=True, slots=True)
class CurationSettings:
    """Everything curation can be told. ``test_access`` False skips step 5 (every API is
    kept untested); ``regen_concurrency`` bounds LLM calls in flight; ``taxonomy_path``
    None uses the default taxonomy."""

    rules: RuleSettings = field(default_factory=RuleSettings)
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    test_access: bool = True
    regen_concurrency: int = 4
    taxonomy_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DocRequest:
    """What a :class:`DocWriter` is asked: a new description if ``rewrite_description``,
    and descriptions for ``parameters``; ``problems`` says what was wrong, and
    ``sample_response`` is a real result of the API (JSON text, may be empty)."""

    spec: ApiSpec
    problems: tuple[str, ...]
    rewrite_description: bool
    parameters: tuple[str, ...]
    sample_response: str = ""


@dataclass(frozen=True, slots=True)
class WrittenDocs:
    """A writer's answer: the description and a description per parameter name."""

    description: str
    parameters: Mapping[str, str]


class DocWriter(Protocol):
    """Writes API documentation (an LLM, see ``streamer.curation._curate``). May raise anything on
    failure; the API is then rejected as ``regeneration_failed`` with the message."""

    @property
    def name(self) -> str: ...

    async def write_docs(self, request: DocRequest) -> WrittenDocs: ...


@dataclass(frozen=True, slots=True)
class CurationResult:
    library: ApiLibrary
    report: CurationReport


def load_examples(path: str | Path) -> dict[str, dict[str, Any]]:
    """A JSON/YAML mapping of API id or name to example arguments (an object each)."""
    try:
        data = load_document(path)
    except Exception as exc:  # SpecError or OSError: both name the problem
        raise CurationError(str(path), "<root>", str(exc)) from None
    if not isinstance(data, dict):
        raise CurationError(str(path), "<root>", "must map API ids or names to arguments")
    for key, value in data.items():
        if not isinstance(value, dict):
            raise CurationError(str(path), str(key), "example arguments must be an object")
    return {str(k): dict(v) for k, v in data.items()}


async def curate(
    sources: Sequence[str | Path],
    settings: CurationSettings | None = None,
    *,
    writer: DocWriter | None = None,
    examples: Mapping[str, dict[str, Any]] | None = None,
    base_url: str | None = None,
    dispatcher: Dispatcher | None = None,
) -> CurationResult:
    """Load ``sources`` (see :func:`load_curation_source`) and curate them. The hosts of
    URL sources and of ``base_url`` are the user's: the access test may reach them."""
    loaded = [load_curation_source(s, base_url=base_url) for s in sources]
    settings = settings or CurationSettings()
    urls = [str(s) for s in sources if str(s).startswith(("http://", "https://"))]
    settings = replace(settings, access=settings.access.allowing_urls([*urls, base_url or ""]))
    return await curate_sources(
        loaded, settings, writer=writer, examples=examples, dispatcher=dispatcher
    )


@dataclass(slots=True)
class _Item:
    spec: ApiSpec
    label: str
    original: ApiSpec
    renames: list[dict[str, str]] = field(default_factory=list)
    fixable: list[Issue] = field(default_factory=list)
    access: AccessResult | None = None


async def curate_sources(
    loaded: Sequence[LoadedSource],
    settings: CurationSettings | None = None,
    *,
    writer: DocWriter | None = None,
    examples: Mapping[str, dict[str, Any]] | None = None,
    dispatcher: Dispatcher | None = None,
) -> CurationResult:
    """Curate already loaded sources; see the module docstring for the steps."""
    settings = settings or CurationSettings()
    taxonomy = Taxonomy.load(settings.taxonomy_path)
    records: list[ApiRecord | None] = []
    items: list[tuple[int, _Item]] = []

    def reject(item: _Item, index: int, issue: Issue) -> None:
        records[index] = ApiRecord(
            api=item.original.id,
            source=item.label,
            status="rejected",
            rule=issue.rule,
            reason=issue.reason,
            message=issue.message,
            category_from=item.original.category,
            category_to=taxonomy.map(item.original.category)[0],
            renames=tuple(item.renames),
        )

    # 1-3: conversion, per-API rules, names.
    taken = known_names([s for src in loaded for s in src.specs])
    for src in loaded:
        converter_renames = _renames_by_name(src)
        for error in src.errors:
            records.append(
                ApiRecord(
                    api=error.document,
                    source=src.label,
                    status="rejected",
                    rule="conversion",
                    reason="unparseable_doc",
                    message=str(error),
                )
            )
        for spec in src.specs:
            index = len(records)
            records.append(None)
            item = _Item(spec, src.label, spec, list(converter_renames.get(spec.name, [])))
            issues = spec_issues(spec, settings.rules)
            fatal = [i for i in issues if not i.fixable]
            if fatal:
                reject(item, index, fatal[0])
                continue
            item.fixable = issues
            renamed, changes, problem = fix_names(spec, taken.setdefault(spec.source, set()))
            item.renames += [c.to_dict() for c in changes]
            if problem is not None:
                reject(item, index, problem)
                continue
            item.spec = renamed
            items.append((index, item))

    # 4: duplicates (and ids that would collide in the library).
    survivors: list[tuple[int, _Item]] = []
    ids: set[str] = set()
    for (index, item), found in zip(
        items, find_duplicates([i.spec for _, i in items], settings.duplicates), strict=True
    ):
        if found is not None and not found.fixable:
            reject(item, index, found)
        elif item.spec.id in ids:
            reject(item, index, Issue("duplicates", "duplicate", "its id is already kept"))
        else:
            if found is not None:
                item.fixable.insert(0, found)
            ids.add(item.spec.id)
            survivors.append((index, item))

    # 5: accessibility.
    if settings.test_access:
        modules = frozenset().union(*(src.python_modules for src in loaded))
        access = await check_access(
            [i.spec for _, i in survivors],
            settings.access,
            examples=examples,
            allowed_modules=modules,
            dispatcher=dispatcher,
        )
        tested: list[tuple[int, _Item]] = []
        for index, item in survivors:
            result = access[item.spec.id]
            item.access = result
            if result.ok:
                tested.append((index, item))
            else:
                reject(item, index, Issue("accessibility", result.reason, result.message))
        survivors = tested

    # 6: regeneration.
    regenerated: dict[int, dict[str, Any]] = {}
    needs = [(index, item) for index, item in survivors if item.fixable]
    if needs and writer is None:
        for index, item in needs:
            reject(item, index, item.fixable[0])
    elif needs and writer is not None:
        slots = anyio.Semaphore(max(1, settings.regen_concurrency))

        async def fix(index: int, item: _Item) -> None:
            async with slots:
                outcome = await _regenerate(item, writer, settings.rules)
            if isinstance(outcome, Issue):
                reject(item, index, outcome)
            else:
                item.spec, regenerated[index] = outcome

        async with anyio.create_task_group() as group:
            for index, item in needs:
                group.start_soon(fix, index, item)

    # 7: taxonomy; the kept records.
    kept: list[ApiSpec] = []
    unmapped: set[str] = set()
    for index, item in survivors:
        if records[index] is not None:
            continue
        category, known = taxonomy.map(item.original.category)
        if not known:
            unmapped.add(item.original.category)
        spec = replace(item.spec, category=category)
        kept.append(spec)
        records[index] = ApiRecord(
            api=item.original.id,
            source=item.label,
            status="kept",
            kept_id=spec.id,
            category_from=item.original.category,
            category_to=category,
            tested=item.access is not None and item.access.tested,
            renames=tuple(item.renames),
            regenerated=regenerated.get(index),
        )
    final = [r for r in records if r is not None]
    assert len(final) == len(records), "every input item has a record"
    report = CurationReport(
        sources=tuple(src.label for src in loaded),
        records=tuple(final),
        taxonomy=taxonomy.where,
        unmapped_categories=tuple(sorted(unmapped)),
        settings=settings.to_dict(),
    )
    return CurationResult(ApiLibrary(kept), report)


def _renames_by_name(src: LoadedSource) -> dict[str, list[dict[str, str]]]:
    """Converter renames per new API name (those that changed something)."""
    by_document: dict[str, list[dict[str, str]]] = {}
    names: dict[str, str] = {}
    for r in src.renames:
        if r.field == "name":
            names[r.document] = r.name
        if r.original != r.name:
            entry = {"field": r.field, "original": r.original, "name": r.name}
            by_document.setdefault(r.document, []).append(entry)
    out: dict[str, list[dict[str, str]]] = {}
    for document, entries in by_document.items():
        if document in names:
            out.setdefault(names[document], []).extend(entries)
    return out


async def _regenerate(
    item: _Item, writer: DocWriter, rules: RuleSettings
) -> Issue | tuple[ApiSpec, dict[str, Any]]:
    spec = item.spec
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    undocumented = tuple(
        p for p, s in properties.items() if not str(s.get("description", "")).strip()
    )
    rewrite = any(i.rule == "documentation" for i in item.fixable)
    request = DocRequest(
        spec=spec,
        problems=tuple(i.message for i in item.fixable),
        rewrite_description=rewrite,
        parameters=undocumented,
        sample_response=item.access.sample if item.access is not None else "",
    )
    try:
        docs = await writer.write_docs(request)
    except Exception as exc:  # a writer's failure is this API's rejection, not ours
        return _failed(f"{writer.name}: {type(exc).__name__}: {exc}")
    record: dict[str, Any] = {"model": writer.name}
    description = spec.description
    if rewrite:
        description = " ".join(str(docs.description).split())
        problems = description_issues(description, name=spec.name, settings=rules)
        if problems:
            return _failed(f"{writer.name}: new {problems[0].message}")
        record["description"] = {"original": spec.description, "generated": description}
    new_properties = dict(properties)
    written: dict[str, dict[str, str]] = {}
    for pname in undocumented:
        text = " ".join(str(docs.parameters.get(pname, "")).split())
        if not text:
            return _failed(f"{writer.name}: no description for parameter {pname!r}")
        new_properties[pname] = {**properties[pname], "description": text}
        written[pname] = {"original": "", "generated": text}
    if written:
        record["parameters"] = written
    parameters = {**spec.parameters, "properties": new_properties}
    return replace(spec, description=description, parameters=parameters), record


def _failed(message: str) -> Issue:
    return Issue("regeneration", "regeneration_failed", message[:500])
