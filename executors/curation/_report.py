"""The curation report: every input API's fate, counted the way the APIGen paper did.

:class:`CurationReport` holds one :class:`ApiRecord` per input item (an API that
converted, or an item that did not) and renders as JSON (:meth:`CurationReport.to_dict`,
the machine-readable record: renames for execution, regenerated texts beside the
originals) and Markdown (:meth:`CurationReport.to_markdown`, for review).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["PAPER", "ApiRecord", "CurationReport"]

PAPER: dict[str, int] = {"apis_in": 16_464, "apis_kept": 3_539, "categories_after": 21}
"""The APIGen paper's numbers for ToolBench/RapidAPI, for comparison."""


@dataclass(frozen=True, slots=True)
class ApiRecord:
    """One input item: ``kept`` (as ``kept_id`` in the curated library) or ``rejected``
    by ``rule`` with ``reason``.

    ``api`` is the item's id before curation (or the converter's document name when it did
    not convert). ``renames`` map new names to originals; ``regenerated`` holds the
    model's name and, per text, ``{"original", "generated"}``; ``tested`` says whether an
    example call was made.
    """

    api: str
    source: str
    status: Literal["kept", "rejected"]
    rule: str = ""
    reason: str = ""
    message: str = ""
    kept_id: str = ""
    category_from: str = ""
    category_to: str = ""
    tested: bool = False
    renames: tuple[dict[str, str], ...] = ()
    regenerated: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "api": self.api,
            "source": self.source,
            "status": self.status,
        }
        if self.status == "rejected":
            data.update(rule=self.rule, reason=self.reason, message=self.message)
        else:
            data.update(kept_id=self.kept_id, tested=self.tested)
        if self.category_from:
            data.update(category_from=self.category_from, category_to=self.category_to)
        if self.renames:
            data["renames"] = list(self.renames)
        if self.regenerated is not None:
            data["regenerated"] = self.regenerated
        return data


@dataclass(frozen=True, slots=True)
class CurationReport:
    """Counts in, kept, rejects per rule and reason, categories before and after."""

    sources: tuple[str, ...]
    records: tuple[ApiRecord, ...]
    taxonomy: str
    unmapped_categories: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def total_in(self) -> int:
        return len(self.records)

    @property
    def kept(self) -> tuple[ApiRecord, ...]:
        return tuple(r for r in self.records if r.status == "kept")

    def rejects(self) -> dict[str, dict[str, int]]:
        """``{rule: {reason: count}}``, largest first."""
        out: dict[str, Counter[str]] = {}
        for r in self.records:
            if r.status == "rejected":
                out.setdefault(r.rule, Counter())[r.reason] += 1
        return {rule: dict(c.most_common()) for rule, c in out.items()}

    def categories_before(self) -> dict[str, int]:
        c = Counter(r.category_from for r in self.records if r.category_from)
        return dict(sorted(c.items()))

    def categories_after(self) -> dict[str, int]:
        c = Counter(r.category_to for r in self.kept)
        return dict(sorted(c.items()))

    def categories_mapped(self) -> dict[str, int]:
        """Every input API's mapped category, kept or not: what the taxonomy does."""
        c = Counter(r.category_to for r in self.records if r.category_to)
        return dict(sorted(c.items()))

    def to_dict(self) -> dict[str, Any]:
        kept = self.kept
        return {
            "sources": list(self.sources),
            "apis_in": self.total_in,
            "apis_kept": len(kept),
            "apis_kept_untested": sum(not r.tested for r in kept),
            "apis_renamed": sum(bool(r.renames) for r in kept),
            "apis_regenerated": sum(r.regenerated is not None for r in kept),
            "rejects": self.rejects(),
            "taxonomy": self.taxonomy,
            "categories_before": self.categories_before(),
            "categories_after": self.categories_after(),
            "categories_mapped": self.categories_mapped(),
            "unmapped_categories": list(self.unmapped_categories),
            "paper": PAPER,
            "settings": self.settings,
            "apis": [r.to_dict() for r in self.records],
        }

    def to_markdown(self) -> str:
        kept = self.kept
        share = f"{len(kept) / self.total_in:.1%}" if self.total_in else "n/a"
        paper_share = PAPER["apis_kept"] / PAPER["apis_in"]
        before, after = self.categories_before(), self.categories_after()
        lines = [
            "# API curation report",
            "",
            "Sources: " + ", ".join(f"`{s}`" for s in self.sources),
            "",
            "| | this run | APIGen paper |",
            "|---|---:|---:|",
            f"| APIs in | {self.total_in} | {PAPER['apis_in']:,} |",
            f"| APIs kept | {len(kept)} ({share}) | {PAPER['apis_kept']:,} ({paper_share:.1%}) |",
            f"| categories (all inputs) | {len(before)} -> {len(self.categories_mapped())} "
            f"| 49 -> {PAPER['categories_after']} |",
            f"| categories (kept) | {len(after)} | {PAPER['categories_after']} |",
            "",
            f"Kept without a test call: {sum(not r.tested for r in kept)}; renamed: "
            f"{sum(bool(r.renames) for r in kept)}; documentation regenerated: "
            f"{sum(r.regenerated is not None for r in kept)}.",
            "",
            "## Rejected, per rule and reason",
            "",
            "| rule | reason | APIs |",
            "|---|---|---:|",
        ]
        for rule, reasons in self.rejects().items():
            lines.extend(f"| {rule} | `{reason}` | {n} |" for reason, n in reasons.items())
        lines += ["", f"## Categories (taxonomy `{self.taxonomy}`)", ""]
        lines += ["| after | APIs kept | from |", "|---|---:|---|"]
        sources: dict[str, set[str]] = {}
        for r in kept:
            sources.setdefault(r.category_to, set()).add(r.category_from)
        for category, n in after.items():
            lines.append(f"| {category} | {n} | {', '.join(sorted(sources[category]))} |")
        if self.unmapped_categories:
            lines += [
                "",
                "Unmapped source categories (sent to the fallback): "
                + ", ".join(f"`{c}`" for c in self.unmapped_categories),
            ]
        return "\n".join(lines) + "\n"

    def write(self, json_path: str | Path, markdown_path: str | Path) -> None:
        Path(json_path).write_text(
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        Path(markdown_path).write_text(self.to_markdown(), encoding="utf-8")
