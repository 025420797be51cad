"""Category consolidation: map source categories onto a smaller, configured taxonomy.

The taxonomy is a reviewable TOML file (the default, ``taxonomy.toml`` in this package,
has 21 categories close to the APIGen paper's)::

    fallback = "Other"
    [categories]
    Finance = ["finance", "financial", "payments"]

Source categories are compared normalized (lower case, runs of other characters as
``_``). Curated specs carry the mapped category in :attr:`ApiSpec.category`, which is what
the API sampler balances on.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ._reasons import CurationError

__all__ = ["DEFAULT_TAXONOMY", "Taxonomy", "normalize_category"]

DEFAULT_TAXONOMY = "taxonomy.toml"
"""The package resource holding the default taxonomy."""

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_category(name: str) -> str:
    """``"Health and Fitness"`` -> ``"health_and_fitness"``."""
    return _NON_ALNUM.sub("_", name.lower()).strip("_")


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Target ``categories``, the ``fallback`` for unlisted ones, and the alias map."""

    categories: tuple[str, ...]
    fallback: str
    aliases: Mapping[str, str]
    where: str = DEFAULT_TAXONOMY

    def map(self, category: str) -> tuple[str, bool]:
        """``(target category, True)``, or ``(fallback, False)`` when it is not listed."""
        target = self.aliases.get(normalize_category(category))
        return (target, True) if target is not None else (self.fallback, False)

    @classmethod
    def default(cls) -> Taxonomy:
        text = resources.files(__package__).joinpath(DEFAULT_TAXONOMY).read_text("utf-8")
        return cls.from_toml(text, where=f"executors.curation/{DEFAULT_TAXONOMY}")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """The taxonomy file at ``path``, or the default one."""
        if path is None:
            return cls.default()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CurationError(str(path), "<file>", f"cannot read: {exc.strerror}") from None
        return cls.from_toml(text, where=str(path))

    @classmethod
    def from_toml(cls, text: str, *, where: str) -> Taxonomy:
        """Parse and check a taxonomy; errors name ``where`` and the field."""
        try:
            data: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CurationError(where, "<root>", f"not TOML: {exc}") from None
        unknown = set(data) - {"fallback", "categories"}
        if unknown:
            raise CurationError(where, sorted(unknown)[0], "unknown key")
        fallback = data.get("fallback", "Other")
        if not isinstance(fallback, str) or not fallback.strip():
            raise CurationError(where, "fallback", "must be a non-empty string")
        table = data.get("categories")
        if not isinstance(table, dict) or not table:
            raise CurationError(where, "categories", "must be a non-empty table")
        aliases: dict[str, str] = {}
        for target, sources in table.items():
            field = f"categories.{target}"
            if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
                raise CurationError(where, field, "must be a list of source category names")
            for source in [target, *sources]:
                key = normalize_category(source)
                if aliases.get(key, target) != target:
                    raise CurationError(
                        where, field, f"{source!r} is already mapped to {aliases[key]!r}"
                    )
                aliases[key] = target
        categories = tuple(table)
        if fallback not in categories:
            categories = (*categories, fallback)
        return cls(categories, fallback, aliases, where)
