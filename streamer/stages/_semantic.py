"""Semantic checker: ``exec-pass`` -> ``semantic-pass`` | ``rejects``.

Cheap rules run first; what passes them goes to the LLM judge(s).

Rule reason codes::

    error_result          a result looks like an error (an ``error`` key, "Error: ..." text)
    empty_result          a result is empty (null, "", [] or {})
    ungrounded_arguments  too many argument values are not stated in the query (in any
                          written form :mod:`._grounding` reads: "$200,000" states 200000,
                          "15%" states a rate of 0.15, "March 5, 2024" states 2024-03-05)
    missing_calls         the query makes more numbered requests than there are calls

Without a judge (``apigen check`` with the semantic stage and no ``--judge-*``), a rule's
finding of ungrounded values is a reject only with evidence against the calls
(:mod:`streamer.grounding._evidence`): the query states a value (a number, a quoted phrase,
a name) that no argument uses, or names no word of a called function. Without such
evidence the missing values may be knowledge the query relies on ("a deck of cards": 52,
4) as well as made up; the rules cannot tell, so the stage raises :class:`Unverified`
(reason ``ungrounded_arguments``) and ``apigen check`` reports the record ``unverified``:
not a pass, not a fail, for a judge to decide; with a judge, the judge decides such a pair
instead of the rule. This applies only when the stage is built with ``weigh_evidence=True``
(``apigen check``); the pipeline, which always has a judge, keeps APIGen's rule: ungrounded
values are rejected before any judge sees them.

Judge reason codes: ``judge_rejected`` (the verdict, or the quorum, says no) and
``judge_<reason>`` when the judge call failed for this request (``judge_bad_request``) or its
answer lacked a verdict (``judge_bad_response``).

Failures of the infrastructure are not verdicts on the pair. A judge endpoint outage (429s,
5xx, timeouts, connection errors beyond the client's retries) pauses that judge's calls until
it answers again (:class:`~streamer.llm._outage.EndpointGate`; the event stays unfinished and
uncommitted meanwhile). With ``pause_on_outage=False`` (``apigen check``), a pair the missing
verdicts leave undecided raises :class:`JudgeUnavailable` (``reason`` ``judge_timeout``,
``judge_server_error``, ...) instead of being rejected. A refused credential stops the stage:
:class:`~streamer.runtime.StageHalted` with reason ``judge_auth_error``, naming the endpoint.

Judging is batched: concurrent events are graded together, up to ``batch_size`` per call,
waiting at most ``batch_linger_s`` seconds to fill a batch. The first waiter of a batch leads
it (makes the call); the others wait for their verdicts, so no background task is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio

from topics import CallResult, ExecPass, Judgement, QueryStyle, SemanticPass, Topic

from ..grounding._evidence import evidence_against
from ..grounding._grounding import Mentions, groundable
from ..llm import ChatModel, Completion, LlmError
from ..llm._outage import EndpointGate
from ..prompts import FULL_JUDGING, JudgeItem, JudgePrompt
from ..runtime._stage import Output, StageHalted, make_reject, stage_version
from ._asking import ask_model

__all__ = [
    "JudgeUnavailable",
    "SemanticChecker",
    "SemanticRules",
    "Unverified",
    "Verdict",
    "rule_check",
]


class JudgeUnavailable(Exception):
    """No verdict: the judge endpoint was unavailable and the verdicts that came cannot
    decide the pair alone. ``reason`` is ``judge_<outage>`` (``judge_timeout``,
    ``judge_server_error``, ``judge_connection_error``, ``judge_rate_limited``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class Unverified(Exception):
    """No verdict: a rule found argument values the query does not state and nothing in the
    query speaks against the calls, and there is no judge to decide. ``reason`` is the
    rule's (``ungrounded_arguments``); ``message`` says which values."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


_ERROR_TEXT = re.compile(r"^\s*(error|exception|traceback|failed)\b", re.IGNORECASE)
_NUMBERED = re.compile(r"(?m)(?:^|\s)\(?(\d{1,2})[.)]\s+\S")


@dataclass(frozen=True, slots=True)
class SemanticRules:
    """Rule settings (part of the stage version).

    check_results: reject error-like and empty results.
    max_ungrounded: largest accepted fraction of groundable argument values (strings of two
      or more characters outside enums, and numbers) that the query does not state (see
      :mod:`streamer.grounding._grounding` for the forms that count); 1.0 disables the rule.
    check_request_count: reject when the query's numbered requests outnumber the calls.
    """

    check_results: bool = True
    max_ungrounded: float = 0.5
    check_request_count: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge's answer for one event. ``reason`` is set when there was no real verdict
    (the call failed, the answer lacked it); ``outage`` when that was the endpoint's outage."""

    passed: bool
    reasoning: str
    judge: str
    reason: str = ""
    outage: bool = False


def _result_problem(result: CallResult) -> tuple[str, str] | None:
    value = result.result
    if value is None or value == "" or value == [] or value == {}:
        return "empty_result", f"result is empty ({value!r})"
    if isinstance(value, dict):
        keys = {str(k).lower() for k in value}
        if keys & {"error", "errors", "exception"} or str(value.get("status", "")).lower() in {
            "error",
            "failed",
        }:
            return "error_result", f"result reports an error: {str(value)[:200]}"
    if isinstance(value, str) and _ERROR_TEXT.match(value):
        return "error_result", f"result reads as an error: {value[:200]}"
    return None


def rule_check(event: ExecPass, rules: SemanticRules) -> tuple[str, str] | None:
    """The first rule the event breaks, as ``(reason, message)``; None if it passes."""
    if event.sample.style is QueryStyle.IRRELEVANCE or not event.calls:
        return None
    if rules.check_results:
        for call, result in zip(event.calls, event.results, strict=False):
            problem = _result_problem(result)
            if problem:
                return problem[0], f"{call.name}: {problem[1]}"
    if rules.max_ungrounded < 1.0:
        schemas = {t.name: t.parameters.get("properties", {}) for t in event.sample.tools}
        mentions = Mentions(event.query)
        values: list[tuple[Any, str]] = []
        for call in event.calls:
            props = schemas.get(call.name, {})
            for name, value in call.arguments.items():
                values += groundable(value, props.get(name, {}), name)
        missing = [v for v, hint in values if not mentions.grounds(v, hint)]
        if values and len(missing) / len(values) > rules.max_ungrounded:
            shown = ", ".join(repr(v) for v in missing[:5])
            return (
                "ungrounded_arguments",
                f"{len(missing)} of {len(values)} argument values are not in the query: {shown}",
            )
    if rules.check_request_count:
        numbers = {int(n) for n in _NUMBERED.findall(event.query)}
        requests = 0
        while requests + 1 in numbers:  # the run 1, 2, 3...: "scored 89. Could" is no request
            requests += 1
        requests = requests if requests >= 2 else 0
        if requests > len(event.calls):
            return "missing_calls", f"the query makes {requests} requests, {len(event.calls)} calls"
    return None


class _Slot:
    __slots__ = ("halted", "item", "verdict", "wake")

    def __init__(self, item: JudgeItem) -> None:
        self.item = item
        self.verdict: Verdict | None = None
        self.halted: StageHalted | None = None
        self.wake = anyio.Event()


class _JudgeBatcher:
    """Groups concurrent judge requests into calls of up to ``size`` items."""

    def __init__(
        self,
        model: ChatModel,
        size: int,
        linger_s: float,
        max_tokens: int,
        prompt: JudgePrompt = FULL_JUDGING,
        temperature: float = 0.0,
        gate: EndpointGate | None = None,
    ) -> None:
        self.model = model
        self.gate = gate
        self.prompt = prompt
        self.temperature = temperature
        self.size = size
        self.linger_s = linger_s
        self.max_tokens = max_tokens
        self._pending: list[_Slot] = []
        self._full = anyio.Event()
        self.calls = 0

    async def judge(self, item: JudgeItem) -> Verdict:
        slot = _Slot(item)
        self._pending.append(slot)
        if len(self._pending) >= self.size:
            self._full.set()
        while slot.verdict is None:
            if self._pending and self._pending[0] is slot:
                await self._lead()
            else:
                await slot.wake.wait()
                slot.wake = anyio.Event()
            if slot.halted is not None:
                raise StageHalted(slot.halted.reason, slot.halted.message)
        return slot.verdict

    async def _lead(self) -> None:
        if len(self._pending) < self.size:
            with anyio.move_on_after(self.linger_s):
                await self._full.wait()
        batch, self._pending = self._pending[: self.size], self._pending[self.size :]
        self._full = anyio.Event()
        if len(self._pending) >= self.size:
            self._full.set()
        if self._pending:
            self._pending[0].wake.set()  # promote the next leader
        try:
            verdicts = await self._call([s.item for s in batch])
        except StageHalted as exc:
            for slot in batch:
                slot.halted = exc
            verdicts = [Verdict(False, exc.message, self.model.name, exc.reason)] * len(batch)
            raise
        except BaseException:
            verdicts = [Verdict(False, "judge call cancelled", self.model.name, "judge_cancelled")]
            verdicts *= len(batch)
            raise
        finally:
            for slot, verdict in zip(batch, verdicts, strict=True):
                slot.verdict = verdict
                slot.wake.set()

    async def _call(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        name = self.model.name
        self.calls += 1

        async def ask() -> Completion:
            return await self.model.complete_json(
                self.prompt.render(items),
                self.prompt.schema(len(items)),
                temperature=self.temperature,
                max_tokens=self.max_tokens * len(items),
            )

        try:
            completion = await ask_model(ask, self.gate, model=name, part="judge", prefix="judge_")
        except LlmError as exc:
            reason = f"judge_{exc.reason}"
            return [Verdict(False, exc.message, name, reason, exc.outage)] * len(items)
        by_index: dict[int, Verdict] = {}
        parsed = completion.parsed
        raw = parsed.get("verdicts") if isinstance(parsed, dict) else None
        for v in raw if isinstance(raw, list) else []:
            if isinstance(v, dict) and isinstance(v.get("index"), int):
                by_index.setdefault(
                    v["index"],
                    Verdict(v.get("passed") is True, str(v.get("reasoning", ""))[:2000], name),
                )
        missing = Verdict(False, "the judge gave no verdict for this sample", name)
        return [
            by_index.get(i, Verdict(missing.passed, missing.reasoning, name, "judge_bad_response"))
            for i in range(len(items))
        ]


class SemanticChecker:
    """The semantic stage: rules, then one judge or an ensemble with a quorum.

    judges: the judge models (by default not the generator's); empty means rules only.
    quorum: passing verdicts needed (default: a majority of the judges).
    batch_size: events graded per judge call at most.
    batch_linger_s: seconds a judge call waits to fill its batch.
    max_tokens_per_verdict: completion tokens allowed per graded event.
    temperature: sampling temperature of judge calls.
    prompt: the judge prompt (the compact one suits small local models).
    pause_on_outage: wait out a judge endpoint's outage (True, the pipeline) or raise
      :class:`JudgeUnavailable` for a pair it leaves undecided (False, ``apigen check``).
    weigh_evidence: reject ungrounded values only when the query gives evidence against
      the calls; without evidence the judges decide, or, with none, the stage raises
      :class:`Unverified` (``apigen check``). False (the pipeline) keeps APIGen's reject.
    config: further settings that decide verdicts (e.g. the judges' models and endpoints,
      see :mod:`streamer.pipeline._versions`), hashed into the version; never secrets.

    Every setting but ``batch_linger_s`` and ``pause_on_outage`` (timing only) is part of
    the version (``weigh_evidence`` only when set, so the pipeline's versions stay as they
    were).
    """

    name = "semantic"
    input_topic = Topic.EXEC_PASS
    input_type = ExecPass

    def __init__(
        self,
        judges: Sequence[ChatModel] = (),
        *,
        rules: SemanticRules | None = None,
        quorum: int | None = None,
        batch_size: int = 8,
        batch_linger_s: float = 0.02,
        max_tokens_per_verdict: int = 160,
        temperature: float = 0.0,
        prompt: JudgePrompt = FULL_JUDGING,
        version_name: str = "semantic-v1",
        config: object = None,
        pause_on_outage: bool = True,
        weigh_evidence: bool = False,
    ) -> None:
        self.rules = rules or SemanticRules()
        self.weigh_evidence = weigh_evidence
        self.quorum = quorum if quorum is not None else len(judges) // 2 + 1
        if judges and not 1 <= self.quorum <= len(judges):
            raise ValueError(f"quorum {self.quorum} is not within 1..{len(judges)} judges")
        self._batchers = [
            _JudgeBatcher(
                j,
                batch_size,
                batch_linger_s,
                max_tokens_per_verdict,
                prompt,
                temperature,
                EndpointGate(j.name) if pause_on_outage else None,
            )
            for j in judges
        ]
        self.version = stage_version(
            version_name,
            {
                "rules": self.rules,
                "judges": [j.name for j in judges],
                "quorum": self.quorum,
                "prompt": prompt.template.stage_version,
                "batch_size": batch_size,
                "max_tokens_per_verdict": max_tokens_per_verdict,
                "temperature": temperature,
                "config": config,
                **({"weigh_evidence": True} if weigh_evidence else {}),
            },
        )

    async def process(self, event: ExecPass) -> list[Output]:
        broken = rule_check(event, self.rules)
        if broken:
            reason, message = broken
            if reason == "ungrounded_arguments" and self.weigh_evidence:
                against = evidence_against(event.query, event.calls, event.sample.tools)
                if against is None and not self._batchers:
                    raise Unverified(reason, f"not decidable without a judge: {message}")
                if against is None:  # the judges decide; the rules after this one still apply
                    broken = rule_check(event, replace(self.rules, max_ungrounded=1.0))
                else:
                    broken = (reason, f"{message}; {against}")
        if broken:
            return [self._reject(event, *broken)]
        verdicts: list[Verdict] = []
        if self._batchers:
            item = JudgeItem(query=event.query, calls=event.calls, results=event.results)
            verdicts = [Verdict(False, "", "")] * len(self._batchers)

            async def ask(i: int) -> None:
                verdicts[i] = await self._batchers[i].judge(item)

            try:
                async with anyio.create_task_group() as tg:
                    for i in range(len(self._batchers)):
                        tg.start_soon(ask, i)
            except BaseExceptionGroup as group:  # a refused key stops the stage, unwrapped
                halted, _ = group.split(StageHalted)
                leaf: BaseException | None = halted
                while isinstance(leaf, BaseExceptionGroup):
                    leaf = leaf.exceptions[0]
                if leaf is None:
                    raise
                raise leaf from None
            passed = sum(v.passed for v in verdicts)
            missing = [v for v in verdicts if v.outage]
            if passed < self.quorum <= passed + len(missing):  # the absent could decide it
                raise JudgeUnavailable(missing[0].reason, missing[0].reasoning)
            if passed < self.quorum:
                failed = next((v for v in verdicts if v.reason), None)
                if failed is not None and passed == 0 and all(v.reason for v in verdicts):
                    return [self._reject(event, failed.reason, failed.reasoning)]
                why = "; ".join(f"{v.judge}: {v.reasoning}" for v in verdicts if not v.passed)
                return [self._reject(event, "judge_rejected", why)]
        judgement = Judgement(
            passed=True,
            reasoning=" | ".join(v.reasoning for v in verdicts if v.passed) or "rules passed",
            judges=tuple(v.judge for v in verdicts),
        )
        verified = SemanticPass(
            meta=event.meta.child(self.name, self.version),
            sample=event.sample,
            model=event.model,
            pair_index=event.pair_index,
            query=event.query,
            calls=event.calls,
            results=event.results,
            judgement=judgement,
        )
        return [Output(Topic.SEMANTIC_PASS, verified)]

    def _reject(self, event: ExecPass, reason: str, message: str) -> Output:
        return make_reject(
            self.name,
            self.version,
            reason=reason,
            message=message,
            event=event,
            input_topic=self.input_topic,
        )
