"""`hub audit verify` detects any changed, deleted, inserted or reordered record, and a chain
rebuilt by someone without the hub's audit key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update

from hub.audit import AuditStore, DeadLetterRecord
from hub.audit.chain import link
from hub.audit.tables import chain, chain_head, dead_letters, decisions
from hub.audit.verify import verify_store
from hub.identity import PartnerKeyStore
from tests.audit.test_store import record


@pytest.fixture
def keys(tmp_path: Path) -> PartnerKeyStore:
    return PartnerKeyStore(None, tmp_path / "audit-keys")


@pytest.fixture
def store(tmp_path: Path, keys: PartnerKeyStore) -> AuditStore:
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}", signer=keys.dev_signing_key("hub-audit"))
    for batch in range(3):
        s.write_decisions([record(f"d{batch}-{i}") for i in range(4)])
    s.write_dead_letters(
        [
            DeadLetterRecord(
                "t:0:9", "merseyside-police", "t", 0, 9, "unsigned", "no sig", "sign", "now"
            )
        ]
    )
    return s


def messages(store: AuditStore, keys: PartnerKeyStore) -> list[str]:
    return [p.message for p in verify_store(store, keys.public_keys()).problems]


def test_intact_store_verifies(store: AuditStore, keys: PartnerKeyStore) -> None:
    report = verify_store(store, keys.public_keys())
    assert report.ok and report.records == 13 and report.checkpoints == 4
    store.write_decisions([record("d0-0")])  # a redelivery adds nothing, breaks nothing
    assert verify_store(store, keys.public_keys()).ok


def test_changed_record(store: AuditStore, keys: PartnerKeyStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(decisions)
            .where(decisions.c.decision_id == "d1-2")
            .values(recipient="someone-else")
        )
    [problem] = verify_store(store, keys.public_keys()).problems
    assert problem.record == "d1-2" and "changed" in problem.message and problem.seq == 7


def test_deleted_record(store: AuditStore, keys: PartnerKeyStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(decisions).where(decisions.c.decision_id == "d0-1"))
    assert any("deleted" in m for m in messages(store, keys))


def test_inserted_record(store: AuditStore, keys: PartnerKeyStore) -> None:
    row = {**dict(next(iter(store.all_decisions()))), "decision_id": "forged", "disclosure_id": "x"}
    with store.engine.begin() as conn:
        conn.execute(insert(decisions).values(**row))
    assert any("inserted outside the chain" in m for m in messages(store, keys))


def test_reordered_links(store: AuditStore, keys: PartnerKeyStore) -> None:
    with store.engine.begin() as conn:
        a = conn.execute(select(chain).where(chain.c.seq == 3)).one()._mapping
        b = conn.execute(select(chain).where(chain.c.seq == 4)).one()._mapping
        conn.execute(
            update(chain)
            .where(chain.c.seq == 3)
            .values(record_id=b["record_id"], hash=b["hash"], prev_hash=b["prev_hash"])
        )
        conn.execute(
            update(chain)
            .where(chain.c.seq == 4)
            .values(record_id=a["record_id"], hash=a["hash"], prev_hash=a["prev_hash"])
        )
    assert any("does not follow" in m for m in messages(store, keys))


def test_rebuilt_chain_is_caught_by_the_signed_checkpoints(
    store: AuditStore, keys: PartnerKeyStore
) -> None:
    """An insider changes a record and recomputes every later link and the head: the chain is
    consistent again, but no longer matches what the hub signed."""
    with store.engine.begin() as conn:
        conn.execute(
            update(decisions).where(decisions.c.decision_id == "d0-0").values(reason="edited")
        )
        rows = {
            r._mapping["decision_id"]: dict(r._mapping) for r in conn.execute(select(decisions))
        }
        dead = {
            r._mapping["dead_letter_id"]: dict(r._mapping)
            for r in conn.execute(select(dead_letters))
        }
        prev = "0" * 64
        for entry in conn.execute(select(chain).order_by(chain.c.seq)).all():
            e = entry._mapping
            row = rows.get(e["record_id"]) or dead[e["record_id"]]
            digest = link(prev, e["seq"], e["kind"], e["record_id"], row)
            conn.execute(
                update(chain).where(chain.c.seq == e["seq"]).values(prev_hash=prev, hash=digest)
            )
            prev = digest
        conn.execute(update(chain_head).values(hash=prev))
    found = messages(store, keys)
    assert found and all("signed checkpoint" in m for m in found)


def test_forged_checkpoint_key_is_refused(store: AuditStore, tmp_path: Path) -> None:
    other = PartnerKeyStore(None, tmp_path / "other")
    other.dev_signing_key("hub-audit")  # same key id, different key
    assert any("invalid" in m for m in messages(store, other))
