"""The plan as Strimzi ``KafkaTopic`` and ``KafkaUser`` resources (pure: returns objects).

Users authenticate with SCRAM-SHA-512; the Strimzi User Operator generates each password
into a Secret named after the user, which the hub's Deployments mount (see
:mod:`hub.deploy.kubernetes`). Topic names contain dots, which Kubernetes names allow; the
resource name is the topic name, so ``kubectl get kafkatopic`` reads like the plan.
"""

from __future__ import annotations

from typing import Any

from hub.deploy.acls import AclPlan, Principal, ResourceType
from hub.deploy.topology import Topology

STRIMZI_API = "kafka.strimzi.io/v1beta2"

_RESOURCE = {
    ResourceType.TOPIC: "topic",
    ResourceType.GROUP: "group",
    ResourceType.TRANSACTIONAL_ID: "transactionalId",
}


def _labels(cluster: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "strimzi.io/cluster": cluster,
        "app.kubernetes.io/part-of": "partner-data-hub",
        **(extra or {}),
    }


def kafka_topics(
    topology: Topology, *, cluster: str, namespace: str, api_version: str = STRIMZI_API
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in topology.topics:
        out.append(
            {
                "apiVersion": api_version,
                "kind": "KafkaTopic",
                "metadata": {
                    "name": t.name,
                    "namespace": namespace,
                    "labels": _labels(cluster, {"hub.partnership/role": t.role.value}),
                    "annotations": {"hub.partnership/retention": t.retention_source},
                },
                "spec": {
                    "topicName": t.name,
                    "partitions": t.partitions,
                    "replicas": t.replication_factor,
                    "config": dict(t.config),
                },
            }
        )
    return out


def _acls(principal: Principal) -> list[dict[str, Any]]:
    grouped: dict[tuple[ResourceType, str], list[str]] = {}
    for g in principal.grants:
        grouped.setdefault((g.resource_type, g.resource), []).append(g.operation.value.title())
    return [
        {
            "type": "allow",
            "resource": {"type": _RESOURCE[rtype], "name": name, "patternType": "literal"},
            "operations": ops,
        }
        for (rtype, name), ops in sorted(grouped.items())
    ]


def kafka_users(
    plan: AclPlan, *, cluster: str, namespace: str, api_version: str = STRIMZI_API
) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": api_version,
            "kind": "KafkaUser",
            "metadata": {
                "name": p.name,
                "namespace": namespace,
                "labels": _labels(cluster, {"hub.partnership/principal-kind": p.kind.value}),
                "annotations": {"hub.partnership/description": p.description},
            },
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": _acls(p)},
            },
        }
        for p in plan.principals
    ]
