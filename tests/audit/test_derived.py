"""Promise (issue 15 item 6): `hub audit verify` checks every derived table that the console
or an export reads against the chained records, and says what is missing or extra: an insider
cannot hide a disclosure from a subject access request by editing the subject index."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, update

from hub.audit import AuditStore, DeadLetterRecord
from hub.audit.records import ReceiptRecord
from hub.audit.tables import dead_letters, decision_conflicts, decision_subjects, receipts
from hub.audit.verify import verify_store
from hub.identity import PartnerKeyStore
from tests.audit.test_store import record


@pytest.fixture
def keys(tmp_path: Path) -> PartnerKeyStore:
    return PartnerKeyStore(None, tmp_path / "audit-keys")


@pytest.fixture
def store(tmp_path: Path, keys: PartnerKeyStore) -> AuditStore:
    """60 decisions with two subject tokens each (120 index rows), a receipt, a dead letter
    and a conflict."""
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}", signer=keys.dev_signing_key("hub-audit"))
    rows = []
    for i in range(60):
        r = record(f"d{i}")
        r.subjects = (f"tok-child-{i}", f"tok-parent-{i}")
        rows.append(r)
    s.write_decisions(rows)
    s.write_receipts(
        [ReceiptRecord("disc-d1:delivered", "disc-d1", "liverpool-mash", "mash", "delivered", "t")]
    )
    s.write_dead_letters(
        [DeadLetterRecord("t:0:9", "merseyside-police", "t", 0, 9, "unsigned", "no", "sign", "t")]
    )
    other = record("d2")
    other.outcome, other.disclosure_id = "withheld", None
    s.write_decisions([other])  # same id, other content: a conflict
    return s


def problems(store: AuditStore, keys: PartnerKeyStore) -> list[str]:
    return [p.line() for p in verify_store(store, keys.public_keys()).problems]


def test_intact_store_checks_every_derived_table(store: AuditStore, keys: PartnerKeyStore) -> None:
    report = verify_store(store, keys.public_keys())
    assert report.ok, report.problems
    assert report.checked == {
        "decision_subjects": 120,
        "receipts": 1,
        "decision_conflicts": 1,
        "dead_letters": 1,
    }
    assert report.conflicts == 1


def test_verify_reports_50_subject_index_rows_deleted(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    with store.engine.begin() as conn:
        gone = [
            (r.token, r.decision_id)
            for r in conn.execute(
                select(decision_subjects).order_by(decision_subjects.c.token).limit(50)
            )
        ]
        for token, decision in gone:
            conn.execute(
                delete(decision_subjects).where(
                    decision_subjects.c.token == token, decision_subjects.c.decision_id == decision
                )
            )
        assert conn.execute(select(func.count()).select_from(decision_subjects)).scalar() == 70
    found = problems(store, keys)
    assert not any(line.startswith("seq") for line in found)  # the chain itself is intact
    assert "decision_subjects: 50 subject index rows missing in all (20 listed above)" in found
    assert sum("lacks token" in line for line in found) == 20
    assert all(line.startswith("decision_subjects") for line in found)


def test_verify_reports_a_forged_subject_index_row(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(decision_subjects).values(token="tok-someone-else", decision_id="d7"))
    [line] = problems(store, keys)
    assert line.startswith("decision_subjects (d7)") and "matches no subject" in line


def test_verify_reports_an_altered_subject_index_row(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    """Pointing a child's token at another decision: one row missing, one extra."""
    with store.engine.begin() as conn:
        conn.execute(
            update(decision_subjects)
            .where(decision_subjects.c.token == "tok-child-3")
            .values(decision_id="d4")
        )
    found = problems(store, keys)
    assert len(found) == 2
    assert any(line.startswith("decision_subjects (d3)") and "lacks" in line for line in found)
    assert any(line.startswith("decision_subjects (d4)") and "matches no" in line for line in found)


@pytest.mark.parametrize(
    ("disclosure", "recipient", "says"),
    [
        # A receipt for a disclosure the audit lacks.
        ("disc-x", "liverpool-mash", ["no shared decision"]),
        # A receipt from a recipient other than the one the disclosure was made to.
        ("disc-d5", "knowsley-mash", ["receipt from knowsley-mash", "made to liverpool-mash"]),
    ],
    ids=["unknown-disclosure", "other-recipient"],
)
def test_verify_reports_a_receipt_that_matches_no_disclosure(
    store: AuditStore, keys: PartnerKeyStore, disclosure: str, recipient: str, says: list[str]
) -> None:
    receipt_id = f"{disclosure}:delivered"
    store.write_receipts(
        [ReceiptRecord(receipt_id, disclosure, recipient, "mash", "delivered", "t")]
    )
    [line] = problems(store, keys)
    assert line.startswith(f"receipts ({receipt_id})"), line
    assert all(part in line for part in says), line


def test_verify_reports_edits_to_chained_receipts_conflicts_and_dead_letters(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    """The chain covers these rows too: a change is reported by seq, a derived check by
    table, and the derived checks hold even where the chain would be rebuilt."""
    with store.engine.begin() as conn:
        conn.execute(update(receipts).values(disclosure_id="disc-d9"))
        conn.execute(update(decision_conflicts).values(recipient="knowsley-mash"))
        conn.execute(update(dead_letters).values(offset=10))
    found = problems(store, keys)
    for kind in ("receipt", "conflict", "dead_letter"):
        assert any(f"{kind} record was changed" in line for line in found), kind
    assert any(line.startswith("decision_conflicts") for line in found)
    assert any(line.startswith("dead_letters (t:0:9)") for line in found)


def test_deleting_the_conflict_is_reported(store: AuditStore, keys: PartnerKeyStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(decision_conflicts))
    [line] = problems(store, keys)
    assert "conflict record was deleted" in line


def test_cli_verify_names_what_is_missing_and_counts_conflicts(
    store: AuditStore,
    keys: PartnerKeyStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from hub.cli.audit import handle_conflicts, handle_verify

    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    args = argparse.Namespace(audit_url=store.url, keys=tmp_path / "audit-keys")
    assert handle_verify(args) == 0
    out = capsys.readouterr().out
    assert "decision_subjects 120, receipts 1, decision_conflicts 1, dead_letters 1: intact" in out
    assert "attention: 1 decision conflicts recorded" in out
    with store.engine.begin() as conn:
        conn.execute(delete(decision_subjects).where(decision_subjects.c.decision_id == "d9"))
    assert handle_verify(args) == 1
    out = capsys.readouterr().out
    assert out.count("decision_subjects (d9): subject index lacks token") == 2
    assert handle_conflicts(argparse.Namespace(audit_url=store.url)) == 0
    out = capsys.readouterr().out
    assert "decision d2 (event e1 from merseyside-police for liverpool-mash)" in out
    assert "other outcome, disclosure_id" in out


def test_verify_shows_records_not_covered_by_a_signed_checkpoint(
    store: AuditStore, keys: PartnerKeyStore, tmp_path: Path
) -> None:
    """Deleting the checkpoints (to hide a rebuilt chain) leaves the records unsigned; so
    does a tool writing without the audit key: the report says how many."""
    from hub.audit.tables import checkpoints

    assert verify_store(store, keys.public_keys()).unsigned == 0
    unsigned_writer = AuditStore(store.url)  # no signer
    unsigned_writer.write_decisions([record("late")])
    assert verify_store(store, keys.public_keys()).unsigned == 1
    with store.engine.begin() as conn:
        conn.execute(delete(checkpoints))
    report = verify_store(store, keys.public_keys())
    assert report.ok and report.unsigned == report.records == 64
