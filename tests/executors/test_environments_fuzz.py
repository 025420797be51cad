"""Hypothesis over the environments: any JSON arguments to any tool end in a result or a
known reason, never an exception, and a failed call leaves the state as it was."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executors.environments import AIRLINE, REASONS, RETAIL, Environment

_DOMAINS = {d.name: d for d in (RETAIL, AIRLINE)}
_ENVS = {name: Environment(d) for name, d in _DOMAINS.items()}

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_NAMES = [*sorted({t.name for d in _DOMAINS.values() for t in d.tools}), "nope"]


def _arguments(domain: str, tool: str) -> st.SearchStrategy[Any]:
    """Objects over the tool's own parameter names (so calls get past the unknown-key
    check), any JSON for a tool the domain does not have."""
    found = _DOMAINS[domain].tool(tool)
    keys = list(found.parameters["properties"]) if found else []
    if not keys:
        return _JSON
    return st.dictionaries(st.sampled_from(keys), _JSON, max_size=len(keys))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["retail", "airline"]), st.sampled_from(_NAMES))
def test_any_arguments_end_in_a_result_or_a_known_reason(
    data: st.DataObject, domain: str, tool: str
) -> None:
    env = _ENVS[domain]
    env.reset(1)
    before = env.state_digest()
    result = env.call(tool, data.draw(_arguments(domain, tool)))
    assert result.ok or result.reason in REASONS
    assert result.reason != "environment_error", result.message
    if not result.ok:
        assert env.state_digest() == before


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_as_an_id_is_a_value(text: str) -> None:
    env = _ENVS["retail"]
    env.reset(2)
    before = env.state_digest()
    for tool, key in (
        ("find_user_by_email", "email"),
        ("get_order_details", "order_id"),
        ("cancel_pending_order", "order_id"),
    ):
        arguments = (
            {key: text, "reason": "ordered by mistake"}
            if tool.startswith("cancel")
            else {key: text}
        )
        result = env.call(tool, arguments)
        assert result.reason in {"not_found", "invalid_arguments"}
    assert env.state_digest() == before
