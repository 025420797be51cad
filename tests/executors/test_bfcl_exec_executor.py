"""The offline BFCL exec gold calls, run through the isolated Python executor.

Calls are parsed as data (``ast`` literals only) and passed to the executor as JSON values by
keyword, exactly as the pipeline's execution stage does.
"""

from __future__ import annotations

import inspect
from typing import Any

import anyio
import orjson
import pytest

from executors import ApiSpec, Outcome, PythonExecutor
from executors.builtin import BFCL_WEB_ONLY, MODULES, builtin_specs

from .test_bfcl_exec import BUILTINS, DATA, GOLD, GOLD_LABEL_NOISE, parse_call

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared BFCL data not present")


def _as_keywords(name: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    params = list(inspect.signature(BUILTINS[name]).parameters)
    merged = dict(zip(params, args, strict=False)) | kwargs
    return dict(orjson.loads(orjson.dumps(merged)))  # tuples become lists: JSON data only


@pytest.mark.anyio
async def test_offline_gold_calls_execute_through_the_python_executor() -> None:
    specs: dict[str, ApiSpec] = {s.name: s for s in builtin_specs()}
    cases = [(cid, call) for cid, call in GOLD if parse_call(call)[0] not in BFCL_WEB_ONLY]
    assert len(cases) == 269
    outcomes: dict[tuple[str, str], Outcome] = {}

    async with PythonExecutor(workers=2, timeout_s=10, allowed_modules=MODULES) as executor:

        async def run(case: tuple[str, str]) -> None:
            name, args, kwargs = parse_call(case[1])
            outcomes[case] = await executor.execute(specs[name], _as_keywords(name, args, kwargs))

        async with anyio.create_task_group() as tg:
            for case in cases:
                tg.start_soon(run, case)

    failed = {
        case: f"{o.reason}: {o.message}"
        for case, o in outcomes.items()
        if not o.ok and case not in GOLD_LABEL_NOISE
    }
    assert not failed
    for case in GOLD_LABEL_NOISE:
        assert outcomes[case].reason == "function_error"
    assert sum(o.ok for o in outcomes.values()) == 268
