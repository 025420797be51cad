"""Pipeline configuration: one TOML file for everything, overridable from the command line.

Example ``apigen.toml``::

    out = "out"             # dataset directory
    samples = 200           # produce exactly this many tasks, then finish
    # target = 100          # or: stop once this many verified pairs are stored
    partitions = 4

    [log]
    # kafka = "127.0.0.1:9092"   # a Kafka cluster; omit for the embedded log
    # path = "out/log.db"        # the embedded log's file
    # namespace = "team-a"       # Kafka: topics and groups are team-a.<name>
    # retention_hours = 168      # delete log records older than this; 0 = keep forever

    [sampler]
    seed = 0
    pairs = 2               # query/answer pairs asked for per LLM call
    # feedback = true, max_outstanding = 512
    style_mix = {simple = 3, parallel = 2, irrelevance = 1}  # relative weights per style
    apis_per_task = {multiple = [2, 5]}   # APIs offered per task, inclusive [min, max]
    examples_per_task = [0, 3]            # seed examples shown per task, [min, max]
    # pool_capacity = 200                 # seed examples kept per style
    # templates = {simple = ["generator", "generator-persona"]}   # drawn from per task

    [[generators]]
    kind = "openai"         # openai | local | simulated
    name = "gpt-4o-mini"
    base_url = "https://api.openai.com/v1"
    model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"
    weight = 1.0

    [[judges]]
    kind = "simulated"

    [judge]                 # judging settings (part of the semantic stage's version)
    batch = 8               # events graded per judge call
    # quorum = 0, max_tokens = 160, temperature = 0.0
    # prompt = "judge.txt"  # full | compact | a template file (relative to this file)

    [apis]
    sources = []            # API source files; empty = the built-in library

    [executors]
    # python_workers = 2, exec_timeout_s = 5.0
    # allow_hosts = ["127.0.0.1:8080"]  # API hosts allowed at loopback/private addresses

    [executors.hosts."*"]   # REST limits of every host without its own entry
    requests_per_s = 20     # requests per second, evenly spaced; 0 = unlimited (default)
    max_concurrency = 8     # requests in flight per host (default 16)
    # retries = 3           # attempts repeated after 429/5xx/timeouts/connection errors
    # backoff_s = 0.2       # backoff base in seconds (the n-th retry waits <= backoff_s*2^n)
    # backoff_max_s = 10.0  # longest wait; a Retry-After asking for more gives up

    [executors.hosts."api.example.com"]   # HOST or HOST:PORT; unset keys come from "*"
    requests_per_s = 5
    max_concurrency = 2
    retries = 2
    backoff_s = 0.5

    [mcp]                   # MCP servers that listings' tools run on
    # timeout_s = 30.0, startup_timeout_s = 30.0

    [[mcp.servers]]         # a stdio server, started on its first call
    name = "demo"           # what the tools' bindings name (a listing file's stem)
    command = ["python", "-m", "executors.mcp_server"]
    # env = {DEMO_MODE = "1"}, pass_env = ["WEATHER_API_KEY"], cwd = "servers"
    # secret_env = ["DEMO_SEED"]

    [[mcp.servers]]         # a streamable-HTTP server, connected to on its first call
    name = "remote"
    url = "https://mcp.example.com/mcp"
    # headers_env = {Authorization = "REMOTE_MCP_TOKEN"}

    [format]                # format checker rules (FormatRules; part of its version)
    min_parallel_calls = 2
    # max_calls = 16, max_query_chars = 4000

    [semantic]              # semantic rules (SemanticRules; part of its version)
    max_ungrounded = 0.5

    [virtual_apis]          # calls of APIs without a binding (streamer.pipeline._virtual_apis)
    enabled = false         # or apigen run --virtual-apis; [virtual_apis.simulator] = a model

    [decontaminate]         # benchmark items kept out of the dataset (contaminated rejects)
    references = []         # files or folders (BFCL, xLAM/OpenAI/ShareGPT, query lists), or
                            # --decontaminate PATH; near_threshold = 0.8, ngram = 13

    [multi_turn]            # multi-turn trajectories instead of pairs (apigen run --multi-turn)
    enabled = false         # domains = ["retail", "airline"], reviewers = 3, quorum = 0
                            # (a majority), max_rounds = 2, max_turns = 10

    [metrics]
    port = 9464             # serve Prometheus /metrics on this port; 0 = off
    host = "0.0.0.0"        # interface for /metrics (default 127.0.0.1)

Errors name the file and the field (``apigen.toml: generators[0].kind: ...``).

REST limits (``[executors.hosts."HOST"]``, see :class:`executors.HostLimits`): an entry
applies to calls to that host (``HOST:PORT``: on that port only, and it wins over ``HOST``);
``"*"`` to every host without an entry, and its values fill the keys an entry leaves out.
Without any, hosts are unlimited in rate, 16 requests in flight each, with the executor's
retries (3, backoff 0.2 s up to 10 s).

MCP servers (``[[mcp.servers]]``, see :class:`executors.McpServerConfig`): each has a
``name`` and either ``command`` (a list: the program and its arguments, started over stdio;
``cwd`` relative to the config file; ``env`` set for it, ``pass_env`` copied from apigen's
environment, ``secret_env`` more of them to redact) or ``url`` (streamable HTTP; its host
must pass the network policy like a REST host: a loopback or private one needs
``allow_hosts``; ``headers_env`` maps request headers to environment variables holding
their values). A listing's tools bind to the server named like the listing file's stem
(``demo.json`` -> ``demo``); a run whose tools name a server not configured here stops
with a config error naming it. ``timeout_s``: seconds per tool call; ``startup_timeout_s``:
seconds a server may take to start or connect and initialize.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from executors import HostLimits, McpServerConfig, NetworkPolicy
from executors._rate_limits import DEFAULT_HOST

from ..prompts import PromptFileError, judge_prompt_from_file, named_judge_prompt
from ..stages import FormatRules, SemanticRules
from ._decontamination import DecontaminationConfig, read_decontamination
from ._model_config import ConfigError, ModelConfig, as_type, read_model
from ._multi_turn_config import MultiTurnConfig, read_multi_turn
from ._sampler_config import SAMPLER_KEYS, SamplerSettings, read_sampler_settings
from ._virtual_config import VirtualApisConfig, read_virtual_apis

__all__ = [
    "TOP_LEVEL_KEYS",
    "ConfigError",
    "ModelConfig",
    "PipelineConfig",
    "check_allow_hosts",
    "load_config",
]

TOP_LEVEL_KEYS = frozenset(
    {
        *("out", "samples", "target", "partitions"),
        *("log", "sampler", "generators", "judges", "judge", "apis", "runner", "executors"),
        *("metrics", "format", "semantic", "mcp", "virtual_apis", "decontaminate"),
        "multi_turn",
    }
)
"""The top-level keys and sections a config file may have; anything else is an error."""


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything ``apigen run`` needs.

    out: dataset directory (also holds the embedded log and the sink's store by default).
    samples: tasks to produce before finishing (None: use ``target``).
    target: verified pairs to reach before finishing (None with ``samples`` None: run on).
    partitions: partitions per topic (the unit of parallelism across replicas).
    kafka: bootstrap servers of a Kafka cluster; None runs on the embedded log.
    log_path: the embedded log's SQLite file (default ``<out>/log.db``).
    namespace: on Kafka, the prefix of this pipeline's topics and consumer groups
      (``<namespace>.samples``, ...), so pipelines sharing a cluster stay apart; empty =
      the plain names. The embedded log belongs to one ``out`` already.
    retention_hours: hours after which the log's records are deleted, whatever the groups
      have read (Kafka's ``retention.ms`` on topics this pipeline creates; the embedded log
      trims itself); 0 = keep them forever. Replays can only read what is retained.
    pairs: query/answer pairs asked for per generation call.
    seed: sampler seed; equal seeds give equal task sequences.
    sampler: the tasks' shape: style mix (relative weights), APIs and seed examples per
      task (inclusive ranges), seed pool size and the generator templates per style (see
      :class:`~streamer.pipeline._sampler_config.SamplerSettings`; defaults from the code).
    feedback: feed verified pairs back into the seed pool (off makes runs reproducible).
    run_id: the run this process works for: its sampler's tasks carry it and its stages
      read past events of other runs (:mod:`streamer.pipeline._runs`); empty = no run
      (every event is taken, as before runs had ids). ``apigen run`` sets it.
    max_outstanding: tasks produced but not finished before the sampler waits.
    concurrency: events each stage processes at once.
    processes: processes ``apigen run`` spreads its stages over (1, 2 or 3; see
      :mod:`streamer.pipeline._processes`): 2 moves the generator to a process of its own, 3 also
      the format and execution checks.
    python_workers: worker processes of the Python executor.
    exec_timeout_s: seconds per executed call.
    allow_hosts: hosts (``HOST`` or ``HOST:PORT``) that REST calls may reach although
      their address is loopback, link-local, private or otherwise not public; the hosts of
      API sources are data and are refused there otherwise (``host_refused``), except the
      built-in REST service's default address (see :class:`executors.NetworkPolicy`).
    host_limits: REST limits by host entry (``HOST``, ``HOST:PORT`` or ``"*"`` for every
      other host; see :class:`executors.HostLimits`): requests per second, requests in
      flight, retries and backoff seconds.
    mcp_servers: MCP servers by name (stdio ``command`` or HTTP ``url``).
    mcp_timeout_s: seconds per MCP tool call.
    mcp_startup_timeout_s: seconds an MCP server may take to start (or be connected to)
      and initialize.
    judge_batch: events graded per judge call.
    judge_quorum: passing verdicts needed of the judges; 0 = a majority.
    judge_max_tokens: completion tokens allowed per graded event.
    judge_temperature: sampling temperature of judge calls.
    judge_prompt: the judge prompt: ``full``, ``compact``, the path of a template file
      (see :mod:`streamer.prompts._custom`; in a config file, relative to that file), or
      empty for the default (compact when every judge is local, else full).
    virtual_apis: virtual APIs for calls of APIs without a binding (off by default; see
      :class:`~streamer.pipeline._virtual_apis.VirtualApisConfig`).
    decontaminate: the benchmark reference sets kept out of the dataset (none by default;
      see :class:`~streamer.pipeline._decontamination.DecontaminationConfig`).
    multi_turn: the multi-turn pipeline (off by default: single-turn pairs; see
      :class:`~streamer.pipeline._multi_turn_config.MultiTurnConfig`).
    metrics_port: TCP port of the Prometheus ``/metrics`` endpoint; 0 = off.
    metrics_host: interface the metrics endpoint listens on.
    """

    out: Path = Path("out")
    samples: int | None = None
    target: int | None = None
    partitions: int = 4
    kafka: str | None = None
    log_path: Path | None = None
    namespace: str = ""
    retention_hours: float = 0.0
    pairs: int = 1
    seed: int = 0
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    feedback: bool = True
    run_id: str = ""
    max_outstanding: int = 512
    concurrency: int = 64
    processes: int = 1
    python_workers: int = 2
    exec_timeout_s: float = 5.0
    allow_hosts: tuple[str, ...] = ()
    host_limits: dict[str, HostLimits] = field(default_factory=dict)
    mcp_servers: dict[str, McpServerConfig] = field(default_factory=dict)
    mcp_timeout_s: float = 30.0
    mcp_startup_timeout_s: float = 30.0
    judge_batch: int = 8
    judge_quorum: int = 0
    judge_max_tokens: int = 160
    judge_temperature: float = 0.0
    judge_prompt: str = ""
    generators: tuple[ModelConfig, ...] = ()
    judges: tuple[ModelConfig, ...] = ()
    api_sources: tuple[str, ...] = ()
    format_rules: FormatRules = field(default_factory=FormatRules)
    semantic_rules: SemanticRules = field(default_factory=SemanticRules)
    virtual_apis: VirtualApisConfig = field(default_factory=VirtualApisConfig)
    decontaminate: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    multi_turn: MultiTurnConfig = field(default_factory=MultiTurnConfig)
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"

    @property
    def embedded_log(self) -> Path:
        return self.log_path or self.out / "log.db"

    def with_overrides(self, **values: Any) -> PipelineConfig:
        """A copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,64}")

_TYPED_SECTIONS: dict[str, tuple[tuple[str, type, str], ...]] = {
    "sampler": (
        ("seed", int, "seed"),
        ("pairs", int, "pairs"),
        ("feedback", bool, "feedback"),
        ("max_outstanding", int, "max_outstanding"),
    ),
    "executors": (
        ("python_workers", int, "python_workers"),
        ("exec_timeout_s", float, "exec_timeout_s"),
        ("allow_hosts", list, "allow_hosts"),
    ),
    "runner": (("concurrency", int, "concurrency"), ("processes", int, "processes")),
    "mcp": (
        ("timeout_s", float, "mcp_timeout_s"),
        ("startup_timeout_s", float, "mcp_startup_timeout_s"),
    ),
    "judge": (
        ("batch", int, "judge_batch"),
        ("quorum", int, "judge_quorum"),
        ("max_tokens", int, "judge_max_tokens"),
        ("temperature", float, "judge_temperature"),
        ("prompt", str, "judge_prompt"),
    ),
}
"""Sections of plain settings: (key, type, PipelineConfig field) each."""

_SUBTABLES = {"executors": "hosts", "mcp": "servers"}
"""The one key of a section that holds tables, read by its own parser."""

_HOST_LIMIT_TYPES: dict[str, type] = {
    "requests_per_s": float,
    "max_concurrency": int,
    "retries": int,
    "backoff_s": float,
    "backoff_max_s": float,
}


def _section(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {name}: expected a table ([{name}]), got {table!r}")
    return table


def _rules(cls: Any, data: Any, where: str) -> Any:
    """A rules dataclass from a table: every field checked by name and type."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    types = {f.name: type(getattr(cls(), f.name)) for f in fields(cls)}
    for key, value in data.items():
        expected = types.get(key)
        if expected is None:
            raise ConfigError(f"{where}.{key}: unknown rule; known: {sorted(types)}")
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(f"{where}.{key}: expected {expected.__name__}, got {value!r}")
        data = {**data, key: value}
    return cls(**data)


def load_config(path: str | Path) -> PipelineConfig:
    """Read a TOML config file; raises :class:`ConfigError` naming file and field."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"{p}: unknown section(s) or field(s) {unknown}")
    values: dict[str, Any] = {}
    for key, typ in (("out", str), ("samples", int), ("target", int), ("partitions", int)):
        if key in data:
            if not isinstance(data[key], typ):
                raise ConfigError(f"{p}: {key}: expected {typ.__name__}, got {data[key]!r}")
            values[key] = Path(data[key]) if key == "out" else data[key]
    log = _section(data, "log", p)
    log_keys = {
        "kafka": "kafka",
        "path": "log_path",
        "namespace": "namespace",
        "retention_hours": "retention_hours",
    }
    if unknown_log := sorted(set(log) - set(log_keys)):
        raise ConfigError(f"{p}: log: unknown field(s) {unknown_log}")
    for key, name in log_keys.items():
        if key in log:
            kind: type = float if key == "retention_hours" else str
            value = as_type(log[key], kind, f"{p}: log.{key}")
            values[name] = Path(value) if key == "path" else value
    if not (math.isfinite(hours := values.get("retention_hours", 0.0)) and hours >= 0):
        raise ConfigError(f"{p}: log.retention_hours: {hours!r}: use hours >= 0 (0 = forever)")
    if (namespace := values.get("namespace", "")) and not _NAMESPACE.fullmatch(namespace):
        raise ConfigError(
            f"{p}: log.namespace: {namespace!r}: use letters, digits, '_' and '-' (at most 64)"
        )
    for section, keys in _TYPED_SECTIONS.items():
        table = _section(data, section, p)
        nested = _SUBTABLES.get(section)
        read_apart = SAMPLER_KEYS if section == "sampler" else {nested}
        unknown_keys = sorted(set(table) - {k for k, _, _ in keys} - read_apart)
        if unknown_keys:
            raise ConfigError(f"{p}: {section}: unknown field(s) {unknown_keys}")
        for key, kind, name in keys:
            if key in table:
                values[name] = as_type(table[key], kind, f"{p}: {section}.{key}")
    values["sampler"] = read_sampler_settings(_section(data, "sampler", p), f"{p}: sampler")
    if "allow_hosts" in values:
        values["allow_hosts"] = check_allow_hosts(
            values["allow_hosts"], f"{p}: executors.allow_hosts"
        )
    executors = _section(data, "executors", p)
    values["host_limits"] = _host_limits(executors.get("hosts", {}), f"{p}: executors.hosts")
    if "virtual_apis" in data:
        values["virtual_apis"] = read_virtual_apis(data["virtual_apis"], p)
    if "decontaminate" in data:
        values["decontaminate"] = read_decontamination(data["decontaminate"], p)
    if "multi_turn" in data:
        values["multi_turn"] = read_multi_turn(data["multi_turn"], p)
    mcp = _section(data, "mcp", p)
    values["mcp_servers"] = _mcp_servers(mcp.get("servers", []), p)
    for key in ("mcp_timeout_s", "mcp_startup_timeout_s"):
        if key in values and not (math.isfinite(values[key]) and values[key] > 0):
            name = key.removeprefix("mcp_")
            raise ConfigError(f"{p}: mcp.{name}: {values[key]!r} is not seconds > 0")
    if not 1 <= values.get("processes", 1) <= 3:
        raise ConfigError(f"{p}: runner.processes: {values['processes']} is not 1, 2 or 3")
    metrics = data.get("metrics", {})
    if not isinstance(metrics, dict):
        raise ConfigError(f"{p}: metrics: expected a table with port and host")
    for key, typ in (("port", int), ("host", str)):
        if key in metrics:
            if not isinstance(metrics[key], typ) or isinstance(metrics[key], bool):
                raise ConfigError(
                    f"{p}: metrics.{key}: expected {typ.__name__}, got {metrics[key]!r}"
                )
            values[f"metrics_{key}"] = metrics[key]
    if not 0 <= values.get("metrics_port", 0) <= 65535:
        raise ConfigError(f"{p}: metrics.port: {values['metrics_port']} is not a TCP port")
    values["format_rules"] = _rules(FormatRules, data.get("format", {}), f"{p}: format")
    values["semantic_rules"] = _rules(SemanticRules, data.get("semantic", {}), f"{p}: semantic")
    for role in ("generators", "judges"):
        models = data.get(role, [])
        if not isinstance(models, list):
            raise ConfigError(f"{p}: {role}: expected an array of tables ([[{role}]])")
        values[role] = tuple(read_model(m, f"{p}: {role}[{i}]") for i, m in enumerate(models))
    sources = _section(data, "apis", p).get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ConfigError(f"{p}: apis.sources: expected a list of file paths")
    values["api_sources"] = tuple(sources)
    if values.get("judge_prompt"):
        values["judge_prompt"] = _judge_prompt(values["judge_prompt"], p)
    return PipelineConfig(**values)


def _host_limits(table: Any, where: str) -> dict[str, HostLimits]:
    """``[executors.hosts."HOST"]`` tables as :class:`HostLimits` by host entry."""
    if not isinstance(table, dict):
        raise ConfigError(f'{where}: expected tables ([executors.hosts."HOST"])')
    limits: dict[str, HostLimits] = {}
    for host, entry in table.items():
        here = f"{where}.{_toml_key(host)}"
        if host != DEFAULT_HOST:
            check_allow_hosts([host], here)  # the same HOST[:PORT] rules
        if not isinstance(entry, dict):
            raise ConfigError(f"{here}: expected a table of limits, got {entry!r}")
        unknown = sorted(set(entry) - set(_HOST_LIMIT_TYPES))
        if unknown:
            raise ConfigError(
                f"{here}: unknown field(s) {unknown}; known: {sorted(_HOST_LIMIT_TYPES)}"
            )
        typed = {k: as_type(v, _HOST_LIMIT_TYPES[k], f"{here}.{k}") for k, v in entry.items()}
        try:
            limits[host] = HostLimits(**typed)
        except ValueError as exc:  # the message starts with the field's name
            raise ConfigError(f"{here}.{exc}") from None
    return limits


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


_MCP_KEYS: dict[str, type] = {
    "name": str,
    "command": list,
    "url": str,
    "env": dict,
    "pass_env": list,
    "secret_env": list,
    "cwd": str,
    "headers_env": dict,
}


def _mcp_servers(servers: Any, path: Path) -> dict[str, McpServerConfig]:
    """``[[mcp.servers]]`` as :class:`McpServerConfig` by name; ``cwd`` is taken relative
    to the config file's directory."""
    if not isinstance(servers, list):
        raise ConfigError(f"{path}: mcp.servers: expected an array of tables ([[mcp.servers]])")
    found: dict[str, McpServerConfig] = {}
    for i, server in enumerate(servers):
        where = f"{path}: mcp.servers[{i}]"
        if not isinstance(server, dict):
            raise ConfigError(f"{where}: expected a table, got {server!r}")
        unknown = sorted(set(server) - set(_MCP_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(_MCP_KEYS)}")
        typed = {k: as_type(v, _MCP_KEYS[k], f"{where}.{k}") for k, v in server.items()}
        name = typed.pop("name", "")
        if not name:
            raise ConfigError(f"{where}.name: required (what the tools' bindings name)")
        if name in found:
            raise ConfigError(f"{where}.name: {name!r} is configured twice")
        for key in ("command", "pass_env", "secret_env"):
            if not all(isinstance(x, str) and x for x in typed.get(key, [])):
                raise ConfigError(f"{where}.{key}: expected a list of non-empty strings")
        for key in ("env", "headers_env"):
            if not all(isinstance(v, str) for v in typed.get(key, {}).values()):
                raise ConfigError(f"{where}.{key}: expected a table of strings")
        command = typed.pop("command", [])
        if "command" in server and not command:
            raise ConfigError(f"{where}.command: expected the program and its arguments")
        cwd = typed.pop("cwd", None)
        try:
            found[name] = McpServerConfig(
                command=command[0] if command else "",
                args=tuple(command[1:]),
                cwd=None if cwd is None else str((path.parent / cwd).resolve()),
                pass_env=tuple(typed.pop("pass_env", ())),
                secret_env=tuple(typed.pop("secret_env", ())),
                **typed,
            )
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return found


def check_allow_hosts(hosts: Any, where: str) -> tuple[str, ...]:
    """``hosts`` checked as ``HOST[:PORT]`` entries; :class:`ConfigError` naming a bad one."""
    if not isinstance(hosts, list | tuple) or not all(isinstance(h, str) for h in hosts):
        raise ConfigError(f"{where}: expected a list of HOST or HOST:PORT strings")
    try:
        NetworkPolicy.from_hosts(hosts)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return tuple(hosts)


def _judge_prompt(value: str, path: Path) -> str:
    """A built-in prompt's name, or the template file's path resolved against the config
    file's directory and checked now, so a bad file is named before anything runs."""
    if named_judge_prompt(value) is not None:
        return value
    file = path.parent / value
    try:
        judge_prompt_from_file(file)
    except PromptFileError as exc:
        raise ConfigError(f"{path}: judge.prompt: {exc} ({exc.reason})") from None
    return str(file.resolve())
