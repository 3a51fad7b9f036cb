from __future__ import annotations

import pytest

from hub.agreements.models import Agreement
from hub.agreements.partnership import load_partnership
from hub.catalogue.schemas import Catalogue
from hub.deploy.retention import duration_ms
from hub.deploy.topology import (
    ANALYTICS_STATE_TOPICS,
    VRP_FEED_TOPIC,
    TopicRole,
    Topology,
    TopologyOptions,
    build_topology,
)
from hub.errors import ConfigError
from tests.conftest import ROOT

DAY = 86_400_000


def test_every_agreement_flow_has_its_topics_and_nothing_else(
    topology: Topology, reference_agreements: list[Agreement]
) -> None:
    partner = {
        f"partner.{p}.{et}.v1"
        for a in reference_agreements
        for p in a.providers
        if p != "hub-analytics"  # alert agreements: decided in the hub, no partner topic
        for et in a.event_types
    }
    share = {
        f"share.{r}.{et}.v1"
        for a in reference_agreements
        for r in a.recipients
        for et in a.event_types
    }
    assert set(topology.partner_topics()) == partner
    assert topology.feed_topics("merseyside-vrp") == (VRP_FEED_TOPIC,)
    assert set(topology.share_topics()) == share
    assert {t.name for t in topology.topics} == {
        *partner,
        *share,
        *ANALYTICS_STATE_TOPICS,
        VRP_FEED_TOPIC,
        "hub.audit.v1",
        "hub.deadletter.v1",
        "hub.receipts.v1",
        "hub.events.v1",
    }
    changelogs = [t for t in topology.topics if t.name.endswith("-changelog")]
    assert changelogs and all(t.config["cleanup.policy"] == "compact" for t in changelogs)
    assert "partner.merseyside-police.safeguarding-concern.v1" in topology.partner_topics(
        "merseyside-police"
    )
    # A registered partner without agreements gets a principal but no topic.
    assert "sefton-mbc" in topology.partners
    assert topology.partner_topics("sefton-mbc") == ()


def test_replication_and_isr_everywhere(topology: Topology) -> None:
    for t in topology.topics:
        assert t.replication_factor == 3
        assert t.config["min.insync.replicas"] == "2"


def test_share_retention_is_the_strictest_agreement_and_capped(
    reference_agreements: list[Agreement], catalogue: Catalogue
) -> None:
    partnership = load_partnership(ROOT / "partnership")
    uncapped = build_topology(
        partnership, reference_agreements, catalogue, TopologyOptions(share_retention_cap=None)
    )
    # modern-slavery-referral reaches the network under two agreements: P2Y and P6Y.
    msn = uncapped.topic("share.modern-slavery-network.modern-slavery-referral.v1")
    assert msn is not None
    assert msn.retention_ms == 2 * 365 * DAY
    assert "police-msn-duty-to-notify@v1" in msn.retention_source
    capped = build_topology(partnership, reference_agreements, catalogue)
    topic = capped.topic("share.modern-slavery-network.modern-slavery-referral.v1")
    assert topic is not None and topic.retention_ms == 30 * DAY


def test_audit_topics_kept_forever_partner_topics_a_week(topology: Topology) -> None:
    audit, receipts = topology.topic("hub.audit.v1"), topology.topic("hub.receipts.v1")
    assert audit is not None and audit.retention_ms == -1
    assert receipts is not None and receipts.retention_ms == -1
    for t in topology.by_role(TopicRole.PARTNER):
        assert t.retention_ms == 7 * DAY


def test_unknown_provider_or_event_type_is_refused(
    reference_agreements: list[Agreement], catalogue: Catalogue
) -> None:
    partnership = load_partnership(ROOT / "partnership")
    typo = reference_agreements[0].model_copy(update={"providers": ("merseyside-polise",)})
    with pytest.raises(ConfigError, match="merseyside-polise"):
        build_topology(partnership, [typo], catalogue)
    bad_type = reference_agreements[0].model_copy(update={"event_types": ("no-such-event",)})
    with pytest.raises(ConfigError, match="no-such-event"):
        build_topology(partnership, [bad_type], catalogue)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("P2Y", 730 * DAY), ("P30D", 30 * DAY), ("P1W", 7 * DAY), ("PT12H", 12 * 3_600_000)],
)
def test_duration(text: str, ms: int) -> None:
    assert duration_ms(text) == ms


@pytest.mark.parametrize("text", ["2 years", "P", "PT", "P0D", "P1YT"])
def test_bad_duration(text: str) -> None:
    with pytest.raises(ConfigError):
        duration_ms(text)


def test_linkage_domains_from_token_clauses(topology: Topology) -> None:
    assert topology.linkage_domains == ("msn",)


def test_bad_isr_refused() -> None:
    with pytest.raises(ConfigError):
        TopologyOptions(replication_factor=1, min_insync_replicas=2)
