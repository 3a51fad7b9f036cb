"""The ACL plan is least privilege: each principal gets its own literal resources only."""

from __future__ import annotations

from hub.catalogue.topics import AUDIT_TOPIC, DEADLETTER_TOPIC, EVENTS_TOPIC, RECEIPTS_TOPIC
from hub.deploy.acls import (
    AclPlan,
    Operation,
    PlanOptions,
    PrincipalKind,
    ResourceType,
    build_acl_plan,
    partner_principal,
    recipient_principal,
)
from hub.deploy.plan_text import plan_document
from hub.deploy.topology import Topology

T = ResourceType.TOPIC


def test_no_wildcard_or_prefix_anywhere(topology: Topology, plan: AclPlan) -> None:
    assert plan.grants
    for g in plan.grants:
        assert g.resource and "*" not in g.resource and g.resource.strip() == g.resource
    doc = plan_document(topology, plan)
    assert {g["pattern_type"] for p in doc["principals"] for g in p["grants"]} == {"literal"}
    # Every topic granted exists in the topology: no grant anticipates a topic by name.
    names = {t.name for t in topology.topics}
    assert {g.resource for g in plan.grants if g.resource_type is T} <= names


def test_every_grant_is_granted_once(topology: Topology) -> None:
    """A resource both read and written needs DESCRIBE once: a repeated grant would show
    twice in the plan, the script and the Strimzi users (it did, for the analytics'
    state topics)."""
    plan = build_acl_plan(topology, PlanOptions(transactions=True))
    for p in plan.principals:
        assert len(set(p.grants)) == len(p.grants), p.name
        for _rtype, resource, ops in p.operations_by_resource():
            assert len(set(ops)) == len(ops), (p.name, resource, ops)


def test_partners_write_only_their_own_topics(topology: Topology, plan: AclPlan) -> None:
    for partner in topology.partners:
        p = plan.principal(partner_principal(partner))
        assert p is not None and p.kind is PrincipalKind.PARTNER
        own = set(topology.partner_topics(partner))
        assert p.resources(T, Operation.WRITE) == own
        assert all(t.startswith(f"partner.{partner}.") for t in own)
        # Nothing to read, no group, no share topic, no hub topic.
        assert p.resources(T, Operation.READ) == frozenset()
        assert {g.resource_type for g in p.grants} <= {T}
        assert {g.resource for g in p.grants} == own


def test_no_partner_can_read_a_share_topic_or_write_anothers(
    topology: Topology, plan: AclPlan
) -> None:
    shares = set(topology.share_topics())
    for partner in topology.partners:
        p = plan.principal(partner_principal(partner))
        assert p is not None
        assert not p.resources(T, Operation.READ) & shares
        others = set(topology.partner_topics()) - set(topology.partner_topics(partner))
        assert not p.resources(T, Operation.WRITE) & others


def test_recipients_read_only_their_own_share_topics(topology: Topology, plan: AclPlan) -> None:
    for recipient in topology.recipients:
        p = plan.principal(recipient_principal(recipient))
        assert p is not None and p.kind is PrincipalKind.RECIPIENT
        assert p.resources(T, Operation.READ) == {
            *topology.share_topics(recipient),
            *topology.feed_topics(recipient),  # the VRP's anonymised aggregates
        }
        assert p.resources(T, Operation.WRITE) == {RECEIPTS_TOPIC}
        assert p.resources(ResourceType.GROUP, Operation.READ) == {f"sink-{recipient}"}
        for other in set(topology.recipients) - {recipient}:
            assert not p.resources(T, Operation.READ) & set(topology.share_topics(other))
            assert not p.resources(T, Operation.READ) & set(topology.feed_topics(other))
        assert not p.resources(T, Operation.READ) & set(topology.partner_topics())


def test_a_recipient_that_is_also_a_partner_gets_two_separate_principals(
    topology: Topology, plan: AclPlan
) -> None:
    # mash-decisions-to-police shares with merseyside-police, which also publishes.
    police_in = plan.principal(recipient_principal("merseyside-police"))
    police_out = plan.principal(partner_principal("merseyside-police"))
    assert police_in is not None and police_out is not None
    assert police_in.resources(T, Operation.READ) == {"share.merseyside-police.mash-decision.v1"}
    assert not police_out.resources(T, Operation.READ)


def test_hub_processor_has_exactly_what_it_uses(topology: Topology, plan: AclPlan) -> None:
    p = plan.principal("hub-processor")
    assert p is not None
    # The events ledger (hub.events.v1) is the one topic it both writes and reads.
    assert p.resources(T, Operation.READ) == {*topology.partner_topics(), EVENTS_TOPIC}
    assert p.resources(T, Operation.WRITE) == {
        *topology.share_topics(),
        AUDIT_TOPIC,
        DEADLETTER_TOPIC,
        EVENTS_TOPIC,
    }
    assert p.resources(T, Operation.DESCRIBE) == {
        *topology.partner_topics(),
        *topology.share_topics(),
        AUDIT_TOPIC,
        DEADLETTER_TOPIC,
        EVENTS_TOPIC,
    }
    assert p.resources(ResourceType.GROUP, Operation.READ) == {"hub-processor"}
    assert p.resources(ResourceType.TRANSACTIONAL_ID, Operation.WRITE) == {
        "hub-processor-0",
        "hub-processor-1",
    }
    # Nor the receipts.
    assert RECEIPTS_TOPIC not in {g.resource for g in p.grants}


def test_no_transactional_ids_without_transactions(topology: Topology) -> None:
    plan = build_acl_plan(topology, PlanOptions(transactions=False))
    assert not [g for g in plan.grants if g.resource_type is ResourceType.TRANSACTIONAL_ID]


def test_audit_principal_reads_audit_deadletter_receipts_only(plan: AclPlan) -> None:
    p = plan.principal("hub-audit")
    assert p is not None
    assert p.resources(T, Operation.READ) == {AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC}
    assert p.resources(T, Operation.WRITE) == frozenset()
    assert p.resources(ResourceType.GROUP, Operation.READ) == {"hub-audit-ingest"}


def test_only_hub_principals_read_partner_topics(topology: Topology, plan: AclPlan) -> None:
    readers = {
        g.principal
        for g in plan.grants
        if g.operation is Operation.READ and g.resource in set(topology.partner_topics())
    }
    assert readers == {"hub-processor", "hub-analytics", "hub-console"}
    writers_of_audit = {
        g.principal
        for g in plan.grants
        if g.operation is Operation.WRITE and g.resource in {AUDIT_TOPIC, DEADLETTER_TOPIC}
    }
    # The processor's decisions and dead letters; the analytics' alert decisions.
    assert writers_of_audit == {"hub-processor", "hub-analytics"}
    analytics_writes = {
        g.resource
        for g in plan.grants
        if g.principal == "hub-analytics" and g.operation is Operation.WRITE
    }
    assert DEADLETTER_TOPIC not in analytics_writes
    assert all(
        t == AUDIT_TOPIC
        or t.startswith("hub-analytics")
        or t.endswith((".linkage-alert.v1", ".violence-aggregates.v1"))
        for t in analytics_writes
    ), analytics_writes


def test_every_principal_name_is_a_kubernetes_name(plan: AclPlan) -> None:
    import re

    for p in plan.principals:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", p.name), p.name


def test_console_reads_partner_topics_only_without_a_group(
    topology: Topology, plan: AclPlan
) -> None:
    p = plan.principal("hub-console")
    assert p is not None
    assert p.resources(T, Operation.READ) == set(topology.partner_topics())
    assert {g.resource_type for g in p.grants} == {T}
    assert not p.resources(T, Operation.WRITE)
