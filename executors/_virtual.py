"""Virtual APIs: answers for the APIs that cannot be called, made up by a simulator model.

Most APIs a user brings cannot be called from their machine (ToolBench's RapidAPI tools
need a key and the internet; datasets name tools nobody has). As StableToolBench does, a
:class:`VirtualExecutor` answers their calls instead, in this order:

1. **Arguments checked** against the API's parameter schema with the format checker's rules
   (no unknown or missing arguments, types as written, the schema's keywords); a call that
   breaks them fails ``invalid_arguments`` the way a real API would refuse it, and nothing
   is simulated.
2. **The answer store** (:class:`~executors._virtual_cache.VirtualCache`): a call answered
   before, in this process or another one, in this run or an earlier one, gets the same
   answer again (``cached=True``).
3. **The simulator**: a chat model (any :class:`Simulator`: an OpenAI-compatible endpoint's
   client, the local model, the simulated endpoint in tests) prompted with the API's
   documentation, parameter schema and documented response
   (:mod:`executors._virtual_prompt`). Its reply must be JSON ``{"ok": true, "response":
   ...}`` whose response fits the documented shape where there is one, or ``{"ok": false,
   "error": "..."}`` (the simulator is told to answer so when the call makes no sense: the
   call then fails ``virtual_api_error``). An unusable reply is asked again, saying what
   was wrong, up to ``max_attempts`` times; then the call fails ``virtual_bad_response``.
   A simulator that raises or exceeds ``timeout_s`` fails the call ``simulator_error``
   (never stored: the next call tries again).

Every outcome is ``simulated=True``, so events, dataset records and the dataset card can
tell virtual executions from real ones. Concurrent calls with the same key wait for one
simulation (per process; across processes the store's first writer wins).

Rate limits, retries of transient errors and cost accounting are the simulator client's
(an :class:`~streamer.llm.LlmClient` has the generator's); this executor adds metrics of
its own (:class:`VirtualMetrics`) and live counts in :attr:`VirtualExecutor.stats`.

Usage::

    virtual = VirtualExecutor(llm_client, cache=VirtualCache("out/virtual-apis.db"))
    executor = VirtualFallback(dispatcher, virtual)   # real where bound, virtual elsewhere
    outcome = await executor.execute(spec, {"city": "Lisbon"})
    outcome.simulated   # True for specs without a binding
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Protocol, Self

import anyio
import orjson
from jsonschema.exceptions import best_match

from ._errors import InvalidSchema
from ._outcome import Executor, Outcome
from ._redact import default_redactor
from ._schema import SchemaValidator, check_value, compile_schema, format_path
from ._spec import ApiSpec
from ._virtual_cache import VirtualAnswer, VirtualCache, virtual_key
from ._virtual_metrics import VirtualMetrics, VirtualStats, virtual_metrics
from ._virtual_prompt import (
    PROMPT_VERSION,
    REPLY_SCHEMA,
    VirtualMessage,
    reply_problem,
    response_schema,
    response_template,
    virtual_messages,
)

__all__ = [
    "STORED_FAILURES",
    "Simulator",
    "SimulatorCompletion",
    "VirtualExecutor",
    "VirtualFallback",
    "argument_problem",
]

logger = logging.getLogger(__name__)

STORED_FAILURES: frozenset[str] = frozenset({"virtual_api_error", "virtual_bad_response"})
"""Failures kept in the answer store by default: what the simulator said about a call is
that call's answer, so a replay reproduces the verdict. ``simulator_error`` never is."""


class SimulatorUsage(Protocol):
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...


class SimulatorCompletion(Protocol):
    """What a simulator returns: ``parsed`` is the reply's JSON value (None when it was
    not JSON); ``cost_usd`` its price in US dollars (0 when unknown)."""

    @property
    def parsed(self) -> Any: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def usage(self) -> SimulatorUsage: ...


class Simulator(Protocol):
    """A chat model asked for JSON; :class:`streamer.llm.ChatModel` is one. It may raise
    anything on failure (the call then fails ``simulator_error``)."""

    @property
    def name(self) -> str: ...

    async def complete_json(
        self,
        messages: Sequence[VirtualMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> SimulatorCompletion: ...


def argument_problem(spec: ApiSpec, arguments: Any) -> str:
    """Why ``arguments`` is not a valid call of ``spec`` under the format checker's rules
    ("" when it is one)."""
    if not isinstance(arguments, dict):
        return f"arguments must be an object, not {type(arguments).__name__}"
    try:
        validator = compile_schema(spec.parameters, where=spec.name, close_objects=True)
    except InvalidSchema as exc:
        return f"the parameter schema cannot be used: {exc}"
    if (problem := check_value(arguments)) is not None:
        return f"{problem.path or 'arguments'}: {problem.message}"
    unknown = sorted(set(arguments) - set(spec.parameters.get("properties", {})))
    if unknown:
        return f"unknown argument(s) {unknown}"
    missing = [r for r in spec.required if r not in arguments]
    if missing:
        return f"missing required argument(s) {missing}"
    try:
        errors = validator.errors(arguments, where=spec.name)
    except InvalidSchema as exc:
        return f"the parameter schema cannot be used: {exc}"
    first = best_match(errors)
    if first is None:
        return ""
    return f"{format_path(first.absolute_path) or 'arguments'}: {first.message}"


class _Flight:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.users = 0


class VirtualExecutor:
    """An :class:`~executors.Executor` for APIs without a binding; see the module docstring.

    simulator: the model that writes the answers.
    cache: the answer store (default: in memory, this process only).
    max_attempts: replies asked per call before ``virtual_bad_response`` (at least 1).
    temperature: sampling temperature of the simulator; max_tokens caps its reply in tokens.
    max_result_bytes: largest response accepted, in bytes of JSON (a bigger one is an
      unusable reply).
    timeout_s: seconds one simulator request may take, its client's retries included.
    store_failures: failure reasons kept in the store (:data:`STORED_FAILURES`).
    """

    def __init__(
        self,
        simulator: Simulator,
        *,
        cache: VirtualCache | None = None,
        max_attempts: int = 3,
        temperature: float = 0.2,
        max_tokens: int = 1024,
        max_result_bytes: int = 65_536,
        timeout_s: float = 120.0,
        store_failures: Collection[str] = STORED_FAILURES,
        metrics: VirtualMetrics | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if timeout_s <= 0 or max_result_bytes < 1:
            raise ValueError("timeout_s and max_result_bytes must be positive")
        self.simulator = simulator
        self.cache = cache if cache is not None else VirtualCache()
        self.max_attempts = max_attempts
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_result_bytes = max_result_bytes
        self.timeout_s = timeout_s
        self.store_failures = frozenset(store_failures)
        self.stats = VirtualStats()
        self._metrics = metrics or virtual_metrics()
        self._flights: dict[str, _Flight] = {}
        self._shapes: dict[str, SchemaValidator | None] = {}

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<VirtualExecutor simulator={self.simulator.name!r} calls={s.calls} "
            f"hits={s.cache_hits} simulated={s.simulated} in_flight={len(self._flights)} "
            f"requests={s.simulator_requests} bad_replies={s.bad_replies} "
            f"errors={s.simulator_errors} cost_usd={s.cost_usd:.4f} cache={self.cache!r}>"
        )

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        """Answer one call (never raises; every outcome is ``simulated``)."""
        started = time.perf_counter()
        self.stats.calls += 1
        answer, cached = await self._answer(spec, arguments)
        outcome = Outcome(
            ok=answer.ok,
            result=answer.result,
            reason=answer.reason,
            message=answer.message,
            latency_s=0.0 if cached else time.perf_counter() - started,
            cached=cached,
            simulated=True,
        )
        self._metrics.calls["ok" if outcome.ok else outcome.reason].inc()
        return outcome

    async def _answer(self, spec: ApiSpec, arguments: dict[str, Any]) -> tuple[VirtualAnswer, bool]:
        problem = argument_problem(spec, arguments)
        key = virtual_key(spec, arguments) if not problem else None
        if problem or key is None:
            self.stats.invalid_arguments += 1
            why = problem or "arguments are not JSON data"
            return VirtualAnswer(False, None, "invalid_arguments", f"virtual API: {why}"), False
        async with self._flight(key):
            stored = self.cache.get(key)
            if stored is not None:
                self.stats.cache_hits += 1
                self._metrics.cache_hit.inc()
                return stored, True
            self._metrics.cache_miss.inc()
            answer = await self._simulate(spec, arguments, key)
            self.stats.simulated += 1
            if not answer.ok and answer.reason not in self.store_failures:
                return answer, False
            kept = self.cache.put_first(key, spec.id, answer)
            # Another process answered the same call first: its answer is the answer.
            return kept, kept.encode() != answer.encode()

    @asynccontextmanager
    async def _flight(self, key: str) -> AsyncIterator[None]:
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = _Flight()
        flight.users += 1
        try:
            async with flight.lock:
                yield
        finally:
            flight.users -= 1
            if flight.users == 0:
                del self._flights[key]

    async def _simulate(self, spec: ApiSpec, arguments: dict[str, Any], key: str) -> VirtualAnswer:
        shape = self._shape(spec)
        feedback = ""
        for _ in range(self.max_attempts):
            reply, error = await self._request(
                virtual_messages(spec, arguments, feedback=feedback), key
            )
            if error:
                return self._made(False, reason="simulator_error", message=error)
            feedback = self._problem(reply, shape)
            if not feedback:
                if reply["ok"]:
                    return self._made(True, result=reply["response"])
                message = f"virtual API {spec.name}: {reply['error'].strip()[:500]}"
                return self._made(False, reason="virtual_api_error", message=message)
            self.stats.bad_replies += 1
            self._metrics.bad_reply.inc()
        message = (
            f"virtual API {spec.name}: {self.max_attempts} simulator replies were unusable; "
            f"the last: {feedback}"
        )
        return self._made(False, reason="virtual_bad_response", message=message)

    def _made(
        self, ok: bool, *, result: Any = None, reason: str = "", message: str = ""
    ) -> VirtualAnswer:
        return VirtualAnswer(
            ok, result, reason, message, self.simulator.name, PROMPT_VERSION, time.time()
        )

    async def _request(self, messages: list[VirtualMessage], key: str) -> tuple[Any, str]:
        """One simulator request: (the reply's JSON, "") or (None, why it failed)."""
        self.stats.simulator_requests += 1
        self._metrics.simulator_requests.inc()
        started = time.perf_counter()
        try:
            with anyio.fail_after(self.timeout_s):
                completion = await self.simulator.complete_json(
                    messages,
                    REPLY_SCHEMA,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    seed=int(key[:8], 16),
                )
            parsed = completion.parsed
            self.stats.cost_usd += float(completion.cost_usd)
            self.stats.prompt_tokens += int(completion.usage.prompt_tokens)
            self.stats.completion_tokens += int(completion.usage.completion_tokens)
        except Exception as exc:  # a simulator fails in its own ways; the call fails with it
            self.stats.simulator_errors += 1
            self._metrics.simulator_error.inc()
            if isinstance(exc, TimeoutError):
                why = f"no reply within {self.timeout_s:g} s"
            else:
                reason = getattr(exc, "reason", "")
                why = f"{type(exc).__name__}{f' ({reason})' if reason else ''}: {exc}"
            name = self.simulator.name
            return None, default_redactor().redact(f"virtual API simulator {name}: {why}")[:600]
        finally:
            self._metrics.simulator_duration.observe(time.perf_counter() - started)
        return parsed, ""

    def _problem(self, reply: Any, shape: SchemaValidator | None) -> str:
        """What makes ``reply`` unusable ("" when it is usable)."""
        if problem := reply_problem(reply):
            return problem
        if not reply["ok"]:
            return ""
        response = reply["response"]
        if (value := check_value(response)) is not None:
            return f"the response is not usable JSON: {value.path or 'response'}: {value.message}"
        size = len(orjson.dumps(response))
        if size > self.max_result_bytes:
            return f"the response is {size} bytes, over the {self.max_result_bytes}-byte cap"
        if shape is not None:
            try:
                errors = shape.errors(response, where="response")
            except InvalidSchema:
                return ""
            if errors:
                # Up to three, in path order, so the next reply can mend them all at once.
                found = sorted(
                    f"{format_path(e.absolute_path) or 'response'}: {e.message}" for e in errors
                )
                more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
                listed = "; ".join(found[:3])
                return f"the response does not fit the documented template: {listed}{more}"
        return ""

    def _shape(self, spec: ApiSpec) -> SchemaValidator | None:
        """The compiled documented shape of ``spec``'s responses (None: not documented)."""
        if spec.returns in self._shapes:
            return self._shapes[spec.returns]
        schema = response_schema(response_template(spec))
        shape = None
        if schema is not None:
            try:
                shape = compile_schema(schema, where=spec.id, field="returns")
            except InvalidSchema as exc:
                logger.warning(
                    "virtual API %s: its response template is not checked: %s", spec.id, exc
                )
        if len(self._shapes) >= 4096:
            self._shapes.clear()
        self._shapes[spec.returns] = shape
        return shape

    async def aclose(self) -> None:
        """Close the answer store."""
        self.cache.close()


class VirtualFallback:
    """Real execution where it is possible, virtual elsewhere: a spec without a binding, or
    one ``inner`` has no executor for (``no_binding``), goes to ``virtual``.

    Entering it enters ``inner`` when that is an async context manager (a
    :class:`~executors.Dispatcher`); closing it closes both.
    """

    def __init__(self, inner: Executor, virtual: VirtualExecutor) -> None:
        self.inner = inner
        self.virtual = virtual
        self._entered: AbstractAsyncContextManager[object] | None = None

    def __repr__(self) -> str:
        return f"<VirtualFallback inner={self.inner!r} virtual={self.virtual!r}>"

    async def __aenter__(self) -> Self:
        inner: object = self.inner
        if isinstance(inner, AbstractAsyncContextManager):
            self._entered = inner
            await inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entered, self._entered = self._entered, None
        try:
            if entered is not None:
                await entered.__aexit__(exc_type, exc, tb)
        finally:
            await self.aclose()

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        if spec.binding is None:
            return await self.virtual.execute(spec, arguments)
        outcome = await self.inner.execute(spec, arguments)
        if not outcome.ok and outcome.reason == "no_binding":
            return await self.virtual.execute(spec, arguments)
        return outcome

    async def aclose(self) -> None:
        await self.inner.aclose()
        await self.virtual.aclose()
