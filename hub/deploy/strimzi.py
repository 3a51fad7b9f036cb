"""The plan as Strimzi ``KafkaTopic`` and ``KafkaUser`` resources (pure: returns objects).

Users authenticate with SCRAM-SHA-512; the Strimzi User Operator generates each password
into a Secret named after the user, which the hub's Deployments mount (see
:mod:`hub.deploy.kubernetes`). Topic names contain dots, which Kubernetes names allow; the
resource name is the topic name, so ``kubectl get kafkatopic`` reads like the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.deploy.acls import AclPlan, Principal, ResourceType
from hub.deploy.topology import Topology

STRIMZI_API = "kafka.strimzi.io/v1beta2"

_RESOURCE = {
    ResourceType.TOPIC: "topic",
    ResourceType.GROUP: "group",
    ResourceType.TRANSACTIONAL_ID: "transactionalId",
}


@dataclass(frozen=True)
class _Cluster:
    """Where the resources go: the Strimzi cluster (whose operators watch for its label)."""

    name: str
    namespace: str
    api_version: str

    def resource(
        self,
        kind: str,
        name: str,
        *,
        label: tuple[str, str],
        annotation: tuple[str, str],
        spec: dict[str, Any],
    ) -> dict[str, Any]:
        """One resource of the partnership, with one label and one annotation of its own."""
        return {
            "apiVersion": self.api_version,
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    "strimzi.io/cluster": self.name,
                    "app.kubernetes.io/part-of": "partner-data-hub",
                    label[0]: label[1],
                },
                "annotations": {annotation[0]: annotation[1]},
            },
            "spec": spec,
        }


def kafka_topics(
    topology: Topology, *, cluster: str, namespace: str, api_version: str = STRIMZI_API
) -> list[dict[str, Any]]:
    at = _Cluster(cluster, namespace, api_version)
    return [
        at.resource(
            "KafkaTopic",
            t.name,
            label=("hub.partnership/role", t.role.value),
            annotation=("hub.partnership/retention", t.retention_source),
            spec={
                "topicName": t.name,
                "partitions": t.partitions,
                "replicas": t.replication_factor,
                "config": dict(t.config),
            },
        )
        for t in topology.topics
    ]


def _acls(principal: Principal) -> list[dict[str, Any]]:
    return [
        {
            "type": "allow",
            "resource": {"type": _RESOURCE[rtype], "name": name, "patternType": "literal"},
            "operations": [op.value.title() for op in ops],
        }
        for rtype, name, ops in principal.operations_by_resource()
    ]


def kafka_users(
    plan: AclPlan, *, cluster: str, namespace: str, api_version: str = STRIMZI_API
) -> list[dict[str, Any]]:
    at = _Cluster(cluster, namespace, api_version)
    return [
        at.resource(
            "KafkaUser",
            p.name,
            label=("hub.partnership/principal-kind", p.kind.value),
            annotation=("hub.partnership/description", p.description),
            spec={
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": _acls(p)},
            },
        )
        for p in plan.principals
    ]
