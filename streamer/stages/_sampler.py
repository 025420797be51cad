"""Sampler -> ``samples``: which APIs, examples, template and style go into each task.

- :class:`ApiSampler` balances over categories (the least-used category first) and, for the
  multiple styles, draws related APIs (same category, else same source) plus distractors.
- :class:`SeedPool` holds verified examples per style, bounded; it grows from
  ``semantic-pass`` (the APIGen feedback loop) and evicts the oldest first, so prompts keep
  seeing recent, varied data.
- :class:`StyleController` keeps a target mix of styles by drawing the style whose count of
  unique verified records lags its target share the most (ties broken by the seeded RNG).
  A verified pair whose query repeats an earlier one (the dataset store's exact-duplicate
  key) does not count, so a style whose queries repeat cannot reach its share with a
  handful of unique records.
- :class:`Sampler` combines them, and draws each task's generator template among its
  style's (a seeded stream of its own). A task's id depends only on the sampler's version
  (config, seed, templates), the API set and the task's index, so a restarted sampler
  re-issues the same ids whatever its seed pool holds; with the same seed, APIs and pool it
  yields the same tasks. The run id is not part of it (two runs of one config make the
  same data); it is in each task's meta, which is what tells runs apart.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson

from executors import ApiSpec
from topics import (
    EventMeta,
    Example,
    GenerationSettings,
    QueryStyle,
    Sample,
    SemanticPass,
    Tool,
    Topic,
    derive_id,
)

from ..dataset import normalize_query
from ..prompts import GENERATOR_TEMPLATES, STYLE_TEMPLATES, PromptTemplate
from ..runtime._stage import Output, stage_version

__all__ = [
    "DEFAULT_API_RANGES",
    "DEFAULT_EXAMPLE_RANGE",
    "DEFAULT_MIX",
    "DEFAULT_POOL_CAPACITY",
    "MAX_EXAMPLE_BYTES",
    "REPEAT_CREDIT",
    "ApiSampler",
    "Sampler",
    "SamplerConfig",
    "SeedFeedback",
    "SeedPool",
    "StyleController",
    "tool_from_spec",
]

DEFAULT_MIX: dict[QueryStyle, float] = {
    QueryStyle.SIMPLE: 0.3,
    QueryStyle.MULTIPLE: 0.25,
    QueryStyle.PARALLEL: 0.2,
    QueryStyle.PARALLEL_MULTIPLE: 0.15,
    QueryStyle.IRRELEVANCE: 0.1,
}

DEFAULT_API_RANGES: dict[QueryStyle, tuple[int, int]] = {
    QueryStyle.SIMPLE: (1, 1),
    QueryStyle.MULTIPLE: (2, 4),
    QueryStyle.PARALLEL: (1, 2),
    QueryStyle.PARALLEL_MULTIPLE: (2, 4),
    QueryStyle.IRRELEVANCE: (1, 3),
}

DEFAULT_EXAMPLE_RANGE = (0, 3)
DEFAULT_POOL_CAPACITY = 200


def _default_templates() -> dict[QueryStyle, tuple[PromptTemplate, ...]]:
    return {
        style: tuple(GENERATOR_TEMPLATES[i] for i in ids) for style, ids in STYLE_TEMPLATES.items()
    }


def tool_from_spec(spec: ApiSpec) -> Tool:
    """The part of a spec offered to the LLM (with its id for the executor). The spec's
    example argument sets, if any, go into the parameters schema as its JSON Schema
    ``examples``: valid calls the model may take values from."""
    parameters = spec.parameters
    if spec.examples:
        parameters = {**parameters, "examples": [dict(e) for e in spec.examples]}
    return Tool(
        name=spec.name,
        description=spec.description,
        parameters=parameters,
        category=spec.category,
        api_id=spec.id,
        api_version=spec.version,
    )


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    """What the sampler draws (all of it hashed into the sampler's version).

    style_mix: relative weight per style of the unique verified records to steer towards
      (normalized to shares; styles at 0 or left out are not asked for).
    api_ranges: inclusive (min, max) number of APIs offered per task, per style.
    example_range: inclusive (min, max) seed examples per task.
    pool_capacity: seed examples kept per style.
    templates: per style, the generator templates one is drawn from per task (default:
      every full template, :data:`~streamer.prompts.STYLE_TEMPLATES`); a style left out
      gets the first template of the first style that has any.
    settings: generation settings copied into every task.
    seed: RNG seed; equal seeds and inputs give equal task sequences.
    """

    style_mix: Mapping[QueryStyle, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    api_ranges: Mapping[QueryStyle, tuple[int, int]] = field(
        default_factory=lambda: dict(DEFAULT_API_RANGES)
    )
    example_range: tuple[int, int] = DEFAULT_EXAMPLE_RANGE
    pool_capacity: int = DEFAULT_POOL_CAPACITY
    templates: Mapping[QueryStyle, tuple[PromptTemplate, ...]] = field(
        default_factory=_default_templates
    )
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    seed: int = 0


class ApiSampler:
    """Draws APIs balanced over categories."""

    def __init__(self, apis: Sequence[Tool], rng: random.Random) -> None:
        if not apis:
            raise ValueError("the API sampler needs at least one API")
        self._rng = rng
        self._by_category: dict[str, list[Tool]] = {}
        for tool in apis:
            self._by_category.setdefault(tool.category or "general", []).append(tool)
        self._by_source: dict[str, list[Tool]] = {}
        for tool in apis:
            self._by_source.setdefault(tool.api_id.rsplit(":", 1)[0], []).append(tool)
        self._used: Counter[str] = Counter()
        self._all = list(apis)

    @property
    def categories(self) -> list[str]:
        return sorted(self._by_category)

    def _next_category(self) -> str:
        least = min(self._used[c] for c in self._by_category)
        candidates = sorted(c for c in self._by_category if self._used[c] == least)
        category = self._rng.choice(candidates)
        self._used[category] += 1
        return category

    def draw(self, style: QueryStyle, count: int) -> tuple[Tool, ...]:
        """``count`` APIs with distinct names: an anchor from the least-used category, related
        APIs (same category, else same source) for the multiple styles, then distractors."""
        rng = self._rng
        category = self._next_category()
        anchor = rng.choice(self._by_category[category])
        n_related = 0
        if style is QueryStyle.PARALLEL_MULTIPLE:
            n_related = count - 1
        elif style is QueryStyle.MULTIPLE:
            n_related = count - 2 if count >= 3 else count - 1
        related = [t for t in self._by_category[category] if t.name != anchor.name]
        if len(related) < n_related:
            source = anchor.api_id.rsplit(":", 1)[0]
            related += [t for t in self._by_source.get(source, []) if t.name != anchor.name]
        rng.shuffle(related)
        chosen = [anchor]
        names = {anchor.name}
        for tool in related:
            if len(chosen) > n_related:
                break
            if tool.name not in names:
                chosen.append(tool)
                names.add(tool.name)
        for _ in range(8 * count):
            if len(chosen) >= min(count, len(self._all)):
                break
            tool = rng.choice(self._all)
            if tool.name not in names:
                chosen.append(tool)
                names.add(tool.name)
        rng.shuffle(chosen)
        return tuple(chosen)


MAX_EXAMPLE_BYTES = 16_000
"""Largest seed example (its JSON, in bytes) the pool keeps: a verified pair may carry a
huge argument its schema did not bound, and every later prompt (and task event) would
carry it too. Real verified pairs are well under 2 KB."""


def _offerable(example: Example) -> bool:
    try:
        return len(orjson.dumps(example)) <= MAX_EXAMPLE_BYTES
    except TypeError:  # not expressible as JSON: no prompt could show it
        return False


class SeedPool:
    """Verified examples per style, at most ``capacity`` each, oldest evicted first;
    examples larger than :data:`MAX_EXAMPLE_BYTES` are not kept."""

    def __init__(self, capacity: int = 200, initial: Sequence[tuple[QueryStyle, Example]] = ()):
        if capacity < 1:
            raise ValueError(f"seed pool capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._pools: dict[QueryStyle, deque[Example]] = {}
        self._seen: set[str] = set()
        self.added = 0
        for style, example in initial:
            self.add(style, example)

    def add(self, style: QueryStyle, example: Example) -> bool:
        """Add an example; False if one with the same source id was added before, or if it
        is too large to offer."""
        key = example.source_id or example.query
        if key in self._seen or not _offerable(example):
            return False
        self._seen.add(key)
        pool = self._pools.setdefault(style, deque(maxlen=self.capacity))
        pool.append(example)
        self.added += 1
        return True

    def draw(self, style: QueryStyle, k: int, rng: random.Random) -> tuple[Example, ...]:
        """Up to ``k`` examples of ``style`` (other styles' examples if it has none)."""
        pool = self._pools.get(style) or next((p for p in self._pools.values() if p), None)
        if not pool or k <= 0:
            return ()
        return tuple(rng.sample(list(pool), min(k, len(pool))))

    def __len__(self) -> int:
        return sum(len(p) for p in self._pools.values())

    def __repr__(self) -> str:
        sizes = {str(s): len(p) for s, p in self._pools.items()}
        return f"<SeedPool size={len(self)} added={self.added} per_style={sizes}>"


REPEAT_CREDIT = 0.25
"""How far a verified pair whose query repeats an earlier one moves its style towards its
share, in records. Not 0: a style that can only repeat itself (the simulated endpoint has
five irrelevant queries) would otherwise be asked for forever and starve the others; at a
quarter it gets at most four times its share of the work."""


class StyleController:
    """Chooses the style whose count of unique verified records lags its target share the
    most; :meth:`record_verified` is told each verified pair and counts it once per
    distinct query (the dataset store's exact-duplicate key), so repeats do not count."""

    def __init__(self, mix: Mapping[QueryStyle, float], rng: random.Random) -> None:
        total = sum(w for w in mix.values() if w > 0)
        if total <= 0:
            raise ValueError("the style mix needs at least one style with a positive share")
        self.targets = {s: w / total for s, w in mix.items() if w > 0}
        self.verified: Counter[QueryStyle] = Counter()
        self.issued: Counter[QueryStyle] = Counter()
        self.repeated: Counter[QueryStyle] = Counter()
        self._rng = rng
        # 8-byte digests, not the queries: a controller that runs on keeps its memory small.
        self._queries: set[bytes] = set()

    def choose(self) -> QueryStyle:
        # Until verified counts exist, issued counts steer the mix.
        counts: Mapping[QueryStyle, float] = self.issued
        if sum(self.verified.values()) >= 20:
            counts = {s: self.verified[s] + REPEAT_CREDIT * self.repeated[s] for s in self.targets}
        total = sum(counts.values()) + 1
        deficits = {s: share * total - counts[s] for s, share in self.targets.items()}
        best = max(deficits.values())
        candidates = sorted(s for s, d in deficits.items() if d >= best - 1e-9)
        style = self._rng.choice(candidates)
        self.issued[style] += 1
        return style

    def record_verified(self, style: QueryStyle, query: str | None = None) -> bool:
        """Count a verified pair of ``style``; False (not counted) when ``query`` repeats
        one counted before. Without a query every call counts."""
        if query is not None:
            key = hashlib.blake2b(normalize_query(query).encode(), digest_size=8).digest()
            if key in self._queries:
                self.repeated[style] += 1
                return False
            self._queries.add(key)
        self.verified[style] += 1
        return True

    def __repr__(self) -> str:
        verified = {str(s): n for s, n in self.verified.items()}
        repeated = {str(s): n for s, n in self.repeated.items()}
        return f"<StyleController verified={verified} repeated={repeated}>"


class Sampler:
    """Produces :class:`Sample` tasks."""

    name = "sampler"

    def __init__(
        self,
        apis: Sequence[Tool],
        config: SamplerConfig | None = None,
        *,
        pool: SeedPool | None = None,
        run_id: str = "",
    ) -> None:
        """``run_id``: the run the tasks belong to (in every task's meta; empty: no run)."""
        self.config = config or SamplerConfig()
        self.run_id = run_id
        self._rng = random.Random(self.config.seed)
        # Examples and templates come from streams of their own, so the pool's contents
        # and the number of templates never shift the styles and APIs of later tasks.
        self._example_rng = random.Random(f"{self.config.seed}:examples")
        self._template_rng = random.Random(f"{self.config.seed}:templates")
        fallback = next((t for t in self.config.templates.values() if t), None)
        if fallback is None:
            raise ValueError("the sampler needs at least one generator template")
        self._fallback_template = fallback[:1]
        self.apis = ApiSampler(apis, self._rng)
        self._api_set = derive_id(*sorted(t.api_id or t.name for t in apis))
        self.pool = pool or SeedPool(self.config.pool_capacity)
        self.controller = StyleController(self.config.style_mix, self._rng)
        self.version = stage_version("sampler-v1", self.config)
        self.issued = 0

    def task_id(self, index: int) -> str:
        """The id of the ``index``-th task (from 1) of this sampler."""
        return derive_id("sample", self.version, self._api_set, str(index))

    def next_sample(self) -> Sample:
        cfg = self.config
        style = self.controller.choose()
        lo, hi = cfg.api_ranges.get(style, (1, 1))
        tools = self.apis.draw(style, self._rng.randint(lo, max(lo, hi)))
        k = self._example_rng.randint(*cfg.example_range)
        examples = self.pool.draw(style, k, self._example_rng)
        templates = cfg.templates.get(style) or self._fallback_template
        template = templates[0]
        if len(templates) > 1:
            template = self._template_rng.choice(templates)
        self.issued += 1
        sid = self.task_id(self.issued)
        meta = EventMeta(
            id=sid,
            parent_id=None,
            sample_id=sid,
            stage=self.name,
            stage_version=self.version,
            versions=((self.name, self.version),),
            run_id=self.run_id,
        )
        return Sample(
            meta=meta,
            style=style,
            tools=tools,
            examples=examples,
            template_id=template.id,
            settings=cfg.settings,
            template_version=template.stage_version,
        )

    def learn(self, event: SemanticPass) -> None:
        """Feed a verified pair of this run back: it counts for the mix and becomes a seed
        example, unless its query repeats one seen before."""
        if self.run_id and event.meta.run_id != self.run_id:
            return  # another run's pair: its dataset is not this run's
        style = event.sample.style
        if not self.controller.record_verified(style, event.query):
            return
        self.pool.add(
            style,
            Example(
                query=event.query,
                answers=event.calls,
                tools=tuple(t.name for t in event.sample.tools),
                source_id=event.meta.id,
            ),
        )


class SeedFeedback:
    """Stage over ``semantic-pass`` that feeds verified pairs back into a :class:`Sampler`."""

    name = "seed-feedback"
    version = "seed-feedback-v1"
    input_topic = Topic.SEMANTIC_PASS
    input_type = SemanticPass

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    async def process(self, event: SemanticPass) -> list[Output]:
        self.sampler.learn(event)
        return []
