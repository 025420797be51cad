"""`apigen serve` replicas start in any order on a real Kafka broker: a checker started
before the sampler creates the topics it needs instead of exiting with TopicNotFound."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio
import pytest

from topics import PIPELINE, KafkaTransport


async def _existing(bootstrap: str, namespace: str) -> set[str]:
    transport = KafkaTransport(bootstrap, namespace=namespace)
    try:
        return set(await transport.list_topics())
    finally:
        await transport.aclose()


@pytest.mark.kafka
@pytest.mark.slow
def test_a_checker_started_first_creates_the_topics_and_keeps_running(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    namespace = f"order-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "apigen.toml"
    config.write_text(f'[log]\nnamespace = "{namespace}"\n', encoding="utf-8")
    log = (tmp_path / "format.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamer", "serve", "format", "--kafka", kafka_bootstrap,
         "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        topics: set[str] = set()
        while time.monotonic() < deadline and process.poll() is None:
            topics = anyio.run(_existing, kafka_bootstrap, namespace)
            if set(PIPELINE) <= topics:
                break
            time.sleep(1)
        assert process.poll() is None, (tmp_path / "format.log").read_text()[-2000:]
        assert set(PIPELINE) <= topics
        time.sleep(2)  # subscribed by now: it must still be serving, not exiting
        assert process.poll() is None, (tmp_path / "format.log").read_text()[-2000:]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "format.log").read_text()[-2000:]
