"""Apply the plan through Kafka's admin API (``confluent_kafka.admin.AdminClient``).

Idempotent: existing topics are left as they are (and reported), creating an ACL that
exists is a no-op on the broker, and SCRAM credentials are upserted. ``prune`` deletes the
ACLs of the plan's principals that the plan no longer contains, e.g. after an agreement
ended; ACLs of principals outside the plan are never touched.

The embedded Tansu broker cannot take ACL requests (librdkafka crashes on them), so against
it apply topics only (``acls=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)

# The admin types live in private modules; the package re-exports them without saying so,
# which strict mypy refuses.
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from confluent_kafka.cimpl import NewTopic

from hub.deploy.acls import AclPlan, Grant, Operation
from hub.deploy.acls import ResourceType as HubResource
from hub.deploy.topology import TopicSpec, Topology
from hub.errors import BrokerUnavailable
from hub.translate import kafka_error_code

SCRAM_ITERATIONS = 8192

_RESOURCE = {
    HubResource.TOPIC: ResourceType.TOPIC,
    HubResource.GROUP: ResourceType.GROUP,
    HubResource.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
}
_OPERATION = {
    Operation.READ: AclOperation.READ,
    Operation.WRITE: AclOperation.WRITE,
    Operation.DESCRIBE: AclOperation.DESCRIBE,
}


@dataclass
class ApplyReport:
    created_topics: list[str] = field(default_factory=list)
    existing_topics: list[str] = field(default_factory=list)
    # "<topic>: <key> <old> -> <new>" for settings brought in line with the plan.
    altered_configs: list[str] = field(default_factory=list)
    acls_applied: int = 0
    acls_removed: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"topics: {len(self.created_topics)} created, {len(self.existing_topics)} existed, "
            f"{len(self.altered_configs)} settings updated",
            *(f"  updated {line}" for line in self.altered_configs),
            f"acls: {self.acls_applied} applied (literal), {len(self.acls_removed)} removed",
            f"scram users: {len(self.users)} set ({', '.join(self.users) or 'none'})",
            *(f"  removed {line}" for line in self.acls_removed),
        ]


def acl_binding(g: Grant) -> AclBinding:
    return AclBinding(
        _RESOURCE[g.resource_type],
        g.resource,
        ResourcePatternType.LITERAL,
        g.kafka_principal,
        "*",
        _OPERATION[g.operation],
        AclPermissionType.ALLOW,
    )


def _wait(
    futures: Mapping[Any, Any], what: str, timeout: float, *, done_already: int | None = None
) -> None:
    """Wait for every admin request; ``done_already`` is the error code meaning another
    run got there first (the outcome wanted, so not an error)."""
    for key, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if done_already is None or kafka_error_code(exc) != done_already:
                raise BrokerUnavailable(f"cannot {what} {key}: {exc}") from exc


def apply_topics(
    admin: AdminClient, topology: Topology, timeout: float, report: ApplyReport
) -> None:
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise BrokerUnavailable(f"cannot list topics: {exc}") from exc
    wanted = [t for t in topology.topics if t.name not in existing]
    report.existing_topics = sorted(t.name for t in topology.topics if t.name in existing)
    # An agreement's retention can change after its topic exists: bring settings in line.
    _align_configs(admin, [t for t in topology.topics if t.name in existing], timeout, report)
    if not wanted:
        return
    new = [
        NewTopic(t.name, t.partitions, t.replication_factor, config=dict(t.config)) for t in wanted
    ]
    created = admin.create_topics(new, operation_timeout=timeout)
    _wait(created, "create topic", timeout, done_already=KafkaError.TOPIC_ALREADY_EXISTS)
    report.created_topics += list(created)


def _align_configs(
    admin: AdminClient, topics: list[TopicSpec], timeout: float, report: ApplyReport
) -> None:
    if not topics:
        return
    current: dict[str, dict[str, str | None]] = {}
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, t.name) for t in topics])
    for resource, future in futures.items():
        try:
            entries = future.result(timeout)
        except KafkaException as exc:
            raise BrokerUnavailable(f"cannot describe {resource.name}: {exc}") from exc
        current[resource.name] = {k: e.value for k, e in entries.items()}
    changes = []
    for t in topics:
        diff = {k: v for k, v in t.config.items() if current.get(t.name, {}).get(k) != v}
        if not diff:
            continue
        report.altered_configs += [
            f"{t.name}: {k} {current.get(t.name, {}).get(k)} -> {v}" for k, v in diff.items()
        ]
        entries = [
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in diff.items()
        ]
        changes.append(ConfigResource(ResourceType.TOPIC, t.name, incremental_configs=entries))
    if changes:
        _wait(admin.incremental_alter_configs(changes), "update settings of", timeout)


def apply_users(
    admin: AdminClient, passwords: Mapping[str, bytes], timeout: float, report: ApplyReport
) -> None:
    if not passwords:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, pw) for user, pw in passwords.items()
    ]
    _wait(
        admin.alter_user_scram_credentials(upserts, request_timeout=timeout),
        "set SCRAM credentials for",
        timeout,
    )
    report.users = sorted(passwords)


def apply_acls(
    admin: AdminClient, plan: AclPlan, timeout: float, report: ApplyReport, *, prune: bool
) -> None:
    wanted = [acl_binding(g) for g in plan.grants]
    if wanted:
        _wait(admin.create_acls(wanted, request_timeout=timeout), "create ACL", timeout)
    report.acls_applied = len(wanted)
    if not prune:
        return
    keep = {_key(b) for b in wanted}
    stale: list[AclBindingFilter] = []
    for p in plan.principals:
        # None matches any resource name and any host (the stubs type them as str).
        query = AclBindingFilter(
            ResourceType.ANY,
            cast(str, None),
            ResourcePatternType.ANY,
            f"User:{p.name}",
            cast(str, None),
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        try:
            found = admin.describe_acls(query, request_timeout=timeout).result(timeout)
        except KafkaException as exc:
            raise BrokerUnavailable(f"cannot describe ACLs of {p.name}: {exc}") from exc
        for binding in found:
            if _key(binding) not in keep:
                stale.append(_as_filter(binding))
                report.acls_removed.append(str(binding))
    if stale:
        _wait(admin.delete_acls(stale, request_timeout=timeout), "delete ACL", timeout)


def _key(b: AclBinding) -> tuple[Any, ...]:
    """Everything that makes a binding, in the order AclBindingFilter takes them."""
    return (
        b.restype,
        b.name,
        b.resource_pattern_type,
        b.principal,
        b.host,
        b.operation,
        b.permission_type,
    )


def _as_filter(b: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(*_key(b))


def apply_plan(
    admin_config: Mapping[str, Any],
    topology: Topology,
    plan: AclPlan,
    *,
    acls: bool = True,
    prune: bool = False,
    passwords: Mapping[str, bytes] | None = None,
    timeout: float = 30.0,
    admin_factory: Callable[[dict[str, Any]], AdminClient] | None = None,
) -> ApplyReport:
    """Create the topics, set the given SCRAM passwords and create the ACLs."""
    admin = (admin_factory or _admin)(dict(admin_config))
    report = ApplyReport()
    apply_topics(admin, topology, timeout, report)
    apply_users(admin, passwords or {}, timeout, report)
    if acls:
        apply_acls(admin, plan, timeout, report, prune=prune)
    return report


def _admin(conf: dict[str, Any]) -> AdminClient:
    """The runtime kit makes every client (hub/kafka/connection.py); ``conf`` carries the
    security settings the command line or HUB_KAFKA__* gave."""
    from hub.kafka.connection import KafkaConnection

    bootstrap = str(conf.pop("bootstrap.servers"))
    return KafkaConnection(bootstrap, conf).admin()
