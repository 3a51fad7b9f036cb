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

from hub.catalogue.topics import AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC, REPLAY_GROUP
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


def _grants(
    principal: str,
    resource_type: ResourceType,
    resources: Iterable[str],
    operations: Iterable[Operation],
) -> list[Grant]:
    ops = tuple(operations)
    return [Grant(principal, resource_type, r, op) for r in sorted(set(resources)) for op in ops]


_READ = (Operation.READ, Operation.DESCRIBE)
_WRITE = (Operation.WRITE, Operation.DESCRIBE)


def _analytics_outputs(topology: Topology) -> list[str]:
    """The share topics the analytics write (linkage alerts, VRP aggregates), and the audit."""
    alerts = [t for t in topology.share_topics() if ".linkage-alert." in t]
    return [*alerts, *topology.feed_topics(), AUDIT_TOPIC]


def build_acl_plan(topology: Topology, options: PlanOptions | None = None) -> AclPlan:
    opts = options or PlanOptions()
    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    principals: list[Principal] = []

    for partner in topology.partners:
        name = partner_principal(partner)
        principals.append(
            Principal(
                name,
                PrincipalKind.PARTNER,
                f"partner {partner}: publishes its own events",
                tuple(_grants(name, topic, topology.partner_topics(partner), _WRITE)),
            )
        )

    for recipient in topology.recipients:
        name = recipient_principal(recipient)
        grants = [
            *_grants(name, topic, topology.share_topics(recipient), _READ),
            *_grants(name, topic, topology.feed_topics(recipient), _READ),
            *_grants(name, group, [recipient_group(recipient)], [Operation.READ]),
            *_grants(name, topic, [RECEIPTS_TOPIC], _WRITE),
        ]
        principals.append(
            Principal(
                name,
                PrincipalKind.RECIPIENT,
                f"recipient {recipient}: its sink reads its share topics, writes receipts",
                tuple(grants),
            )
        )

    processor = [
        *_grants(PROCESSOR_PRINCIPAL, topic, topology.partner_topics(), _READ),
        *_grants(
            PROCESSOR_PRINCIPAL,
            topic,
            [*topology.share_topics(), AUDIT_TOPIC, DEADLETTER_TOPIC],
            _WRITE,
        ),
        *_grants(PROCESSOR_PRINCIPAL, group, [opts.processor_group], [Operation.READ]),
    ]
    if opts.transactions:
        processor += _grants(
            PROCESSOR_PRINCIPAL, ResourceType.TRANSACTIONAL_ID, opts.processor_instances, _WRITE
        )
    principals.append(
        Principal(
            PROCESSOR_PRINCIPAL,
            PrincipalKind.HUB,
            "hub processor: decides partner events, writes shares, audit, dead letters",
            tuple(processor),
        )
    )

    principals.append(
        Principal(
            AUDIT_PRINCIPAL,
            PrincipalKind.HUB,
            "audit ingester: reads audit, dead letters, receipts into the audit store",
            tuple(
                [
                    *_grants(
                        AUDIT_PRINCIPAL,
                        topic,
                        [AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC],
                        _READ,
                    ),
                    *_grants(AUDIT_PRINCIPAL, group, [opts.audit_ingest_group], [Operation.READ]),
                ]
            ),
        )
    )

    if opts.console:
        principals.append(
            Principal(
                CONSOLE_PRINCIPAL,
                PrincipalKind.HUB,
                "IG console: its what-if re-reads partner events (no group, never commits)",
                tuple(_grants(CONSOLE_PRINCIPAL, topic, topology.partner_topics(), _READ)),
            )
        )

    if opts.analytics:
        principals.append(
            Principal(
                ANALYTICS_PRINCIPAL,
                PrincipalKind.HUB,
                "analytics: read partner topics; raise linkage alerts and the VRP feed; "
                "keep their own state topics",
                tuple(
                    [
                        *_grants(ANALYTICS_PRINCIPAL, topic, topology.partner_topics(), _READ),
                        # Alerts and aggregates go to their recipients and are audited.
                        *_grants(ANALYTICS_PRINCIPAL, topic, _analytics_outputs(topology), _WRITE),
                        # Its intake topic and the faust tables' changelogs: its own state.
                        *_grants(ANALYTICS_PRINCIPAL, topic, ANALYTICS_STATE_TOPICS, _READ),
                        *_grants(ANALYTICS_PRINCIPAL, topic, ANALYTICS_STATE_TOPICS, _WRITE),
                        *_grants(
                            ANALYTICS_PRINCIPAL,
                            group,
                            [ANALYTICS_GROUP, f"{ANALYTICS_GROUP}-intake"],
                            [Operation.READ],
                        ),
                    ]
                ),
            )
        )

    if opts.operator:
        principals.append(
            Principal(
                OPERATOR_PRINCIPAL,
                PrincipalKind.OPERATOR,
                "operators: dead-letter replay (records keep their partner's signature)",
                tuple(
                    [
                        *_grants(OPERATOR_PRINCIPAL, topic, [DEADLETTER_TOPIC], _READ),
                        *_grants(OPERATOR_PRINCIPAL, topic, topology.partner_topics(), _WRITE),
                        *_grants(OPERATOR_PRINCIPAL, group, [REPLAY_GROUP], [Operation.READ]),
                    ]
                ),
            )
        )

    return AclPlan(tuple(sorted(principals, key=lambda p: p.name)))
