"""Principals and the least-privilege ACL plan (pure).

Every grant names one literal resource: no ``*``, no prefixed patterns. A new partner
topic therefore needs a new grant, which is the point: access follows the agreements, and
a rendering after an agreement change shows exactly what is added.

Principals (SCRAM user names, also valid Kubernetes resource names):

- ``partner-<id>``: WRITE and DESCRIBE its own ``partner.<id>.*`` topics, nothing else;
- ``recipient-<id>``: READ and DESCRIBE its own ``share.<id>.*`` topics, READ its own
  consumer group ``sink-<id>``, WRITE ``hub.receipts.v1`` (delivery receipts);
- ``hub-processor``: READ the partner topics and its group, WRITE the share, audit and
  dead-letter topics, and (with transactions) its processors' transactional ids;
- ``hub-audit``: the audit ingester; READ the audit, dead-letter and receipt topics and
  the ingester's group;
- ``hub-console``: the IG console's what-if, which re-reads recorded partner events: READ
  the partner topics (by explicit offsets, never committing, so no group);
- ``hub-analytics``: READ the partner topics and its group;
- ``hub-operator``: held by people, not services: READ the dead letters and WRITE partner
  topics, for ``hub deadletter replay`` (the records keep their partner's signature, which
  the processor verifies again).

Since Kafka 3.0 an idempotent producer needs no cluster IdempotentWrite grant: WRITE on a
topic is enough (KIP-679), so no principal gets a cluster-level grant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from hub.catalogue.topics import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    EVENTS_TOPIC,
    RECEIPTS_TOPIC,
    REPLAY_GROUP,
)
from hub.deploy.topology import (
    ANALYTICS_GROUP,
    ANALYTICS_STATE_TOPICS,
    Topology,
)

PROCESSOR_PRINCIPAL = "hub-processor"
AUDIT_PRINCIPAL = "hub-audit"
CONSOLE_PRINCIPAL = "hub-console"
ANALYTICS_PRINCIPAL = "hub-analytics"
OPERATOR_PRINCIPAL = "hub-operator"

PROCESSOR_GROUP = "hub-processor"  # Settings.consumer_group default
AUDIT_INGEST_GROUP = "hub-audit-ingest"  # Settings.audit_ingest_group default


class ResourceType(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional_id"


class Operation(StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    DESCRIBE = "DESCRIBE"


class PrincipalKind(StrEnum):
    PARTNER = "partner"
    RECIPIENT = "recipient"
    HUB = "hub"
    OPERATOR = "operator"


def partner_principal(partner: str) -> str:
    return f"partner-{partner}"


def recipient_principal(recipient: str) -> str:
    return f"recipient-{recipient}"


def recipient_group(recipient: str) -> str:
    """The consumer group a recipient's sink connector uses (the SDK's ``sink-<name>``)."""
    return f"sink-{recipient}"


@dataclass(frozen=True, order=True)
class Grant:
    """ALLOW one operation on one literal resource. Kafka's principal is ``User:<name>``."""

    principal: str
    resource_type: ResourceType
    resource: str
    operation: Operation

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.principal}"


@dataclass(frozen=True)
class Principal:
    name: str
    kind: PrincipalKind
    description: str
    grants: tuple[Grant, ...] = field(default=())

    def resources(self, resource_type: ResourceType, operation: Operation) -> frozenset[str]:
        return frozenset(
            g.resource
            for g in self.grants
            if g.resource_type is resource_type and g.operation is operation
        )

    def operations_by_resource(self) -> list[tuple[ResourceType, str, list[Operation]]]:
        """The grants as one row per resource with its operations, sorted by resource: how
        the plan, the script and the Strimzi users all present them."""
        grouped: dict[tuple[ResourceType, str], list[Operation]] = {}
        for g in self.grants:
            grouped.setdefault((g.resource_type, g.resource), []).append(g.operation)
        return [(rtype, resource, ops) for (rtype, resource), ops in sorted(grouped.items())]


@dataclass(frozen=True)
class PlanOptions:
    """What the hub's own principals need beyond the topology."""

    transactions: bool = False
    # Transactional ids are the processor instance names (HUB_PROCESSOR_INSTANCE), which
    # must then be stable: a StatefulSet in Kubernetes, fixed service names in compose.
    processor_instances: tuple[str, ...] = ("hub-processor-0", "hub-processor-1")
    processor_group: str = PROCESSOR_GROUP
    audit_ingest_group: str = AUDIT_INGEST_GROUP
    console: bool = True
    analytics: bool = True
    operator: bool = True


@dataclass(frozen=True)
class AclPlan:
    principals: tuple[Principal, ...]

    @property
    def grants(self) -> tuple[Grant, ...]:
        return tuple(sorted(g for p in self.principals for g in p.grants))

    def principal(self, name: str) -> Principal | None:
        return next((p for p in self.principals if p.name == name), None)


# What one principal may do: ALLOW each operation on each of these literal resources.
_Rule = tuple[ResourceType, Iterable[str], Iterable[Operation]]


def _principal(name: str, kind: PrincipalKind, description: str, *rules: _Rule) -> Principal:
    """A principal granted its rules, each grant once (a resource read and written needs
    DESCRIBE once, not twice)."""
    grants = dict.fromkeys(
        Grant(name, rtype, r, op)
        for rtype, resources, ops in rules
        for r in sorted(set(resources))
        for op in ops
    )
    return Principal(name, kind, description, tuple(grants))


_READ = (Operation.READ, Operation.DESCRIBE)
_WRITE = (Operation.WRITE, Operation.DESCRIBE)
_READ_WRITE = (Operation.READ, Operation.WRITE, Operation.DESCRIBE)
_JOIN = (Operation.READ,)  # a consumer group


def _analytics_outputs(topology: Topology) -> list[str]:
    """The share topics the analytics write (linkage alerts, VRP aggregates), and the audit."""
    alerts = [t for t in topology.share_topics() if ".linkage-alert." in t]
    return [*alerts, *topology.feed_topics(), AUDIT_TOPIC]


def build_acl_plan(topology: Topology, options: PlanOptions | None = None) -> AclPlan:
    """Least privilege for every principal the topology implies: one builder per kind."""
    opts = options or PlanOptions()
    principals = [
        *(_partner(topology, p) for p in topology.partners),
        *(_recipient(topology, r) for r in topology.recipients),
        _processor(topology, opts),
        _audit_ingester(opts),
    ]
    if opts.console:
        principals.append(_console(topology))
    if opts.analytics:
        principals.append(_analytics(topology))
    if opts.operator:
        principals.append(_operator(topology))
    return AclPlan(tuple(sorted(principals, key=lambda p: p.name)))


_TOPIC, _GROUP = ResourceType.TOPIC, ResourceType.GROUP


def _partner(topology: Topology, partner: str) -> Principal:
    return _principal(
        partner_principal(partner),
        PrincipalKind.PARTNER,
        f"partner {partner}: publishes its own events",
        (_TOPIC, topology.partner_topics(partner), _WRITE),
    )


def _recipient(topology: Topology, recipient: str) -> Principal:
    return _principal(
        recipient_principal(recipient),
        PrincipalKind.RECIPIENT,
        f"recipient {recipient}: its sink reads its share topics, writes receipts",
        (_TOPIC, topology.share_topics(recipient), _READ),
        (_TOPIC, topology.feed_topics(recipient), _READ),
        (_GROUP, [recipient_group(recipient)], _JOIN),
        (_TOPIC, [RECEIPTS_TOPIC], _WRITE),
    )


def _processor(topology: Topology, opts: PlanOptions) -> Principal:
    rules: list[_Rule] = [
        (_TOPIC, topology.partner_topics(), _READ),
        (_TOPIC, [*topology.share_topics(), AUDIT_TOPIC, DEADLETTER_TOPIC], _WRITE),
        # The events ledger: written with each batch, read by assignment (no group) at start.
        (_TOPIC, [EVENTS_TOPIC], _READ_WRITE),
        (_GROUP, [opts.processor_group], _JOIN),
    ]
    if opts.transactions:
        rules.append((ResourceType.TRANSACTIONAL_ID, opts.processor_instances, _WRITE))
    return _principal(
        PROCESSOR_PRINCIPAL,
        PrincipalKind.HUB,
        "hub processor: decides partner events, writes shares, audit, dead letters",
        *rules,
    )


def _audit_ingester(opts: PlanOptions) -> Principal:
    return _principal(
        AUDIT_PRINCIPAL,
        PrincipalKind.HUB,
        "audit ingester: reads audit, dead letters, receipts into the audit store",
        (_TOPIC, [AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC], _READ),
        (_GROUP, [opts.audit_ingest_group], _JOIN),
    )


def _console(topology: Topology) -> Principal:
    return _principal(
        CONSOLE_PRINCIPAL,
        PrincipalKind.HUB,
        "IG console: its what-if re-reads partner events (no group, never commits)",
        (_TOPIC, topology.partner_topics(), _READ),
    )


def _analytics(topology: Topology) -> Principal:
    return _principal(
        ANALYTICS_PRINCIPAL,
        PrincipalKind.HUB,
        "analytics: read partner topics; raise linkage alerts and the VRP feed; "
        "keep their own state topics",
        (_TOPIC, topology.partner_topics(), _READ),
        # Alerts and aggregates go to their recipients and are audited.
        (_TOPIC, _analytics_outputs(topology), _WRITE),
        # Its intake topic and the faust tables' changelogs: its own state.
        (_TOPIC, ANALYTICS_STATE_TOPICS, _READ_WRITE),
        (_GROUP, [ANALYTICS_GROUP, f"{ANALYTICS_GROUP}-intake"], _JOIN),
    )


def _operator(topology: Topology) -> Principal:
    return _principal(
        OPERATOR_PRINCIPAL,
        PrincipalKind.OPERATOR,
        "operators: dead-letter replay (records keep their partner's signature)",
        (_TOPIC, [DEADLETTER_TOPIC], _READ),
        (_TOPIC, topology.partner_topics(), _WRITE),
        (_GROUP, [REPLAY_GROUP], _JOIN),
    )
