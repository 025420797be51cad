"""The redactor: every registered secret, in the forms servers echo it back in, becomes
``[REDACTED]`` in text, bytes, JSON values and log records; nothing else changes."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from html import escape
from urllib.parse import quote, quote_plus

import pytest

from executors import REDACTED, Redactor, default_redactor
from executors._redact import MIN_SECRET_CHARS, is_secret_name


def _key() -> str:
    # '+', '/' and '=' make the percent-encoded, JSON and base64 forms differ from the raw one
    return f"sk-test+{secrets.token_hex(8)}/{secrets.token_hex(8)}="


def _forms(key: str) -> list[str]:
    raw = key.encode()
    return [
        key,
        f"Bearer {key}",
        quote(key, safe=""),
        quote_plus(key),
        json.dumps(key)[1:-1],
        escape(key),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


@pytest.mark.parametrize("form", range(8))
def test_every_echo_form_is_redacted_inside_longer_text(form: int) -> None:
    key = _key()
    redactor = Redactor([key])
    echoed = _forms(key)[form]
    text = f'{{"error": "invalid key {echoed}; see https://x.example/?k={echoed}&a=1"}}'
    cleaned = redactor.redact(text)
    assert echoed not in cleaned and key not in cleaned
    assert cleaned.count(REDACTED) == 2
    assert cleaned.startswith('{"error": "invalid key ') and cleaned.endswith('&a=1"}')
    assert redactor.redact_bytes(text.encode()) == cleaned.encode()


def test_no_secret_no_change_and_short_values_are_not_secrets() -> None:
    empty = Redactor()
    text = "nothing to hide: sk-abc"
    assert empty.redact(text) is text and empty.redact_value({"a": [text]}) == {"a": [text]}
    short = "a" * (MIN_SECRET_CHARS - 1)
    assert not empty.add(short) and not empty.add("") and not empty.add("   ")
    assert empty.redact("banana") == "banana" and len(empty) == 0
    assert repr(Redactor([_key()])).startswith("<Redactor secrets=1 ")


def test_json_values_are_redacted_by_value_and_under_credential_keys() -> None:
    key, other = _key(), _key()
    redactor = Redactor([key])
    value = {
        "headers": {"X-RapidAPI-Key": other, "authorization": f"Basic {other}", "h": "ok"},
        "api_key": other,  # '_' reads as '-': the api-key header's name
        "token_type": other,  # not a credential's name: kept unless a registered secret
        "echo": [f"Bearer {key}", 3, None, {"nested": key}],
        key: "a key as a key",
    }
    cleaned = redactor.redact_value(value)
    assert cleaned["headers"] == {"X-RapidAPI-Key": REDACTED, "authorization": REDACTED, "h": "ok"}
    assert cleaned["api_key"] == REDACTED and cleaned["token_type"] == other
    assert cleaned["echo"] == [f"Bearer {REDACTED}", 3, None, {"nested": REDACTED}]
    assert cleaned[REDACTED] == "a key as a key"
    assert key not in json.dumps(cleaned)


def test_a_secret_containing_another_is_redacted_whole() -> None:
    short, long = "abcd1234", "abcd1234-and-more-secret"
    redactor = Redactor([short, long])
    assert redactor.redact(f"<{long}> <{short}>") == f"<{REDACTED}> <{REDACTED}>"


def test_secret_names() -> None:
    assert all(map(is_secret_name, ["OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "AUTH"]))
    assert not any(map(is_secret_name, ["PATH", "HOME", "PYTHONPATH", "LANG"]))


def test_log_records_are_redacted_when_made(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _key()
    monkeypatch.setenv("APIGEN_TEST_REDACT_KEY", key)
    assert default_redactor().add_env("APIGEN_TEST_REDACT_KEY") == key
    log = logging.getLogger("apigen.test.redaction")
    caplog.set_level(logging.DEBUG)
    log.debug("headers %s", {"authorization": f"Bearer {key}"})
    log.info("url-encoded %s", quote(key, safe=""))
    try:
        raise RuntimeError(f"the server said {key}")
    except RuntimeError:
        log.exception("call failed")
    log.warning("no secret here: %d", 3)
    records = [r for r in caplog.records if r.name == "apigen.test.redaction"]
    assert len(records) == 4
    seen = caplog.text + "".join(str(r.msg) + str(r.args) + (r.exc_text or "") for r in records)
    assert key not in seen and quote(key, safe="") not in seen
    assert seen.count(REDACTED) >= 3
    assert "the server said [REDACTED]" in caplog.text  # the traceback, redacted
    # a record without a secret keeps its arguments (uvicorn's access formatter reads them)
    assert records[-1].getMessage() == "no secret here: 3" and records[-1].args == (3,)
