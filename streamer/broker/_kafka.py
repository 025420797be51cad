"""A real single-node Apache Kafka broker (KRaft) run from Maven-resolved jars, no Docker.

Used by the test-suite (``tests/conftest.py``) and by ``apigen kafka start`` for local runs.

What was verified on the project's machines (2 shared cores, Java 17, Maven 3):

- Kafka **3.9.1** (``org.apache.kafka:kafka_2.13``) plus ``org.slf4j:slf4j-reload4j:1.7.36`` as the
  logging backend; ``mvn ... maven-dependency-plugin:3.7.1:copy-dependencies`` resolves the
  runtime classpath (57 jars, 46 MB) in ~10 s. aiokafka 0.14 talks to it without issues
  (admin, idempotent and transactional producers, groups, offsets-for-times).
- The cluster id is generated in Python (Kafka's base64 UUID; saves a JVM start);
  ``kafka.tools.StorageTool format -t <id> -c server.properties`` takes ~2 s; with the static
  ``controller.quorum.voters`` no ``--standalone`` flag is needed.
- ``kafka.Kafka server.properties`` with ``-Xms256m -Xmx512m -XX:+UseSerialGC
  -XX:TieredStopAtLevel=1``: on an idle machine the listener accepts connections after ~3.5 s
  and the broker logs ``Kafka Server started`` ~0.5 s later (``startup_seconds`` ~3.6-4 s);
  with the 2 cores busy (a compiler build, other test runs) start-up took 8-10 s. RSS ~200-350
  MB. SIGTERM does a controlled shutdown in 0.5-2.5 s; a restart on the same data dir and
  port keeps topics, records and committed group offsets.
- A taken port makes the JVM exit with ``BindException`` in ~3 s; ``start`` reports the
  logged errors and, for ports it chose itself, retries on fresh ones.
- Single-node settings that matter: replication factor 1 and min ISR 1 for the offsets and
  transaction-state topics (groups and transactions hang without them, per Kafka's docs; not
  re-tried here), one partition each for
  them (faster first group join), ``group.initial.rebalance.delay.ms=0``,
  ``log.cleaner.dedupe.buffer.size=2097152`` (small heaps die at start-up otherwise).

Readiness is "the PLAINTEXT port accepts a TCP connection *and* the broker logged
``Kafka Server started``" (the port opens a second before the broker is unfenced).

Usage::

    broker = LocalKafkaBroker(tmp_path / "kafka")
    bootstrap = broker.start()          # "127.0.0.1:PORT"; fetches jars if needed
    broker.stop(); broker.start()       # same data dir, same port: a broker restart
    broker.stop()
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "KAFKA_VERSION",
    "BrokerError",
    "LocalKafkaBroker",
    "default_home",
    "fetch",
    "free_port",
    "jars_present",
    "lib_dir",
]

KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
_SLF4J_BACKEND = ("org.slf4j", "slf4j-reload4j", "1.7.36")
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.7.1"
_READY_LINE = b"Kafka Server started"
_COMPLETE_MARKER = ".complete"

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway POM: the Kafka broker's runtime classpath. Written by streamer.broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.apigen</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>0</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>{log_group}</groupId>
      <artifactId>{log_artifact}</artifactId>
      <version>{log_version}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J = """\
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log_file}
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
"""


class BrokerError(RuntimeError):
    """The local broker could not be fetched, formatted, started or stopped."""


def default_home() -> Path:
    """``$APIGEN_KAFKA_HOME`` or ``<project>/.kafka`` (gitignored): jars, POM, CLI state."""
    env = os.environ.get("APIGEN_KAFKA_HOME")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2] / ".kafka"


def lib_dir(home: Path | None = None) -> Path:
    """Where the pinned version's jars live."""
    return (home or default_home()) / f"lib-{KAFKA_VERSION}"


def jars_present(home: Path | None = None) -> bool:
    return (lib_dir(home) / _COMPLETE_MARKER).is_file()


def fetch(home: Path | None = None, *, quiet: bool = True) -> Path:
    """Resolve the broker jars from Maven Central into ``lib_dir(home)``; skip if present.

    The jars are copied into a temporary directory first and renamed into place, so an
    interrupted fetch never leaves a half-filled lib dir that looks complete."""
    home = home or default_home()
    target = lib_dir(home)
    if jars_present(home):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("`mvn` not found on PATH; install Maven (and Java 17) to fetch Kafka")
    home.mkdir(parents=True, exist_ok=True)
    pom = home / f"pom-{KAFKA_VERSION}.xml"
    group, artifact, version = _SLF4J_BACKEND
    pom.write_text(
        _POM.format(
            scala=SCALA_VERSION,
            kafka=KAFKA_VERSION,
            log_group=group,
            log_artifact=artifact,
            log_version=version,
        )
    )
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=home))
    try:
        cmd = [
            mvn,
            "-B",
            *(["-q"] if quiet else []),
            "-f",
            str(pom),
            f"{_DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        done = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stdout or "")[-2000:] + (done.stderr or "")[-2000:]
            raise BrokerError(f"mvn could not resolve Kafka {KAFKA_VERSION}:\n{tail}")
        if not any(staging.glob(f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar")):
            raise BrokerError(f"mvn finished but the Kafka {KAFKA_VERSION} jar is missing")
        (staging / _COMPLETE_MARKER).write_text(KAFKA_VERSION + "\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cluster_id() -> str:
    """Kafka's ``Uuid.randomUuid().toString()``: url-safe base64 without padding, never
    starting with '-' (the broker's tools reject such ids)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """Run in the child before exec: SIGKILL the broker if the parent process dies (Linux),
    so a crashed test run never leaves a JVM behind."""
    with contextlib.suppress(Exception):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class LocalKafkaBroker:
    """One KRaft node (broker + controller) on 127.0.0.1, its data under ``data_dir``.

    ``port`` and ``controller_port`` default to free ports chosen once, so :meth:`restart`
    (or ``stop`` then ``start``) brings the broker back at the same address on the same data.
    ``start`` formats the storage only when ``data_dir`` holds none yet.

    ``start_attempts`` bounds retries when the JVM exits early or is not ready within
    ``start_timeout_s`` (KRaft quorum formation can time out on a loaded machine).
    ``die_with_parent`` ties the JVM's life to this Python process (tests); the CLI leaves
    it off so the broker outlives ``apigen kafka start``.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        home: Path | None = None,
        heap: str = "512m",
        start_timeout_s: float = 90.0,
        start_attempts: int = 3,
        die_with_parent: bool = False,
        java: str = "java",
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        # Ports we chose may be taken by someone else before the JVM binds them; such ports
        # are re-chosen on a retry, but only until the first successful start (afterwards
        # clients know the address, so a restart must keep it).
        self._rechoose_ports = port is None and controller_port is None
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.home = home or default_home()
        self.heap = heap
        self.start_timeout_s = start_timeout_s
        self.start_attempts = start_attempts
        self.die_with_parent = die_with_parent
        self.java = java
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        if die_with_parent:
            atexit.register(self._kill)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def __repr__(self) -> str:
        state = f"running pid={self.pid}" if self.running else "stopped"
        return f"<LocalKafkaBroker {self.bootstrap} {state} data_dir={str(self.data_dir)!r}>"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Start the broker (fetching jars and formatting storage if needed); returns the
        bootstrap address once the broker serves requests. Idempotent while running."""
        if self.running:
            return self.bootstrap
        fetch(self.home)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        if not (self.data_dir / "log" / "meta.properties").is_file():
            self._format()
        errors: list[str] = []
        for attempt in range(1, self.start_attempts + 1):
            if attempt > 1 and self._rechoose_ports:
                self.port, self.controller_port = free_port(), free_port()
                self._write_config()
            began = time.monotonic()
            try:
                self._launch_and_wait()
            except BrokerError as e:
                errors.append(f"attempt {attempt}: {e}")
                self._kill()
                continue
            self.startup_seconds = time.monotonic() - began
            self._rechoose_ports = False
            return self.bootstrap
        raise BrokerError(
            f"Kafka broker did not start on {self.bootstrap} after {self.start_attempts} "
            f"attempts (log: {self.log_file}):\n" + "\n".join(errors)
        )

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (controlled shutdown), then SIGKILL after ``timeout_s``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> str:
        self.stop()
        return self.start()

    # -- internals -------------------------------------------------------------------------

    def _classpath(self) -> str:
        return str(lib_dir(self.home) / "*")

    def _jvm(self, main_class: str, *args: str) -> list[str]:
        return [
            self.java,
            f"-Xms{min(256, _megabytes(self.heap))}m",
            f"-Xmx{self.heap}",
            "-XX:+UseSerialGC",  # fewest GC threads on a shared 2-core machine
            "-XX:TieredStopAtLevel=1",  # C1 only: faster start-up, plenty for tests
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            "-cp",
            self._classpath(),
            main_class,
            *args,
        ]

    def _write_config(self) -> None:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.data_dir / "log"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": "2097152",
            "auto.create.topics.enable": "false",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
        }
        text = "".join(f"{k}={v}\n" for k, v in props.items())
        (self.data_dir / "server.properties").write_text(text)
        (self.data_dir / "log4j.properties").write_text(_LOG4J.format(log_file=self.log_file))

    def _format(self) -> None:
        cmd = self._jvm(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _cluster_id(),
            "-c",
            str(self.data_dir / "server.properties"),
        )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise BrokerError(f"formatting {self.data_dir} failed:\n{done.stdout}{done.stderr}")

    def _launch_and_wait(self) -> None:
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        # PR_SET_PDEATHSIG fires when the parent *thread* exits, so it is only safe to set from
        # the main thread; brokers launched elsewhere rely on the atexit hook alone.
        tie_to_parent = (
            self.die_with_parent and threading.current_thread() is threading.main_thread()
        )
        with (self.data_dir / "broker.out").open("ab") as out:
            self._process = subprocess.Popen(
                self._jvm("kafka.Kafka", str(self.data_dir / "server.properties")),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal does not reach the broker
                preexec_fn=_die_with_parent if tie_to_parent else None,
            )

        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise BrokerError(f"the JVM exited with code {code}: {self._log_tail(offset)}")
            if _port_open(self.port) and self._logged_ready(offset):
                return
            time.sleep(0.1)
        raise BrokerError(f"not ready within {self.start_timeout_s:.0f} s")

    def _logged_ready(self, offset: int) -> bool:
        try:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                return _READY_LINE in f.read()
        except FileNotFoundError:
            return False

    def _log_tail(self, offset: int) -> str:
        """The errors this launch logged (or the raw tail when it logged none)."""
        text = ""
        with contextlib.suppress(OSError), self.log_file.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        with contextlib.suppress(OSError):
            text += (self.data_dir / "broker.out").read_bytes()[-1500:].decode(errors="replace")
        errors = [
            line
            for line in text.splitlines()
            if " ERROR " in line or " FATAL " in line or line.startswith("Caused by:")
        ]
        return "\n".join(errors[-6:]) if errors else text[-1500:] or "(no output)"

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _megabytes(heap: str) -> int:
    unit = heap[-1].lower()
    number = int(heap[:-1]) if unit in "kmg" else int(heap)
    return {"k": number // 1024, "m": number, "g": number * 1024}.get(unit, number >> 20)
