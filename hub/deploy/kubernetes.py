"""Kubernetes manifests for the hub's services (pure: returns objects).

Each service runs the hub image with one ``hub`` subcommand and is configured only by
``HUB_*`` environment variables: shared values from the ``hub-config`` ConfigMap, secrets
referenced from Secrets and never inlined. Kafka credentials come from the Secret the
Strimzi User Operator creates for each ``KafkaUser`` (key ``password``), the cluster CA
from Strimzi's ``<cluster>-cluster-ca-cert``. The pseudonymisation keys Secret and the audit
database Secret are created by operators (docs/operators/deploy.md), never rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.deploy.acls import (
    ANALYTICS_PRINCIPAL,
    AUDIT_PRINCIPAL,
    CONSOLE_PRINCIPAL,
    PROCESSOR_PRINCIPAL,
)
from hub.deploy.topology import Topology

PART_OF = "partner-data-hub"
CONFIG_MAP = "hub-config"
PSEUDONYM_SECRET = "hub-pseudonym-keys"
AUDIT_DB_SECRET = "hub-audit-db"
METRICS_PORT = 9464
CONSOLE_PORT = 8400
_KAFKA_SECRET_DIR = "/var/run/hub/kafka"
_CA_DIR = "/var/run/hub/kafka-ca"


@dataclass(frozen=True)
class KubernetesOptions:
    namespace: str = "partner-hub"
    image: str = "partner-data-hub:0.1.0"
    cluster: str = "hub-kafka"  # the Strimzi Kafka resource's name
    bootstrap: str = "hub-kafka-kafka-bootstrap:9093"
    schema_registry_url: str = "http://schema-registry:8080/apis/ccompat/v7"
    otlp_endpoint: str = "http://otel-collector:4318"
    processor_replicas: int = 2
    transactions: bool = False
    # The analytics service's command, as issue 8 defines it.
    analytics_args: tuple[str, ...] = ("analytics", "run")


@dataclass(frozen=True)
class _Service:
    name: str
    args: tuple[str, ...]
    principal: str
    replicas: int
    needs_audit_db: bool
    needs_pseudonym_keys: bool
    port: int | None  # a served HTTP port besides metrics
    # A persistent data dir holds the audit signing key across restarts (ingester only).
    persistent_data: bool = False


def _services(opts: KubernetesOptions) -> list[_Service]:
    return [
        _Service(
            "hub-processor",
            ("process",),
            PROCESSOR_PRINCIPAL,
            opts.processor_replicas,
            needs_audit_db=False,
            needs_pseudonym_keys=True,
            port=None,
        ),
        _Service(
            "hub-audit-ingest",
            ("audit", "ingest"),
            AUDIT_PRINCIPAL,
            1,
            needs_audit_db=True,
            needs_pseudonym_keys=False,
            port=None,
            persistent_data=True,
        ),
        _Service(
            "hub-console",
            # Cookies marked Secure: the console is served behind a TLS-terminating ingress.
            ("console", "--host", "0.0.0.0", "--port", str(CONSOLE_PORT), "--secure-cookies"),
            CONSOLE_PRINCIPAL,
            1,
            needs_audit_db=True,
            needs_pseudonym_keys=True,  # subject reports tokenise identifiers per domain
            port=CONSOLE_PORT,
        ),
        _Service(
            "hub-analytics",
            opts.analytics_args,
            ANALYTICS_PRINCIPAL,
            1,
            needs_audit_db=False,
            needs_pseudonym_keys=True,
            port=None,
        ),
    ]


def _meta(name: str, opts: KubernetesOptions, component: str | None = None) -> dict[str, Any]:
    labels = {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/name": component or name}
    return {"name": name, "namespace": opts.namespace, "labels": labels}


def config_map(opts: KubernetesOptions) -> dict[str, Any]:
    data = {
        "HUB_BOOTSTRAP_SERVERS": opts.bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": opts.schema_registry_url,
        "HUB_DATA_DIR": "/var/lib/hub",
        "HUB_TRACING": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": opts.otlp_endpoint,
        "HUB_METRICS_PORT": str(METRICS_PORT),
        # Containers are scraped from outside: listen on every interface.
        "HUB_METRICS_HOST": "0.0.0.0",
        "HUB_TRANSACTIONS": "true" if opts.transactions else "false",
        "HUB_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "HUB_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "HUB_KAFKA__SSL_CA_LOCATION": f"{_CA_DIR}/ca.crt",
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(CONFIG_MAP, opts),
        "data": data,
    }


def _env(svc: _Service, topology: Topology) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        # Unique per pod, named in every audit record the instance writes.
        {
            "name": "HUB_PROCESSOR_INSTANCE",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
        },
        {"name": "HUB_KAFKA__SASL_USERNAME", "value": svc.principal},
        {"name": "HUB_KAFKA__SASL_PASSWORD_FILE", "value": f"{_KAFKA_SECRET_DIR}/password"},
    ]
    if svc.needs_pseudonym_keys:
        env += [
            {
                "name": f"HUB_PSEUDONYM_KEYS__{domain.upper().replace('-', '_')}",
                "valueFrom": {"secretKeyRef": {"name": PSEUDONYM_SECRET, "key": domain}},
            }
            for domain in topology.linkage_domains
        ]
    if svc.needs_audit_db:
        env.append(
            {
                "name": "HUB_AUDIT_URL",
                "valueFrom": {"secretKeyRef": {"name": AUDIT_DB_SECRET, "key": "url"}},
            }
        )
    return env


def _container(svc: _Service, topology: Topology, opts: KubernetesOptions) -> dict[str, Any]:
    ports = [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}]
    if svc.port is not None:
        ports.append({"name": "http", "containerPort": svc.port, "protocol": "TCP"})
    container: dict[str, Any] = {
        "name": svc.name,
        "image": opts.image,
        "args": list(svc.args),
        "envFrom": [{"configMapRef": {"name": CONFIG_MAP}}],
        "env": _env(svc, topology),
        "ports": ports,
        "volumeMounts": [
            {"name": "kafka-credentials", "mountPath": _KAFKA_SECRET_DIR, "readOnly": True},
            {"name": "kafka-ca", "mountPath": _CA_DIR, "readOnly": True},
            {"name": "data", "mountPath": "/var/lib/hub"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if svc.port is not None:
        container["readinessProbe"] = {
            "tcpSocket": {"port": "http"},
            "periodSeconds": 10,
        }
    return container


def _volumes(svc: _Service, opts: KubernetesOptions) -> list[dict[str, Any]]:
    data: dict[str, Any] = (
        {"name": "data", "persistentVolumeClaim": {"claimName": f"{svc.name}-data"}}
        if svc.persistent_data
        else {"name": "data", "emptyDir": {}}
    )
    return [
        {"name": "kafka-credentials", "secret": {"secretName": svc.principal}},
        {
            "name": "kafka-ca",
            "secret": {
                "secretName": f"{opts.cluster}-cluster-ca-cert",
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            },
        },
        data,
        {"name": "tmp", "emptyDir": {}},
    ]


def _workload(svc: _Service, topology: Topology, opts: KubernetesOptions) -> dict[str, Any]:
    labels = {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/name": svc.name}
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            # SIGTERM finishes the batch in flight and commits; give it time.
            "terminationGracePeriodSeconds": 60,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
            "containers": [_container(svc, topology, opts)],
            "volumes": _volumes(svc, opts),
        },
    }
    spec: dict[str, Any] = {
        "replicas": svc.replicas,
        "selector": {"matchLabels": labels},
        "template": pod,
    }
    # Transactions need stable transactional ids (the instance names, which the ACL plan
    # grants literally): a StatefulSet's pods are hub-processor-0, -1, ...
    if svc.name == "hub-processor" and opts.transactions:
        spec["serviceName"] = svc.name
        kind = "StatefulSet"
    else:
        kind = "Deployment"
        if svc.persistent_data:
            spec["strategy"] = {"type": "Recreate"}  # one writer of the volume at a time
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(svc.name, opts), "spec": spec}


def _service(svc: _Service, opts: KubernetesOptions) -> dict[str, Any]:
    ports = [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"}]
    if svc.port is not None:
        ports.append({"name": "http", "port": 80, "targetPort": "http"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(svc.name, opts),
        "spec": {
            "selector": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/name": svc.name},
            "ports": ports,
        },
    }


def _claim(svc: _Service, opts: KubernetesOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(f"{svc.name}-data", opts, svc.name),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def hub_manifests(
    topology: Topology, opts: KubernetesOptions | None = None
) -> list[dict[str, Any]]:
    """ConfigMap, then per service: its claim (if any), workload and Service."""
    o = opts or KubernetesOptions()
    out = [config_map(o)]
    for svc in _services(o):
        if svc.persistent_data:
            out.append(_claim(svc, o))
        out.append(_workload(svc, topology, o))
        out.append(_service(svc, o))
    return out
