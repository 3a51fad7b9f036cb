"""Renderings parse and validate against the schemas of the tools that consume them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from hub.deploy.acls import AclPlan, PlanOptions, build_acl_plan
from hub.deploy.kubernetes import KubernetesOptions, hub_manifests
from hub.deploy.render import render_all, write_rendering
from hub.deploy.script import render_script
from hub.deploy.strimzi import kafka_topics, kafka_users
from hub.deploy.topology import Topology

SCHEMAS = Path(__file__).parent / "schemas"
K8S_VERSION = "1.30"


@pytest.fixture(scope="module")
def strimzi_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / "strimzi-topic-user.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _strimzi(topology: Topology, plan: AclPlan) -> list[dict[str, Any]]:
    return [
        *kafka_topics(topology, cluster="hub-kafka", namespace="partner-hub"),
        *kafka_users(plan, cluster="hub-kafka", namespace="partner-hub"),
    ]


def test_strimzi_resources_validate(
    topology: Topology, plan: AclPlan, strimzi_validator: jsonschema.Draft202012Validator
) -> None:
    docs = _strimzi(topology, plan)
    assert len(docs) == len(topology.topics) + len(plan.principals)
    for doc in docs:
        errors = [e.message for e in strimzi_validator.iter_errors(doc)]
        assert not errors, (doc["metadata"]["name"], errors)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["spec"].update(partitions=0),
        lambda d: d["spec"].update(replica=3),
        lambda d: d["metadata"]["labels"].pop("strimzi.io/cluster"),
    ],
)
def test_strimzi_schema_catches_a_broken_topic(
    topology: Topology, strimzi_validator: jsonschema.Draft202012Validator, damage: Any
) -> None:
    doc = copy.deepcopy(kafka_topics(topology, cluster="c", namespace="n")[0])
    damage(doc)
    assert list(strimzi_validator.iter_errors(doc))


def test_strimzi_users_carry_exactly_the_plan(plan: AclPlan) -> None:
    users = {u["metadata"]["name"]: u for u in kafka_users(plan, cluster="c", namespace="n")}
    assert set(users) == {p.name for p in plan.principals}
    for p in plan.principals:
        spec = users[p.name]["spec"]
        assert spec["authentication"] == {"type": "scram-sha-512"}
        rendered = {
            (acl["resource"]["type"], acl["resource"]["name"], op)
            for acl in spec["authorization"]["acls"]
            for op in acl["operations"]
        }
        assert all(
            acl["resource"]["patternType"] == "literal" and acl["type"] == "allow"
            for acl in spec["authorization"]["acls"]
        )
        kinds = {"topic": "topic", "group": "group", "transactional_id": "transactionalId"}
        expected = {
            (kinds[g.resource_type.value], g.resource, g.operation.value.title()) for g in p.grants
        }
        assert rendered == expected


def test_kubernetes_manifests_validate(topology: Topology) -> None:
    for transactions in (False, True):
        docs = hub_manifests(topology, KubernetesOptions(transactions=transactions))
        for doc in docs:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kubernetes_validation_is_not_vacuous(topology: Topology) -> None:
    doc = copy.deepcopy(
        next(d for d in hub_manifests(topology) if d["metadata"]["name"] == "hub-processor")
    )
    doc["spec"]["template"]["spec"]["containers"][0]["envv"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet")}


def test_hub_services_and_processor_replicas(topology: Topology) -> None:
    docs = hub_manifests(topology)
    workloads = _workloads(docs)
    assert set(workloads) == {"hub-processor", "hub-audit-ingest", "hub-console", "hub-analytics"}
    assert workloads["hub-processor"]["kind"] == "Deployment"
    assert workloads["hub-processor"]["spec"]["replicas"] == 2
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Service"} == set(workloads)
    # With transactions the processors need stable names: their transactional ids.
    stateful = _workloads(hub_manifests(topology, KubernetesOptions(transactions=True)))
    assert stateful["hub-processor"]["kind"] == "StatefulSet"
    granted = PlanOptions(transactions=True).processor_instances
    assert granted == tuple(f"hub-processor-{i}" for i in range(2))


def test_secrets_are_referenced_never_inlined(topology: Topology) -> None:
    docs = hub_manifests(topology)
    assert not [d for d in docs if d["kind"] == "Secret"]
    for name, w in _workloads(docs).items():
        container = w["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        # Every secret-bearing variable comes from a Secret reference.
        for var, entry in env.items():
            if var.startswith("HUB_PSEUDONYM_KEYS__") or var == "HUB_AUDIT_URL":
                assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], (name, var)
        assert env["HUB_KAFKA__SASL_PASSWORD_FILE"]["value"].startswith("/var/run/hub/kafka/")
        secrets = {
            v["secret"]["secretName"]
            for v in w["spec"]["template"]["spec"]["volumes"]
            if "secret" in v
        }
        # The Strimzi-generated Secret of the service's own principal, and the cluster CA.
        principal = env["HUB_KAFKA__SASL_USERNAME"]["value"]
        assert secrets == {principal, "hub-kafka-cluster-ca-cert"}
    processor = _workloads(docs)["hub-processor"]["spec"]["template"]["spec"]["containers"][0]
    assert "HUB_PSEUDONYM_KEYS__MSN" in {e["name"] for e in processor["env"]}
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert config["HUB_KAFKA__SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["HUB_KAFKA__SASL_MECHANISM"] == "SCRAM-SHA-512"


def test_render_writes_every_file_and_yaml_parses(
    topology: Topology, plan: AclPlan, tmp_path: Path
) -> None:
    written = write_rendering(render_all(topology, plan, KubernetesOptions()), tmp_path)
    rel = {str(p.relative_to(tmp_path)) for p in written}
    assert rel == {
        "plan.json",
        "plan.txt",
        "kafka/kafka-apply.sh",
        "strimzi/topics.yaml",
        "strimzi/users.yaml",
        "kubernetes/hub.yaml",
    }
    assert os.access(tmp_path / "kafka/kafka-apply.sh", os.X_OK)
    users = list(yaml.safe_load_all((tmp_path / "strimzi/users.yaml").read_text()))
    assert len(users) == len(plan.principals)
    doc = json.loads((tmp_path / "plan.json").read_text())
    assert len(doc["topics"]) == len(topology.topics)


def test_script_runs_the_plan_with_kafka_tools(topology: Topology, tmp_path: Path) -> None:
    """Run the script against stand-in Kafka tools that log their arguments."""
    plan = build_acl_plan(topology, PlanOptions(transactions=True))
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("kafka-topics.sh", "kafka-acls.sh", "kafka-configs.sh"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        stub.chmod(0o755)
    users = tmp_path / "users"
    users.mkdir()
    (users / "partner-nhs-cm.password").write_text("x" * 24)
    script = tmp_path / "apply.sh"
    script.write_text(render_script(topology, plan))
    env = {
        **os.environ,
        "KAFKA_BIN": str(bin_dir),
        "BOOTSTRAP": "kafka-1:9094",
        "COMMAND_CONFIG": "admin.properties",
        "USERS_DIR": str(users),
    }
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, timeout=30)
    calls = log.read_text().splitlines()
    creates = [c for c in calls if c.startswith("kafka-topics.sh")]
    assert len(creates) == len(topology.topics)
    assert all("--replication-factor 3" in c and "min.insync.replicas=2" in c for c in creates)
    configs = [c for c in calls if c.startswith("kafka-configs.sh")]
    assert len(configs) == 1 and "--entity-name partner-nhs-cm" in configs[0]
    acl_calls = [c for c in calls if c.startswith("kafka-acls.sh")]
    issued = set()
    for call in acl_calls:
        words = call.split()
        assert words[words.index("--resource-pattern-type") + 1] == "literal"
        principal = words[words.index("--allow-principal") + 1]
        # One call may name several resources (one flag each), all given the same operations.
        flags = ("--topic", "--group", "--transactional-id")
        resources = [(w, words[i + 1]) for i, w in enumerate(words) if w in flags]
        ops = [words[i + 1].upper() for i, w in enumerate(words) if w == "--operation"]
        assert resources and ops, call
        issued |= {(principal, kind, r, op) for kind, r in resources for op in ops}
    flag = {"topic": "--topic", "group": "--group", "transactional_id": "--transactional-id"}
    expected = {
        (g.kafka_principal, flag[g.resource_type.value], g.resource, g.operation.value)
        for g in plan.grants
    }
    assert issued == expected


def test_script_refuses_to_run_without_bootstrap(
    topology: Topology, plan: AclPlan, tmp_path: Path
) -> None:
    script = tmp_path / "apply.sh"
    script.write_text(render_script(topology, plan))
    env = {k: v for k, v in os.environ.items() if k not in ("BOOTSTRAP", "COMMAND_CONFIG")}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, timeout=30)
    assert done.returncode != 0 and b"BOOTSTRAP" in done.stderr


def test_committed_example_rendering_is_current() -> None:
    """deploy/k8s/ is `hub deploy render --output deploy/k8s` of the reference partnership:
    re-render it when the partnership changes, or this fails."""
    from hub.deploy.load import load_topology
    from tests.conftest import ROOT

    topology = load_topology(ROOT / "partnership", ROOT / "schemas" / "avro")
    rendering = render_all(topology, build_acl_plan(topology), KubernetesOptions())
    for rel, text in rendering.files.items():
        committed = ROOT / "deploy" / "k8s" / rel
        assert committed.is_file(), rel
        assert committed.read_text() == text, f"{rel} is stale: run hub deploy render"
