"""The metric scope: which stage's work a call belongs to, for the ``stage``/``version`` labels.

The executors and the LLM client are built once and used by whichever stage calls them, so
their metrics cannot bind a stage when they are made. Instead the stage runner enters
:func:`metric_scope` around a stage's run; the scope is a context variable, so every task
the runner starts (and every thread started through ``anyio.to_thread``) inherits it, and
two stages in one process keep apart. :class:`ScopedCounter` and :class:`ScopedHistogram`
resolve the child of the current scope at each increment (one dictionary lookup).

Outside any stage the scope is ``("none", "none")`` (:data:`NO_STAGE`). Scopes are bounded:
stage names and versions come from the configuration, and at most :data:`MAX_SCOPES`
distinct pairs are admitted per process; later ones are recorded as ``("other", "other")``.

Usage::

    calls = ScopedCounter(family, "rest")        # family labels: stage, version, kind
    with metric_scope("execution", "execution-v1-3f2a"):
        calls.inc()                              # stage="execution", version="execution-v1-3f2a"
    calls.inc()                                  # stage="none", version="none"
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from prometheus_client import Counter, Histogram

__all__ = [
    "MAX_SCOPES",
    "NO_STAGE",
    "SCOPE_LABELS",
    "ScopeGroup",
    "ScopedCounter",
    "ScopedCounters",
    "ScopedHistogram",
    "current_scope",
    "metric_scope",
]

SCOPE_LABELS: tuple[str, str] = ("stage", "version")
"""The label names a scoped family starts with."""

NO_STAGE: tuple[str, str] = ("none", "none")
"""The scope of work done outside any stage."""

MAX_SCOPES = 64
"""Distinct (stage, version) pairs admitted per process; more are ``("other", "other")``."""

_OTHER = ("other", "other")
_scope: ContextVar[tuple[str, str]] = ContextVar("apigen_metric_scope", default=NO_STAGE)
_admitted: set[tuple[str, str]] = {NO_STAGE}
_admitted_lock = threading.Lock()


def _admit(scope: tuple[str, str]) -> tuple[str, str]:
    if scope in _admitted:
        return scope
    with _admitted_lock:
        if len(_admitted) < MAX_SCOPES:
            _admitted.add(scope)
            return scope
    return _OTHER


@contextmanager
def metric_scope(stage: str, version: str) -> Iterator[tuple[str, str]]:
    """Count executor and LLM metrics under ``stage``/``version`` while the block runs
    (in this task and the tasks and threads it starts); yields the admitted scope."""
    scope = _admit((stage or "unknown", version or "unknown"))
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> tuple[str, str]:
    """The (stage, version) that metrics recorded here are labelled with."""
    return _scope.get()


class ScopeGroup:
    """Scoped metrics bound together: the first use of any member in a scope binds every
    member's child there, so a dashboard sees the others at 0 from then on (as when the
    children were bound up front). :meth:`enter` binds a scope ahead of use."""

    __slots__ = ("_lock", "_members", "_scopes")

    def __init__(self) -> None:
        self._members: list[_Bindable] = []
        self._scopes: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add(self, member: _Bindable) -> None:
        with self._lock:
            self._members.append(member)
            scopes = tuple(self._scopes)
        for scope in scopes:
            member.bind(scope)

    def enter(self, scope: tuple[str, str] | None = None) -> None:
        """Bind every member in ``scope`` (default: the current one)."""
        scope = scope or _scope.get()
        if scope in self._scopes:
            return
        with self._lock:
            self._scopes.add(scope)
            members = tuple(self._members)
        for member in members:
            member.bind(scope)

    def __repr__(self) -> str:
        return f"<ScopeGroup members={len(self._members)} scopes={len(self._scopes)}>"


class _Bindable:
    __slots__ = ()

    def bind(self, scope: tuple[str, str]) -> object:
        raise NotImplementedError


_M = TypeVar("_M", Counter, Histogram)


class _Scoped(_Bindable, Generic[_M]):
    __slots__ = ("_children", "_family", "_group", "_labels")
    _family: _M
    _children: dict[tuple[str, str], _M]

    def __init__(self, family: _M, *labels: str, group: ScopeGroup | None = None) -> None:
        self._family = family
        self._labels = labels
        self._children = {}
        self._group = group
        if group is not None:
            group.add(self)

    def bind(self, scope: tuple[str, str]) -> _M:
        found = self._children.get(scope)
        if found is None:
            found = self._children[scope] = self._family.labels(*scope, *self._labels)
        return found

    def child(self) -> _M:
        """The child of the current scope (bound on its first use in that scope)."""
        scope = _scope.get()
        found = self._children.get(scope)
        if found is None:
            if self._group is not None:
                self._group.enter(scope)
            found = self.bind(scope)
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._labels} scopes={len(self._children)}>"


class ScopedCounter(_Scoped[Counter]):
    """A counter child per scope; ``family``'s labels are ``stage, version, *labels``."""

    __slots__ = ()

    def inc(self, amount: float = 1.0) -> None:
        self.child().inc(amount)


class ScopedHistogram(_Scoped[Histogram]):
    """A histogram child per scope; ``family``'s labels are ``stage, version, *labels``."""

    __slots__ = ()

    def observe(self, amount: float) -> None:
        self.child().observe(amount)


class ScopedCounters(_Bindable):
    """Counters of ``family`` for each of ``values`` of its last label, all bound together
    when a scope first uses one, so a dashboard sees the others at 0 from then on.

    ``family``'s labels are ``stage, version, *prefix, <last>``.
    """

    __slots__ = ("_family", "_group", "_prefix", "_rows", "values")

    def __init__(
        self,
        family: Counter,
        prefix: Sequence[str],
        values: Sequence[str],
        *,
        group: ScopeGroup | None = None,
    ) -> None:
        self._family = family
        self._prefix = tuple(prefix)
        self.values = tuple(values)
        self._rows: dict[tuple[str, str], dict[str, Counter]] = {}
        self._group = group
        if group is not None:
            group.add(self)

    def get(self, value: str) -> Counter | None:
        """The child of ``value`` in the current scope (None for a value not listed)."""
        return self._row().get(value)

    def __getitem__(self, value: str) -> Counter:
        """The child of ``value`` in the current scope (KeyError for a value not listed)."""
        return self._row()[value]

    def bind(self, scope: tuple[str, str]) -> dict[str, Counter]:
        row = self._rows.get(scope)
        if row is None:
            labels = (*scope, *self._prefix)
            row = self._rows[scope] = {v: self._family.labels(*labels, v) for v in self.values}
        return row

    def _row(self) -> dict[str, Counter]:
        scope = _scope.get()
        row = self._rows.get(scope)
        if row is None:
            if self._group is not None:
                self._group.enter(scope)
            row = self.bind(scope)
        return row
