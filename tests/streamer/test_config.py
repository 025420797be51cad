"""Config file settings reach what they configure."""

from __future__ import annotations

from pathlib import Path

import anyio

from streamer.pipeline._build import open_transport
from streamer.pipeline._config import load_config
from topics import KafkaTransport


def test_the_log_section_sets_kafka_and_its_namespace(tmp_path: Path) -> None:
    path = tmp_path / "apigen.toml"
    path.write_text('[log]\nkafka = "127.0.0.1:1"\nnamespace = "team-a"\n')
    config = load_config(path)
    assert (config.kafka, config.namespace) == ("127.0.0.1:1", "team-a")
    transport = open_transport(config)
    assert isinstance(transport, KafkaTransport)
    assert transport.names.out("samples") == "team-a.samples"
    anyio.run(transport.aclose)

    path.write_text('[log]\nkafka = "127.0.0.1:1"\nnamespace = ""\n')
    transport = open_transport(load_config(path))
    assert isinstance(transport, KafkaTransport)
    assert transport.names.out("samples") == "samples"
    anyio.run(transport.aclose)
