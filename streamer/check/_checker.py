"""Check items through the pipeline's own stages (``apigen check``).

Each item becomes the events the stages consume, and the stages' own code decides:
:class:`~streamer.stages.FormatChecker` parses and checks the answer against the record's
tools and style, :class:`~streamer.stages.ExecutionChecker` runs the calls through the
executors, and :class:`~streamer.stages.SemanticChecker` applies its rules and, if
configured, a judge. The first stage that rejects decides the record's verdict, stage and
reason code.

Stages: ``format`` always runs (the later stages need its parsed calls); ``execution`` and
``semantic`` are optional. Execution applies when every call's tool binds to a library
function by name and signature (:mod:`streamer.check._binding`). When one does not, the
record is ``skip`` with reason ``not_executable`` if its source says the calls are meant to
run (BFCL exec sets) or execution was required; otherwise execution does not apply to it
and is left out of its ``stages``. Either way the summary counts why (``not_run``).
Without execution, the semantic stage sees no results (its result rules have nothing to
check; its other rules still apply).

With virtual APIs (``CheckSettings.virtual_apis``, ``apigen check --virtual-apis``) a call
whose tool binds to nothing runs on a virtual API made from the record's own tool (a
simulator model answers from its documentation, see :mod:`executors._virtual`) instead of
not running; the record's ``executed`` is then ``virtual`` (any call virtual) rather than
``real``, and the summary counts real, virtual and not executable records.

Verdicts: ``pass`` (every stage that ran passed), ``fail`` (a stage rejected, or the record
could not be read), ``skip`` (it could not be checked as asked; never counted as a pass),
``not_judged`` (the judge endpoint was unavailable — 5xx, timeouts, connection errors, 429s
— beyond the client's retries, so the semantic stage could not decide; stage ``semantic``,
reason ``judge_<outage>``; never a pass or a fail: the record was not wrong),
``unverified`` (no judge, and the semantic rules found argument values the query does not
state with nothing in the query against the calls, so only a judge could decide: stage
``semantic``, reason ``ungrounded_arguments``; see :mod:`streamer.stages._semantic`; never a
pass or a fail; with a judge, the judge decides such a record).

Trajectories: a conversation that names an environment (``domain``/``env_seed`` fields, or
``--environment``) is also one item, ``<id>#trajectory``, after its per-turn ones: its
calls replayed in order on a fresh built-in environment, each result compared with the
recorded output (:mod:`streamer.check._trajectory`; stage ``trajectory``, reasons
:data:`~streamer.check.TRAJECTORY_REASONS`). It runs in a worker thread (SQLite blocks).

Failures of the infrastructure are not verdicts on the data: a judge endpoint that refuses
the credentials stops the check at once (:class:`~streamer.runtime.StageHalted` with reason
``judge_auth_error``, raised from :func:`run_check`, naming the endpoint, never the key).

Reason codes are the stages' own (``unknown_function``, ``type_mismatch``,
``function_error``, ``ungrounded_arguments``, ``judge_rejected``, ...), the readers'
(:data:`~streamer.check.READ_REASONS`, stage None), plus::

    stage_error      checking or reading it raised unexpectedly (a bug; names the exception)
    invalid_call     a gold call string is not a call with literal arguments (stage format)
    not_executable   a call's function cannot run here (verdict skip, stage execution)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import orjson

from executors import (
    ApiLibrary,
    ApiSpec,
    Dispatcher,
    Executor,
    NetworkPolicy,
    PythonBinding,
    PythonExecutor,
    RestExecutor,
    VirtualFallback,
)
from executors.builtin import BFCL_WEB_ONLY
from topics import EventMeta, ExecPass, FormatPass, Generation, Reject, Sample, Tool, derive_id

from ..decontamination import ContaminationIndex
from ..pipeline._build import open_model as _open_model
from ..pipeline._model_config import ModelConfig
from ..pipeline._virtual_apis import open_virtual_apis
from ..pipeline._virtual_config import VirtualApisConfig
from ..runtime._stage import Output, StageHalted
from ..stages import (
    ExecutionChecker,
    FormatChecker,
    FormatError,
    FormatRules,
    SemanticChecker,
    SemanticRules,
)
from ..stages._decontaminate import CONTAMINATED
from ..stages._semantic import JudgeUnavailable, Unverified
from ._binding import Binder
from ._case import CheckCase, InvalidRecord, Item, ReadSettings, TrajectoryCase
from ._observed import Agreement, compare_observed
from ._trajectory import replay

__all__ = [
    "CHECK_STAGES",
    "TRAJECTORY_STAGE",
    "CheckResult",
    "CheckSettings",
    "CheckSummary",
    "Checker",
    "open_checker",
    "run_check",
]

CHECK_STAGES = ("format", "execution", "semantic")

TRAJECTORY_STAGE = "trajectory"
"""The stage of ``#trajectory`` verdicts: a conversation replayed on an environment."""

Verdict = Literal["pass", "fail", "skip", "not_judged", "unverified"]
_VERSION = "check-v1"
_MESSAGE_CHARS = 600


def _one_line(text: str) -> str:
    """Messages quote data: one line, bounded, so a hostile record cannot flood output."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MESSAGE_CHARS else flat[: _MESSAGE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """What ``apigen check`` runs.

    stages: the stages to run, a subset of :data:`CHECK_STAGES` that includes ``format``.
    require_execution: a record whose calls cannot run is ``skip``/``not_executable``
      even when its source does not say it is executable.
    reading: how records are read: limits on one record's bytes, depth, tools and calls,
      and whether an empty answer means "no call wanted" (:class:`ReadSettings`).
    format_rules: the format stage's rules; the default accepts queries up to 32,768
      characters (the pipeline's 4,000 bounds what a generator may write, not what a
      dataset may hold) and as many calls per answer as the reading limit.
    semantic_rules: the semantic stage's rules.
    judge: the LLM judge of the semantic stage (None: rules only).
    unverified: a record whose argument values the rules cannot ground, and whose query
      states nothing against its calls, is ``unverified`` without a judge and the judge's
      to decide with one (True), rather than failed as ``ungrounded_arguments`` (False:
      the pipeline's APIGen rule).
    concurrency: records checked at once.
    python_workers: worker processes of the Python executor (shared by every record).
    exec_timeout_s: seconds one call may run.
    allow_hosts: ``HOST[:PORT]`` entries REST calls may reach at loopback or private
      addresses (hosts named by the dataset's specs are refused there otherwise).
    virtual_apis: run calls of tools that bind to nothing on virtual APIs (off by default;
      the simulator defaults to the judge, else the local model; the answer store to memory).
    decontaminate: benchmark items a record must not repeat (None: not checked); a record
      that does fails the semantic stage as ``contaminated`` before anything runs it.

    Example::

        CheckSettings(stages=("format",), reading=ReadSettings(allow_no_call=True))
    """

    stages: tuple[str, ...] = ("format", "execution")
    require_execution: bool = False
    reading: ReadSettings = field(default_factory=ReadSettings)
    format_rules: FormatRules = field(
        default_factory=lambda: FormatRules(max_query_chars=32768, max_calls=64)
    )
    semantic_rules: SemanticRules = field(default_factory=SemanticRules)
    judge: ModelConfig | None = None
    unverified: bool = True
    concurrency: int = 32
    python_workers: int = 2
    exec_timeout_s: float = 10.0
    allow_hosts: tuple[str, ...] = ()
    virtual_apis: VirtualApisConfig = field(default_factory=VirtualApisConfig)
    decontaminate: ContaminationIndex | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.stages) - set(CHECK_STAGES))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; choose from {list(CHECK_STAGES)}")
        if "format" not in self.stages:
            raise ValueError("the format stage always runs: later stages need its parsed calls")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One record's verdict; ``stage`` and ``reason`` say where it failed or was skipped.

    not_run: when execution was asked for but the record's calls were not run, why (a
    cause from :data:`~streamer.check.NOT_EXECUTABLE_CAUSES`; ``message`` says more).
    observed: when the calls ran and the record shows their outputs, whether the results
    ``agrees`` or ``differs`` (:mod:`streamer.check._observed`; never changes the verdict).
    executed: with virtual APIs on, when the calls ran: ``real`` (every one on a library
    function) or ``virtual`` (some answered by a virtual API).
    """

    id: str
    verdict: Verdict
    stage: str | None = None
    reason: str | None = None
    message: str = ""
    where: str = ""
    stages: tuple[str, ...] = ()
    not_run: str = ""
    observed: Agreement = ""
    executed: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON line; ``not_run`` and ``observed`` only where they apply."""
        out: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict,
            "stage": self.stage,
            "reason": self.reason,
            "message": self.message,
            "where": self.where,
            "stages": list(self.stages),
        }
        if self.not_run:
            out["not_run"] = self.not_run
        if self.observed:
            out["observed"] = self.observed
        if self.executed:
            out["executed"] = self.executed
        return out


@dataclass(slots=True)
class CheckSummary:
    """Counts per verdict, per (verdict, stage, reason), per cause of calls not run, of
    executed results that agree or differ with the outputs the records show, and per
    verdict of the conversations replayed as trajectories (``#trajectory`` results, also
    counted among the records)."""

    verdicts: Counter[str] = field(default_factory=Counter)
    trajectories: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str | None, str | None]] = field(default_factory=Counter)
    not_run: Counter[str] = field(default_factory=Counter)
    observed: Counter[str] = field(default_factory=Counter)
    executed: Counter[str] = field(default_factory=Counter)

    def add(self, result: CheckResult) -> None:
        self.verdicts[result.verdict] += 1
        if TRAJECTORY_STAGE in result.stages:
            self.trajectories[result.verdict] += 1
        if result.verdict != "pass":
            self.reasons[(result.verdict, result.stage, result.reason)] += 1
        if result.not_run:
            self.not_run[result.not_run] += 1
        if result.observed:
            self.observed[result.observed] += 1
        if result.executed:
            self.executed[result.executed] += 1

    @property
    def records(self) -> int:
        return sum(self.verdicts.values())

    def rows(self) -> list[tuple[str, str | None, str | None, int]]:
        """``(verdict, stage, reason, count)``, failures first, then by stage and reason."""
        return sorted(
            ((v, s, r, n) for (v, s, r), n in self.reasons.items()),
            key=lambda row: (row[0] != "fail", row[1] or "", row[2] or ""),
        )

    def to_json(self) -> dict[str, Any]:
        """Counts; ``unverified``, ``not_run`` (cause -> records whose calls were not
        run) and ``trajectories`` (replays by verdict) when any."""
        out: dict[str, Any] = {
            "records": self.records,
            "pass": self.verdicts["pass"],
            "fail": self.verdicts["fail"],
            "skip": self.verdicts["skip"],
            "not_judged": self.verdicts["not_judged"],
            **({"unverified": n} if (n := self.verdicts["unverified"]) else {}),
            "by_reason": [
                {"verdict": v, "stage": s, "reason": r, "count": n} for v, s, r, n in self.rows()
            ],
        }
        if self.not_run:
            out["not_run"] = dict(sorted(self.not_run.items()))
        if self.trajectories:
            out["trajectories"] = {v: self.trajectories[v] for v in ("pass", "fail", "skip")}
        if self.observed:
            out["observed"] = dict(sorted(self.observed.items()))
        if self.executed:
            out["executions"] = {
                "real": self.executed["real"],
                "virtual": self.executed["virtual"],
                "not_executable": sum(self.not_run.values()),
            }
        return out


def _first(outputs: Sequence[Output]) -> Any:
    return outputs[0].event


class Checker:
    """Runs one item through the selected stages (safe to call concurrently)."""

    def __init__(
        self,
        settings: CheckSettings,
        *,
        library: ApiLibrary | None = None,
        executor: Any = None,
        judge: Any = None,
        virtual: bool = False,
    ) -> None:
        self.settings = settings
        self.format = FormatChecker(settings.format_rules)
        self.binder = Binder(library or ApiLibrary())
        self.virtual = virtual and executor is not None
        resolve = self._resolve_or_virtual if self.virtual else self.binder.resolve
        self.execution = ExecutionChecker(executor, resolve) if executor else None
        self.semantic = SemanticChecker(
            [judge] if judge is not None else [],
            rules=settings.semantic_rules,
            pause_on_outage=False,  # a check reports what it could not judge, then ends
            weigh_evidence=settings.unverified,
        )

    def __repr__(self) -> str:
        return f"<Checker stages={self.settings.stages} {self.binder!r}>"

    async def check(self, item: Item) -> CheckResult:
        if isinstance(item, InvalidRecord):
            message = _one_line(f"{item.where}: {item.message}")
            return CheckResult(item.id, "fail", None, item.reason, message, item.where)
        if isinstance(item, TrajectoryCase):
            return await self._trajectory(item)
        ran: list[str] = ["format"]
        cause, why, executed = "", "", ""
        agreement: Agreement = ""

        def result(verdict: Verdict, stage: str | None = None, exc: Any = None) -> CheckResult:
            reason, message = (exc.reason, exc.message) if exc is not None else (None, why)
            message = _one_line(message)
            return CheckResult(
                item.id, verdict, stage, reason, message, item.where, tuple(ran), cause, agreement,
                executed,
            )  # fmt: skip

        passed = await self._format(item)
        if isinstance(passed, FormatError | Reject):
            return result("fail", "format", passed)
        index = self.settings.decontaminate
        calls = [(c.name, c.arguments) for c in passed.calls]
        if index is not None and (match := index.match(passed.query, calls)) is not None:
            ran.append("semantic")  # where the pipeline decides it, before any execution
            return result("fail", "semantic", FormatError(CONTAMINATED, match.message()))
        event: ExecPass | None = None
        if "execution" in self.settings.stages and passed.calls:
            cause, why = self._not_executable(item, passed)
            virtual = bool(cause) and self.virtual
            if virtual:  # what binds to nothing runs on a virtual API instead
                cause, why = "", ""
            required = item.execution == "required" or self.settings.require_execution
            if cause and required:
                ran.append("execution")
                return result("skip", "execution", FormatError("not_executable", why))
            if not cause and self.execution is not None:
                ran.append("execution")
                if self.virtual:  # said only then: the output stays as it was without
                    executed = "virtual" if virtual else "real"
                out = _first(await self.execution.process(passed))
                if isinstance(out, Reject):
                    return result("fail", "execution", out)
                event = out
                if not virtual:  # made-up results say nothing of the recorded ones
                    observed = compare_observed([r.result for r in out.results], item.observed)
                    agreement, why = observed
        if "semantic" in self.settings.stages:
            ran.append("semantic")
            if event is None:
                event = ExecPass(
                    meta=passed.meta.child("execution", "not-run"),
                    sample=passed.sample,
                    model=passed.model,
                    pair_index=passed.pair_index,
                    query=passed.query,
                    calls=passed.calls,
                    results=(),
                )
            try:
                out = _first(await self.semantic.process(event))
            except JudgeUnavailable as exc:
                return result("not_judged", "semantic", exc)
            except Unverified as exc:
                return result("unverified", "semantic", exc)
            if isinstance(out, Reject):
                return result("fail", "semantic", out)
        return result("pass")

    async def _trajectory(self, item: TrajectoryCase) -> CheckResult:
        """The conversation replayed on its environment, in a worker thread (SQLite)."""
        outcome = await anyio.to_thread.run_sync(replay, item)
        stage = None if outcome.verdict == "pass" else TRAJECTORY_STAGE
        return CheckResult(
            item.id, outcome.verdict, stage, outcome.reason or None, _one_line(outcome.message),
            item.where, (TRAJECTORY_STAGE,),
        )  # fmt: skip

    def _resolve_or_virtual(self, tool: Tool) -> ApiSpec:
        """The library function ``tool`` binds to, else a virtual API made from it."""
        spec = self.binder.resolve(tool)
        if spec is not None:
            return spec
        return ApiSpec(
            name=tool.name,
            description=tool.description,
            parameters=tool.parameters,
            category=tool.category or "general",
            source="dataset",
        )

    def _not_executable(self, item: CheckCase, passed: FormatPass) -> tuple[str, str]:
        """(cause, why) the calls cannot run; ``("", "")`` when they can."""
        if item.execution == "none":
            return (
                "not_implemented",
                "the source documents these functions, not implements them",
            )
        tools = {t.name: t for t in passed.sample.tools}
        causes: dict[str, str] = {}
        for name in dict.fromkeys(c.name for c in passed.calls):
            binding = self.binder.bind(tools[name])
            if binding.spec is not None:
                continue
            if name in BFCL_WEB_ONLY and binding.cause == "no_function":
                causes.setdefault("web_api", f"{name}: {BFCL_WEB_ONLY[name]}")
            else:
                causes.setdefault(binding.cause, binding.why)
        if not causes:
            return "", ""
        return next(iter(causes)), "; ".join(causes.values())

    async def _format(self, item: CheckCase) -> FormatPass | Reject | FormatError:
        if isinstance(item.answers, FormatError):
            return item.answers
        try:
            raw = orjson.dumps({"query": item.query, "answers": item.answers}).decode()
        except orjson.JSONEncodeError as exc:
            return FormatError("invalid_json", f"answers are not JSON data: {exc}")
        sid = derive_id("check", item.where, item.id)
        meta = EventMeta(sid, None, sid, "check", _VERSION)
        sample = Sample(meta=meta, style=item.style, tools=item.tools)
        generation = Generation(
            meta=meta.child("dataset", _VERSION), sample=sample, model="dataset", raw=raw
        )
        out = _first(await self.format.process(generation))
        assert isinstance(out, FormatPass | Reject)
        return out


@asynccontextmanager
async def open_checker(
    settings: CheckSettings, library: ApiLibrary | None = None
) -> AsyncIterator[Checker]:
    """A :class:`Checker` with its executors (one shared pool of Python workers) and judge."""
    async with AsyncExitStack() as stack:
        executor: Executor | None = None
        virtual = None
        if "execution" in settings.stages:
            library = library if library is not None else ApiLibrary.builtin()
            modules = {s.binding.module for s in library if isinstance(s.binding, PythonBinding)}
            python = PythonExecutor(
                workers=settings.python_workers,
                timeout_s=settings.exec_timeout_s,
                allowed_modules=modules,
            )
            executor = await stack.enter_async_context(
                Dispatcher(
                    python=python,
                    rest=RestExecutor(policy=NetworkPolicy.from_hosts(settings.allow_hosts)),
                )
            )
            virtual = await open_virtual_apis(
                settings.virtual_apis,
                out=None,
                generators=(settings.judge,) if settings.judge is not None else (),
                stack=stack,
                open_model=_open_model,
            )
            if virtual is not None:
                executor = VirtualFallback(executor, virtual)
        judge = None
        if "semantic" in settings.stages and settings.judge is not None:
            judge = await stack.enter_async_context(_open_model(settings.judge, "judge", 0))
        yield Checker(
            settings, library=library, executor=executor, judge=judge, virtual=virtual is not None
        )


async def run_check(
    checker: Checker, items: Iterable[Item], emit: Callable[[CheckResult], None]
) -> CheckSummary:
    """Check every item, ``settings.concurrency`` at a time, emitting results in input order.

    Raises (in an exception group) :class:`~streamer.runtime.StageHalted` when the judge
    endpoint refuses the credentials; the results emitted until then stand."""
    summary = CheckSummary()
    done: dict[int, CheckResult] = {}
    next_out = 0
    slots = anyio.Semaphore(max(1, checker.settings.concurrency))

    def flush() -> None:
        nonlocal next_out
        while next_out in done:
            result = done.pop(next_out)
            summary.add(result)
            emit(result)
            next_out += 1

    async def one(index: int, item: Item) -> None:
        try:
            done[index] = await checker.check(item)
        except StageHalted:  # every other record would fail alike: stop the check
            raise
        except Exception as exc:  # a bug must cost one record, not the whole check
            where = item.where
            message = _one_line(f"{where}: {type(exc).__name__}: {exc}")
            done[index] = CheckResult(item.id, "fail", None, "stage_error", message, where)
        finally:
            slots.release()
        flush()

    async with anyio.create_task_group() as tg:
        for index, item in enumerate(items):
            await slots.acquire()
            tg.start_soon(one, index, item)
    flush()
    return summary
