"""docker-compose.yml: valid against the Compose Specification, and consistent with the plan
and with the secrets deploy/compose/make-credentials.sh creates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.deploy.acls import AclPlan
from hub.deploy.topology import Topology
from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # resolves anchors and <<
    return doc


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_validates_against_the_compose_spec(tmp_path: Path) -> None:
    done = _check(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr
    # The same check refuses a broken file, so passing means something.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("restart: unless-stopped", "restart: 3", 1))
    assert _check(broken).returncode != 0


def test_three_kraft_nodes(compose: dict[str, Any]) -> None:
    nodes = {k: v for k, v in compose["services"].items() if k.startswith("kafka-")}
    assert len(nodes) == 3
    assert {v["image"].split(":")[0] for v in nodes.values()} == {"apache/kafka"}
    assert sorted(v["environment"]["NODE_ID"] for v in nodes.values()) == ["1", "2", "3"]
    for v in nodes.values():
        assert "healthcheck" in v
        assert any(str(m).endswith(":/var/lib/kafka/data") for m in v["volumes"])
    start = (ROOT / "deploy/compose/kafka/start.sh").read_text()
    assert "process.roles=broker,controller" in start
    assert "CLIENT:SASL_SSL" in start and "allow.everyone.if.no.acl.found=false" in start


def test_services_present(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    assert {
        "postgres",
        "schema-registry",
        "hub-init",
        "hub-processor-0",
        "hub-processor-1",
        "hub-audit-ingest",
        "hub-console",
        "hub-analytics",
        "otel-collector",
        "jaeger",
    } <= services
    commands = {s: compose["services"][s].get("command") for s in services}
    assert commands["hub-processor-0"] == ["process", "--instance", "hub-processor-0"]
    assert commands["hub-processor-1"] == ["process", "--instance", "hub-processor-1"]
    assert commands["hub-init"][:2] == ["deploy", "apply"]


def test_hub_services_use_their_own_principal_and_secret(
    compose: dict[str, Any], plan: AclPlan
) -> None:
    principals = {p.name for p in plan.principals}
    secret_files = {k: v["file"] for k, v in compose["secrets"].items()}
    for name, svc in compose["services"].items():
        env = svc.get("environment") or {}
        user = env.get("HUB_KAFKA__SASL_USERNAME")
        if user is None or name == "hub-init":
            continue
        assert user in principals, name
        mounted = {
            (s["source"], s.get("target")) if isinstance(s, dict) else (s, None)
            for s in svc["secrets"]
        }
        # The password mounted as kafka-password is that principal's generated file.
        source = next(src for src, target in mounted if target == "kafka-password")
        assert secret_files[source].endswith(f"kafka-users/{user}.password"), name
        # Every FILE__ variable points at a secret mounted into this service.
        sources = {src for src, _ in mounted}
        for var, value in env.items():
            if var.startswith("FILE__"):
                assert value.removeprefix("/run/secrets/") in sources, (name, var)


def test_no_secret_inline(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for var, value in (svc.get("environment") or {}).items():
            secretish = any(w in var for w in ("PASSWORD", "KEYS__", "AUDIT_URL", "SECRET"))
            if secretish:
                assert var.endswith("_FILE") or var.startswith("FILE__"), (name, var)
            assert "@" not in str(value), (name, var)  # no credentials inside a URL


def test_every_secret_file_is_generated(
    compose: dict[str, Any], topology: Topology, tmp_path: Path
) -> None:
    """Run make-credentials.sh in a scratch copy of the tree; every file compose reads exists."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to generate the compose secrets")
    scripts = tmp_path / "deploy" / "compose"
    scripts.mkdir(parents=True)
    shutil.copy(ROOT / "deploy/compose/make-credentials.sh", scripts)
    hub = tmp_path / "hub"
    hub.write_text(
        f"#!/bin/sh\ncd {ROOT} && exec {sys.executable} -c "
        '"import argparse,sys; from hub.cli import deploy; p=argparse.ArgumentParser(); '
        "deploy.register(p.add_subparsers(dest='c')); a=p.parse_args(sys.argv[1:]); "
        'sys.exit(a.handler(a))" "$@"\n'
    )
    hub.chmod(0o755)
    subprocess.run(
        ["bash", str(scripts / "make-credentials.sh")],
        env={**os.environ, "HUB": str(hub)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name, spec in compose["secrets"].items():
        path = tmp_path / spec["file"]
        assert path.is_file() and path.stat().st_size > 0, name
    for domain in topology.linkage_domains:
        assert f"pseudonym-key-{domain}" in compose["secrets"]
    pem = (tmp_path / "deploy/compose/secrets/kafka-broker.pem").read_text()
    assert "BEGIN PRIVATE KEY" in pem and pem.count("BEGIN CERTIFICATE") == 2


def test_otel_collector_config(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy/otel-collector.yaml").read_text())
    traces = config["service"]["pipelines"]["traces"]
    assert traces["exporters"] == ["otlp/jaeger"]
    assert config["exporters"]["otlp/jaeger"]["endpoint"].startswith("jaeger:")
    env = compose["services"]["hub-processor-0"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_alert_rules_use_only_metrics_the_hub_exports() -> None:
    """Rules that name a metric the hub does not export would never fire."""
    import re

    from prometheus_client import CollectorRegistry

    from hub.telemetry.metrics import Metrics

    registry = CollectorRegistry()
    Metrics(registry)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    exported = {
        m.name + suffix for m in registry.collect() for suffix in suffixes.get(m.type, ("",))
    }
    rules = yaml.safe_load((ROOT / "deploy/prometheus/hub-alerts.yaml").read_text())
    names = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["expr"] and rule["annotations"]["summary"]
            names |= set(re.findall(r"\b(hub_[a-z_]+)\b", rule["expr"]))
    assert names
    assert names <= exported, names - exported
    assert {"hub_consumer_lag", "hub_deadletters_total", "hub_decisions_total"} <= names
