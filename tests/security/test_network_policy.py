"""Hosts from data may not reach loopback, link-local, private or other non-public
addresses unless the user allows them; the decision is made on the resolved address, at
connect time, and a refusal is ``host_refused`` before anything is sent.

Real local servers on 127.0.0.1 stand in for internal services; there is no internet here,
so public addresses are tested on the classifier and the policy check alone."""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import ClientSession, TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import HttpxAiohttpClient
from httpx_aiohttp.transport import AiohttpTransport
from typer.testing import CliRunner

from executors import (
    ApiLibrary,
    ApiSpec,
    HostRefused,
    HostRule,
    NetworkPolicy,
    RestBinding,
    RestExecutor,
    RestParameter,
    fetch_url,
)
from executors._network import address_class
from executors.curation import AccessSettings, check_access, probe_host
from streamer.cli._app import app
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._model_config import ConfigError, ModelConfig
from streamer.pipeline._run import run_pipeline

from .net_servers import counting_listener, recording_server, weather_spec

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("fe80::1%1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT, shared address space
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 around 169.254.169.254
    ],
)
def test_refused_address_classes(address: str, expected: str) -> None:
    assert address_class(ipaddress.ip_address(address)) == expected
    with pytest.raises(HostRefused) as info:
        NetworkPolicy().check_address("api.from-data.example", 443, address)
    assert info.value.reason == "host_refused" and info.value.address_class == expected
    assert "api.from-data.example:443" in info.value.message and expected in info.value.message


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_class(ipaddress.ip_address(address)) is None
    NetworkPolicy().check_address("api.example.com", 443, address)
    NetworkPolicy().check_host(address, 443)


def test_host_rules() -> None:
    assert HostRule.parse("Example.COM.") == HostRule("example.com")
    assert HostRule.parse("localhost:8080") == HostRule("localhost", 8080)
    assert HostRule.parse("[::1]:9000") == HostRule("::1", 9000)
    assert HostRule.parse("::1") == HostRule("::1")
    assert HostRule.parse("bücher.de").host == "xn--bcher-kva.de"
    for bad, problem in [
        ("http://x.example", "no scheme"),
        ("x.example/path", "no scheme, path"),
        ("user@x.example", "no scheme, path or user"),
        ("x.example:0", "not a TCP port"),
        ("x.example:http", "not a TCP port"),
        ("[::1", "[IPV6]"),
        ("-x.example", "not a valid host name"),
        ("", "expected HOST"),
    ]:
        with pytest.raises(ValueError, match=problem.replace("[", r"\[")):
            HostRule.parse(bad)
    policy = NetworkPolicy.from_hosts(["127.0.0.1", "db.internal:5432"], rest_service=False)
    assert policy.allows("127.0.0.1", 1) and policy.allows("DB.internal.", 5432)
    assert not policy.allows("db.internal", 5433) and not policy.allows("127.0.0.1.evil", 1)
    assert NetworkPolicy().allows("127.0.0.1", 8000)  # the built-in REST service
    assert not NetworkPolicy().allows("127.0.0.1", 8001)


@pytest.mark.parametrize("client", ["default", "httpx-native"])
async def test_a_loopback_server_is_refused_unless_allowed(client: str) -> None:
    async with recording_server() as server:
        spec = weather_spec(server.base_url)

        async def call(policy: NetworkPolicy | None) -> Any:
            given = httpx.AsyncClient(trust_env=False) if client == "httpx-native" else None
            executor = RestExecutor(client=given, policy=policy, retries=0)
            try:
                return await executor.execute(spec, {"city": "Oslo"})
            finally:
                await executor.aclose()
                if given is not None:
                    await given.aclose()

        refused = await call(None)
        wrong_port = await call(NetworkPolicy.from_hosts([f"127.0.0.1:{server.port + 1}"]))
        assert server.requests == []
        by_port = await call(NetworkPolicy.from_hosts([f"127.0.0.1:{server.port}"]))
        by_host = await call(NetworkPolicy.from_hosts(["127.0.0.1"]))
    assert refused.reason == wrong_port.reason == "host_refused"
    assert f"127.0.0.1:{server.port} is a loopback address" in refused.message
    assert f"--allow-host 127.0.0.1:{server.port}" in refused.message
    assert by_port.ok and by_host.ok and by_port.result["path"] == "/weather"
    assert len(server.requests) == 2


@pytest.mark.parametrize("client", ["default", "httpx-native"])
async def test_a_name_that_resolves_to_loopback_is_refused(client: str) -> None:
    async with recording_server() as server:
        spec = weather_spec(f"http://localhost:{server.port}")
        given = httpx.AsyncClient(trust_env=False) if client == "httpx-native" else None
        executor = RestExecutor(client=given, retries=0)
        allowed = RestExecutor(
            client=given, retries=0, policy=NetworkPolicy.from_hosts([f"localhost:{server.port}"])
        )
        try:
            refused = await executor.execute(spec, {"city": "Oslo"})
            assert server.requests == []
            passed = await allowed.execute(spec, {"city": "Oslo"})
        finally:
            for ex in (executor, allowed):
                await ex.aclose()
            if given is not None:
                await given.aclose()
    assert refused.reason == "host_refused", refused
    assert f"localhost:{server.port} resolves to" in refused.message
    assert "loopback address" in refused.message
    # the name may resolve to ::1 first, where nothing listens: then the connection fails
    assert passed.ok or passed.reason == "connection_error", passed
    assert all(host == f"localhost:{server.port}" for _, _, host in server.requests)


class _Answers(AbstractResolver):
    """A resolver answering fixed addresses for any name, counting lookups."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def _through(answers: _Answers, policy: NetworkPolicy, spec: ApiSpec) -> Any:
    """One call whose connection resolves the spec's name with ``answers`` under ``policy``
    (the same client :func:`executors._rest.default_client` builds, with a test resolver)."""

    def session() -> ClientSession:
        return ClientSession(connector=TCPConnector(resolver=policy.aiohttp_resolver(answers)))

    client = HttpxAiohttpClient(trust_env=False, transport=AiohttpTransport(client=session))
    executor = RestExecutor(client=client, policy=policy, retries=0)
    try:
        return await executor.execute(spec, {"city": "Oslo"})
    finally:
        await executor.aclose()
        await client.aclose()


async def test_the_connection_goes_only_to_the_checked_addresses() -> None:
    """A name that a (test) DNS answers with 127.0.0.1 — alone or beside a public address —
    is refused at connect time, after one lookup; allowed, the request arrives by name."""
    async with recording_server() as server:
        spec = weather_spec(f"http://weather.rebind.test:{server.port}")
        loopback, mixed = _Answers("127.0.0.1"), _Answers("93.184.216.34", "127.0.0.1")
        refused = await _through(loopback, NetworkPolicy(), spec)
        refused_mixed = await _through(mixed, NetworkPolicy(), spec)
        assert server.requests == []
        by_name = NetworkPolicy.from_hosts([f"weather.rebind.test:{server.port}"])
        passed = await _through(_Answers("127.0.0.1"), by_name, spec)
        by_address = NetworkPolicy.from_hosts(["127.0.0.1"])  # an IP rule allows its names
        passed_too = await _through(_Answers("127.0.0.1"), by_address, spec)
    assert refused.reason == refused_mixed.reason == "host_refused"
    assert "resolves to 127.0.0.1, a loopback address" in refused.message
    assert loopback.lookups == 1 and mixed.lookups == 1
    assert passed.ok and passed_too.ok, (passed, passed_too)
    assert [h for _, _, h in server.requests] == [f"weather.rebind.test:{server.port}"] * 2


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "[fe80::a9fe:a9fe]", "[::ffff:169.254.169.254]", "10.0.0.7"]
)
async def test_a_link_local_or_private_literal_is_refused_before_any_connection(
    host: str,
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    executor = RestExecutor(client=client, retries=0)
    started = time.monotonic()
    outcome = await executor.execute(weather_spec(f"http://{host}/latest/meta-data"), {"city": "x"})
    await client.aclose()
    assert outcome.reason == "host_refused" and sent == []
    assert host.strip("[]") in outcome.message
    with pytest.raises(HostRefused):
        await probe_host(host.strip("[]"), 80, 5.0)
    with pytest.raises(HostRefused):
        fetch_url(f"http://{host}/openapi.json", NetworkPolicy(), timeout_s=5.0)
    assert time.monotonic() - started < 1.0  # nothing waited on a connection


async def test_redirects_are_not_followed() -> None:
    async with recording_server() as server:
        to_metadata = RestParameter("to", "query")
        spec = ApiSpec.create(
            name="go", description="redirects", parameters={"type": "object"},
            source="data:test",
            binding=RestBinding(server.base_url, "GET", "/redirect", (to_metadata,)),
        )  # fmt: skip
        executor = RestExecutor(policy=NetworkPolicy.from_hosts(["127.0.0.1"]), retries=0)
        try:
            outcome = await executor.execute(spec, {"to": "http://169.254.169.254/"})
        finally:
            await executor.aclose()
        policy = NetworkPolicy.from_hosts([f"localhost:{server.port}"])
        url = f"http://localhost:{server.port}/redirect?to=http://127.0.0.1:{server.port}/x"
        fetched = await _in_thread(fetch_url, url, policy)
    assert outcome.reason == "http_error" and "redirects are not followed" in outcome.message
    assert fetched.status_code == 302 and fetched.headers["location"].endswith("/x")
    assert [p for _, p, _ in server.requests if p == "/x"] == []  # not followed
    # fetched by name, connected to the checked address
    assert server.requests[-1][2] == f"localhost:{server.port}"


async def _in_thread(fn: Any, *args: Any) -> Any:
    import anyio

    return await anyio.to_thread.run_sync(lambda: fn(*args))


async def test_fetch_url_refuses_loopback_unless_allowed() -> None:
    async with recording_server() as server:
        url = f"{server.base_url}/openapi.json"
        with pytest.raises(HostRefused, match="loopback"):
            await _in_thread(fetch_url, url, NetworkPolicy())
        assert server.requests == []
        allowed = NetworkPolicy.from_hosts([f"127.0.0.1:{server.port}"])
        response = await _in_thread(fetch_url, url, allowed)
    assert response.json()["path"] == "/openapi.json"
    with pytest.raises(ValueError, match="exceeds 10 bytes"):
        async with recording_server() as again:
            policy = NetworkPolicy.from_hosts(["127.0.0.1"])
            await _in_thread(lambda: fetch_url(again.base_url, policy, max_bytes=10))


async def test_curation_probes_and_calls_only_allowed_hosts() -> None:
    async with counting_listener() as listener:
        results = await check_access(
            [weather_spec(f"http://127.0.0.1:{listener.port}")], AccessSettings(timeout_s=2.0)
        )
        (result,) = results.values()
        assert result.reason == "host_refused" and not result.tested
        assert listener.count == 0  # not even probed
    async with recording_server() as server:
        settings = AccessSettings(timeout_s=2.0, allow_hosts=(f"127.0.0.1:{server.port}",))
        (allowed,) = (await check_access([weather_spec(server.base_url)], settings)).values()
    assert allowed.ok and '"ok": true' in allowed.sample
    assert server.requests and server.requests[0][1] == "/weather?city=Oslo"


def test_config_allow_hosts(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[executors]\nallow_hosts = ["127.0.0.1:8080", "intranet.example"]\n')
    assert load_config(good).allow_hosts == ("127.0.0.1:8080", "intranet.example")
    bad = tmp_path / "bad.toml"
    bad.write_text('[executors]\nallow_hosts = ["http://127.0.0.1:8080/"]\n')
    with pytest.raises(ConfigError, match=r"executors\.allow_hosts: 'http://127\.0\.0\.1"):
        load_config(bad)
    bad.write_text('[executors]\nallow_hosts = "127.0.0.1"\n')
    with pytest.raises(ConfigError, match="expected list"):
        load_config(bad)


def _library_file(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "apis.jsonl"
    ApiLibrary([weather_spec(base_url)]).save(path)
    return path


@pytest.mark.slow
async def test_a_run_rejects_calls_to_a_loopback_api_as_host_refused(tmp_path: Path) -> None:
    async with recording_server() as server:
        config = PipelineConfig(
            out=tmp_path / "out", samples=6, feedback=False, partitions=1,
            api_sources=(str(_library_file(tmp_path, server.base_url)),),
            generators=(ModelConfig(kind="simulated"),),
            judges=(ModelConfig(kind="simulated", seed=1),),
        )  # fmt: skip
        summary = await run_pipeline(config)
    assert server.requests == []
    rejected = dict(summary.progress.rejected)
    assert rejected.get(("execution", "host_refused"), 0) > 0, rejected
    assert {reason for stage, reason in rejected if stage == "execution"} == {"host_refused"}


@pytest.mark.slow
async def test_allow_host_on_the_command_line_lets_a_run_call_the_api(tmp_path: Path) -> None:
    import sys

    import anyio

    async with recording_server() as server:
        args = [
            sys.executable, "-m", "streamer", "run", "--simulate", "--samples", "4",
            "--no-feedback", "--partitions", "1", "--out", str(tmp_path / "out"),
            "--apis", str(_library_file(tmp_path, server.base_url)),
            "--allow-host", f"127.0.0.1:{server.port}",
        ]  # fmt: skip
        result = await anyio.run_process(args, check=False)
        bad = await anyio.run_process([*args[:-1], "http://x/"], check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert server.requests and all(p.startswith("/weather?city=") for _, p, _ in server.requests)
    assert bad.returncode == 2 and "--allow-host" in bad.stderr.decode()


@pytest.mark.slow
async def test_curate_allow_host_option(tmp_path: Path) -> None:
    import json

    import anyio

    async with recording_server() as server:
        source = _library_file(tmp_path, server.base_url)
        out = tmp_path / "curated.jsonl"
        base = ["apis", "curate", str(source), "--out", str(out), "--timeout", "2"]

        def curate(*extra: str) -> dict[str, Any]:
            result = CliRunner().invoke(app, [*base, *extra])
            assert result.exit_code == 0, result.output
            report: dict[str, Any] = json.loads((tmp_path / "curated.report.json").read_text())
            return report

        refused = await anyio.to_thread.run_sync(curate)
        assert server.requests == []
        allowed = await anyio.to_thread.run_sync(
            lambda: curate("--allow-host", f"127.0.0.1:{server.port}")
        )
    assert refused["rejects"]["accessibility"] == {"host_refused": 1}
    assert allowed["apis_kept"] == 1, allowed.get("rejects")
    assert len(server.requests) == 1
