"""EventMeta.run_id (carried from a task to everything derived from it) and
Sample.template_version: events written before either existed decode with defaults."""

from __future__ import annotations

import orjson

from topics import EventMeta, QueryStyle, Sample, Tool, decode, encode


def _sample(run_id: str) -> Sample:
    meta = EventMeta("s1", None, "s1", "sampler", "sampler-v1", run_id=run_id)
    return Sample(meta=meta, style=QueryStyle.SIMPLE, tools=(Tool("f", "", {}),))


def test_children_keep_the_run_id() -> None:
    meta = _sample("run-a").meta
    grandchild = meta.child("generator", "g1", "0").child("format", "f1", "0")
    assert grandchild.run_id == "run-a"
    assert grandchild.sample_id == "s1"


def test_round_trip_keeps_the_run_id() -> None:
    sample = _sample("run-a")
    assert decode(encode(sample), Sample).meta.run_id == "run-a"


def test_an_event_written_before_run_ids_reads_as_no_run() -> None:
    data = orjson.loads(encode(_sample("run-a")))
    del data["meta"]["run_id"]
    old = decode(orjson.dumps(data), Sample)
    assert old.meta.run_id == ""
    assert old == _sample("")


def test_a_task_written_before_template_versions_reads_as_unversioned() -> None:
    data = orjson.loads(encode(_sample("")))
    del data["template_version"]
    assert decode(orjson.dumps(data), Sample).template_version == ""
