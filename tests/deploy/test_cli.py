"""``hub deploy`` through its own parser (main.py wires ``deploy.register``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.cli import deploy
from hub.deploy.acls import AclPlan
from hub.errors import ConfigError
from tests.cli.command import parse, run
from tests.kafka_env import scram_env


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy", "plan", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = {p["name"] for p in doc["principals"]}
    assert {"hub-processor", "partner-merseyside-police", "recipient-liverpool-mash"} <= names
    processor = next(p for p in doc["principals"] if p["name"] == "hub-processor")
    assert not [g for g in processor["grants"] if g["resource_type"] == "transactional_id"]


def test_plan_transactions_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy", "plan", "--json", "--transactions"]) == 0
    doc = json.loads(capsys.readouterr().out)
    processor = next(p for p in doc["principals"] if p["name"] == "hub-processor")
    assert {g["resource"] for g in processor["grants"] if g["resource_type"] == "transactional_id"}


def test_plan_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy", "plan"]) == 0
    out = capsys.readouterr().out
    assert "every grant literal" in out
    assert "partner-sefton-mbc" in out and "no agreement names it yet" in out


def test_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy", "render", "--output", str(tmp_path), "--namespace", "hub-test"]) == 0
    assert "kubernetes/hub.yaml" in capsys.readouterr().out
    assert "namespace: hub-test" in (tmp_path / "kubernetes" / "hub.yaml").read_text()


def test_user_passwords(tmp_path: Path, plan: AclPlan) -> None:
    (tmp_path / "hub-processor.password").write_text("s" * 32 + "\n")
    assert deploy.user_passwords(tmp_path, plan) == {"hub-processor": b"s" * 32}
    (tmp_path / "hub-procesor.password").write_text("s" * 32)
    with pytest.raises(ConfigError, match="no principal hub-procesor"):
        deploy.user_passwords(tmp_path, plan)


def test_short_password_refused(tmp_path: Path, plan: AclPlan) -> None:
    (tmp_path / "hub-audit.password").write_text("short")
    with pytest.raises(ConfigError, match="shorter than 16"):
        deploy.user_passwords(tmp_path, plan)


def test_admin_config_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scram_env(monkeypatch, tmp_path, "hub-admin", "admin-password-123")
    args = parse(["deploy", "apply", "--ssl-ca-location", "/ca.crt"])
    conf = deploy.admin_config(args, "kafka-1:9094")
    assert conf == {
        "bootstrap.servers": "kafka-1:9094",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "hub-admin",
        "sasl.password": "admin-password-123",
        "ssl.ca.location": "/ca.crt",
    }


def test_apply_needs_a_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(ConfigError, match="--bootstrap"):
        run(["deploy", "apply"])


def test_processor_instances_flag(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deploy", "plan", "--json", "--transactions", "--processor-instances", "p-0,p-1,p-2"]
    assert run(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    processor = next(p for p in doc["principals"] if p["name"] == "hub-processor")
    ids = {g["resource"] for g in processor["grants"] if g["resource_type"] == "transactional_id"}
    assert ids == {"p-0", "p-1", "p-2"}


def test_bad_partner_retention_refused() -> None:
    with pytest.raises(ConfigError, match="ISO 8601"):
        run(["deploy", "plan", "--partner-retention", "a week"])


def test_render_refuses_transactional_ids_that_are_not_the_pods(tmp_path: Path) -> None:
    argv = ["deploy", "render", "--output", str(tmp_path), "--transactions"]
    with pytest.raises(ConfigError, match="hub-processor-0,hub-processor-1,hub-processor-2"):
        run([*argv, "--processor-replicas", "3"])
    ids = "hub-processor-0,hub-processor-1,hub-processor-2"
    assert run([*argv, "--processor-replicas", "3", "--processor-instances", ids]) == 0
    assert "kind: StatefulSet" in (tmp_path / "kubernetes" / "hub.yaml").read_text()
