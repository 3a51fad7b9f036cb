from __future__ import annotations

from pathlib import Path

from hub.audit import AuditRecord, AuditStore, DeadLetterRecord


def record(decision_id: str = "d1") -> AuditRecord:
    return AuditRecord(
        decision_id=decision_id,
        event_id="e1",
        event_type="safeguarding-concern",
        provider="merseyside-police",
        recipient="liverpool-mash",
        outcome="shared",
        reason="allowed by police-liverpool-mash@v1",
        agreement_id="police-liverpool-mash",
        agreement_version=1,
        legal_basis="UK GDPR Art 6 6(1)(e) public task",
        gateways=("Children Act 2004 s11",),
        disclosure_id=f"disc-{decision_id}",
        fields={"subject.given_name": {"clause": "subject-identified", "treatment": "keep"}},
        decided_at="2026-11-23T12:00:00+00:00",
        processor_instance="p0",
        source_topic="partner.merseyside-police.safeguarding-concern.v1",
        source_partition=0,
        source_offset=1,
    )


def test_writes_are_idempotent_and_survive_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    store = AuditStore(url)
    assert store.write_decisions([record(), record()]) == 1
    assert store.write_decisions([record()]) == 0
    store.close()
    again = AuditStore(url)
    [row] = again.decisions_for_event("e1")
    assert row["agreement_id"] == "police-liverpool-mash" and row["disclosure_id"] == "disc-d1"


def test_json_round_trip_for_the_audit_topic() -> None:
    r = record()
    assert AuditRecord.from_json(r.to_json()) == r


def test_dead_letters_idempotent(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'a.db'}")
    dl = DeadLetterRecord(
        "t:0:5", "merseyside-police", "t", 0, 5, "malformed", "bad", "fix it", "now"
    )
    assert store.write_dead_letters([dl, dl]) == 1
    assert store.count_dead_letters() == 1
