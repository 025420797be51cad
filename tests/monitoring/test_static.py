"""The monitoring files without a running pipeline: compose schema, dashboards, promtool."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from dashboards.build import DASHBOARDS
from dashboards.build import main as build_dashboards
from streamer.pipeline._build import STAGE_NAMES
from streamer.pipeline._config import load_config

from ._exprs import alert_lhs, alerts, load_dashboards, recordings
from .conftest import DASHBOARDS as DASHBOARD_DIR
from .conftest import REPO, RULES

COMPOSE = REPO / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose_spec.json")


def _compose() -> dict[str, object]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_compose_file_validates_against_the_compose_specification_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []


def test_the_schema_catches_a_broken_compose_file() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = _compose() | {"services": {"format": {"image": "x", "deploy": {"replicas": "two"}}}}
    assert not jsonschema.Draft201909Validator(schema).is_valid(broken)


def test_compose_runs_every_stage_with_the_shipped_configs_and_prometheus_scrapes_them() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    served = {
        s["command"][1]: name
        for name, s in services.items()
        if isinstance(s.get("command"), list) and s["command"][:1] == ["serve"]
    }
    assert set(served) == {*STAGE_NAMES, "sampler"}
    assert {"kafka", "prometheus", "grafana", "simulate-llm", "rest-api"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    for config in ("apigen.toml", "apigen.openai.toml"):
        loaded = load_config(REPO / "deploy" / config)
        assert loaded.metrics_port == 9464 and loaded.metrics_host == "0.0.0.0"
        assert loaded.kafka == "kafka:9092"
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    (apigen_job,) = [j for j in prometheus["scrape_configs"] if j["job_name"] == "apigen"]
    assert set(apigen_job["dns_sd_configs"][0]["names"]) == set(served.values())


def test_prometheus_scrapes_every_apigen_process_of_compose_where_it_serves() -> None:
    """Every service of the apigen image is a target: a stage on 9464, any other (the
    simulated endpoint, the REST service) on the port its command listens on."""
    services = _compose()["services"]
    assert isinstance(services, dict)
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        (name, sd["port"])
        for job in prometheus["scrape_configs"]
        if job["job_name"].startswith("apigen")
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    expected = set()
    for name, service in services.items():
        if service.get("image") != "apigen-streamer:latest":
            continue
        command = service["command"]
        port = 9464 if command[0] == "serve" else int(command[command.index("--port") + 1])
        expected.add((name, port))
    assert {"simulate-llm", "rest-api", "generator"} <= {name for name, _ in expected}
    assert targets == expected


def test_committed_dashboards_are_the_builders_output() -> None:
    assert build_dashboards(["--check"]) == 0
    assert {p.stem for p in DASHBOARD_DIR.glob("*.json")} == set(DASHBOARDS)


def test_a_stale_dashboard_is_reported(tmp_path: Path) -> None:
    assert build_dashboards(["--out", str(tmp_path)]) == 0
    (tmp_path / "llm.json").write_text("{}")
    assert build_dashboards(["--check", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("name", sorted(load_dashboards(DASHBOARD_DIR)))
def test_dashboard_structure(name: str) -> None:
    board = load_dashboards(DASHBOARD_DIR)[name]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    for panel in board["panels"]:
        where = f"{name}: {panel['title']!r}"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
        assert panel["targets"], f"{where}: no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", where
            used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval", "__range"}
            assert used <= set(variables), f"{where}: undefined variables {used - set(variables)}"
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, where
    for var in board["templating"]["list"][1:]:
        assert var["datasource"]["uid"] == "${datasource}"


def test_the_replay_dashboard_compares_versions_of_one_stage() -> None:
    board = load_dashboards(DASHBOARD_DIR)["replay.json"]
    stage = next(v for v in board["templating"]["list"] if v["name"] == "stage")
    assert stage["multi"] is False
    assert any(
        "by (version" in t["expr"] and 'stage=~"$stage"' in t["expr"]
        for p in board["panels"]
        for t in p["targets"]
    )


def test_every_alert_has_a_threshold_form_and_runbook_text() -> None:
    found = alerts(RULES)
    assert {name for name, _ in found} >= {
        "ApigenPassRateDropping",
        "ApigenConsumerLagGrowing",
        "ApigenStageStalled",
        "ApigenLlmErrorRate",
        "ApigenExecutorFailureSpike",
    }
    for _, expr in found:
        assert alert_lhs(expr.promql)


def test_recording_rules_cover_pass_rate_per_stage_and_model_over_several_windows() -> None:
    names = {name for name, _ in recordings(RULES)}
    for scope in ("stage", "model_stage"):
        for window in ("5m", "30m", "1h"):
            assert f"apigen:{scope}_pass_rate:ratio_rate{window}" in names


def _promtool(
    promtool: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_check_rules(promtool: str) -> None:
    result = _promtool(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_rules_rejects_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - record: a:b\n    expr: sum(rate(x[5m])\n")
    assert _promtool(promtool, "check", "rules", str(bad)).returncode != 0


def test_promtool_check_config_of_the_compose_prometheus(promtool: str, tmp_path: Path) -> None:
    # The compose config loads rules from the container path; point a copy at the repo's.
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    config["rule_files"] = [str(RULES)]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config))
    for path in (REPO / "deploy/prometheus/prometheus.yml", local):
        result = _promtool(promtool, "check", "config", str(path))
        assert result.returncode == 0, result.stdout + result.stderr
    assert "19 rules found" in _promtool(promtool, "check", "config", str(local)).stdout


def test_promtool_unit_tests_fire_the_alerts(promtool: str) -> None:
    result = _promtool(promtool, "test", "rules", str(REPO / "deploy/prometheus/rules.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_builder_runs_as_a_script(tmp_path: Path) -> None:
    script = REPO / "dashboards" / "build.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "overview.json").read_text())["uid"] == "apigen-overview"
