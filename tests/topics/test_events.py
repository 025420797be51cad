from __future__ import annotations

import pytest

from topics import (
    Call,
    EventMeta,
    FormatPass,
    MalformedEvent,
    QueryStyle,
    Reject,
    Sample,
    Tool,
    Topic,
    decode,
    decode_for_topic,
    encode,
)


def _sample() -> Sample:
    meta = EventMeta(id="s1", parent_id=None, sample_id="s1", stage="sampler", stage_version="v1")
    tool = Tool(
        "add", "Add two numbers.", {"type": "object", "properties": {"a": {"type": "number"}}}
    )
    return Sample(meta=meta, style=QueryStyle.SIMPLE, tools=(tool,))


def test_round_trip_preserves_every_field() -> None:
    sample = _sample()
    child = FormatPass(
        meta=sample.meta.child("format", "f1", "0"),
        sample=sample,
        model="m",
        pair_index=0,
        query="add 1 and 2",
        calls=(Call("add", {"a": 1}),),
    )
    assert decode(encode(child), FormatPass) == child
    assert decode_for_topic(Topic.FORMAT_PASS, encode(child)) == child


def test_child_ids_are_stable_and_depend_on_version_and_discriminator() -> None:
    meta = _sample().meta
    a = meta.child("format", "v1", "0")
    assert a.id == meta.child("format", "v1", "0").id
    assert a.id != meta.child("format", "v2", "0").id
    assert a.id != meta.child("format", "v1", "1").id
    assert a.parent_id == "s1" and a.sample_id == "s1"
    assert a.versions == (("format", "v1"),)
    assert a.version_of("format") == "v1" and a.version_of("semantic") is None


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"meta": {"schema_version": 99}}', "schema_version 99"),
        (b'{"meta": 1, "style": "simple", "tools": []}', "meta"),
        (b'{"style": "nonsense"}', "invalid Sample"),
    ],
)
def test_malformed_bytes_raise_a_named_error(data: bytes, needle: str) -> None:
    with pytest.raises(MalformedEvent, match=needle) as info:
        decode(data, Sample)
    assert info.value.reason == "malformed_event"


def test_reject_keeps_undecodable_bytes_as_text() -> None:
    meta = EventMeta(id="r", parent_id=None, sample_id="", stage="format", stage_version="v1")
    reject = Reject(meta=meta, reason="malformed_event", message="x", rejected="\ufffdabc")
    assert decode(encode(reject), Reject) == reject


def test_unknown_topic_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown topic 'nope'"):
        decode_for_topic("nope", b"{}")
