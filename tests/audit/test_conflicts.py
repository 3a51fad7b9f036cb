"""Promise (issue 15 item 1): the audit store never silently drops a decision whose id
matches a stored one but whose content differs: it keeps it as a chained conflict, visible to
`hub audit verify` and `hub audit conflicts`. A true redelivery is still stored once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.audit import AuditStore
from hub.audit.ingest import parse
from hub.audit.records import DECISIONS, decisions_json
from hub.audit.tables import decisions
from hub.audit.verify import verify_store
from hub.catalogue import AUDIT_TOPIC
from hub.identity import PartnerKeyStore
from tests.audit.test_store import record


@pytest.fixture
def keys(tmp_path: Path) -> PartnerKeyStore:
    return PartnerKeyStore(None, tmp_path / "audit-keys")


@pytest.fixture
def store(tmp_path: Path, keys: PartnerKeyStore) -> AuditStore:
    return AuditStore(
        f"sqlite:///{tmp_path / 'audit.db'}", signer=keys.dev_signing_key("hub-audit")
    )


def test_a_redelivery_decided_again_elsewhere_is_not_a_conflict(store: AuditStore) -> None:
    first = record("d1")
    again = dataclasses.replace(
        first, decided_at="2026-11-24T08:00:00+00:00", processor_instance="p7", source_offset=99
    )
    assert store.write_decisions([first]) == 1
    assert store.write_decisions([again]) == 0
    assert store.conflicts() == []


def test_same_id_other_content_is_kept_as_a_chained_conflict(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    shared = record("d1")
    withheld = dataclasses.replace(
        shared, outcome="withheld", disclosure_id=None, reason="condition false", fields={}
    )
    store.write_decisions([shared])
    assert store.write_decisions([withheld]) == 1  # stored: a conflict, not dropped
    [conflict] = store.conflicts()
    assert conflict["decision_id"] == "d1"
    assert conflict["differs"] == ["outcome", "reason", "disclosure_id", "fields"]
    assert '"outcome":"withheld"' in conflict["record"]
    [stored] = store.all_decisions()
    assert stored["outcome"] == "shared", "the first record stands; the conflict is beside it"
    # Redelivered conflicting record: stored once.
    assert store.write_decisions([withheld]) == 0
    report = verify_store(store, keys.public_keys())
    assert report.ok and report.conflicts == 1 and report.records == 2


def test_conflict_inside_one_batch(store: AuditStore) -> None:
    a = record("d1")
    b = dataclasses.replace(a, content_digest="f" * 64)
    assert store.write_decisions([a, b, a]) == 2
    [conflict] = store.conflicts()
    assert conflict["differs"] == ["content_digest"]


def test_conflicts_travel_through_the_ingester_parsing(store: AuditStore) -> None:
    """As the ingester stores hub.audit.v1: a 'decisions' record whose second decision
    reuses the first one's id with other content."""
    a = dataclasses.replace(record("d1"), content_digest="a" * 64)
    b = dataclasses.replace(a, agreement_version=2, disclosure_id="disc-other")
    parsed = parse(AUDIT_TOPIC, decisions_json([a, b]), DECISIONS)
    from hub.audit.ingest import store_records

    assert store_records(store, parsed) == 2
    assert [c["differs"] for c in store.conflicts()] == [["agreement_version", "disclosure_id"]]


def test_records_without_content_digest_still_verify(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    """Decisions chained before migration 0004 have no digest; their links leave the new
    columns out while null, and a digest written into one later is a change."""
    store.write_decisions([record("old")])
    assert verify_store(store, keys.public_keys()).ok
    with store.engine.begin() as conn:
        conn.execute(update(decisions).values(content_digest="0" * 64))
    [problem] = verify_store(store, keys.public_keys()).problems
    assert "changed" in problem.message


def test_events_decided_with_several_contents_are_listed(store: AuditStore) -> None:
    a = dataclasses.replace(record("d1"), content_digest="a" * 64)
    b = dataclasses.replace(record("d2"), content_digest="b" * 64, disclosure_id="disc-2")
    revised = dataclasses.replace(record("d3"), content_digest="c" * 64, revision=2)
    revised = dataclasses.replace(revised, disclosure_id="disc-3")
    store.write_decisions([a, b, revised])
    [event] = store.events_with_several_contents()
    assert (event["provider"], event["event_id"], event["contents"]) == (
        "merseyside-police",
        "e1",
        2,
    )
