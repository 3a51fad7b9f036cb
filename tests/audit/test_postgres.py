"""The audit store on a real PostgreSQL server: migrations, idempotent writes, the hash chain
and its verification, and concurrent writers serialised on the chain head."""

from __future__ import annotations

import threading
from pathlib import Path

from hub.audit import AuditStore
from hub.audit.migrate import current, head
from hub.audit.records import ReceiptRecord
from hub.audit.verify import verify_store
from hub.identity import PartnerKeyStore
from tests.audit.test_store import record


def test_store_on_postgres(postgres_db: str, tmp_path: Path) -> None:
    keys = PartnerKeyStore(None, tmp_path / "audit-keys")
    store = AuditStore(postgres_db, signer=keys.dev_signing_key("hub-audit"))
    assert current(store.engine) == head()
    assert store.write_decisions([record(f"d{i}") for i in range(5)]) == 5
    assert store.write_decisions([record("d1"), record("d5")]) == 1  # redelivery stored once
    receipt = ReceiptRecord(
        "disc-d1:delivered", "disc-d1", "liverpool-mash", "mash", "delivered", "now"
    )
    assert store.write_receipts([receipt, receipt]) == 1
    assert store.count_decisions() == 6
    report = verify_store(store, keys.public_keys())
    assert report.ok and report.records == 7
    store.close()


def test_concurrent_writers_keep_one_chain(postgres_db: str, tmp_path: Path) -> None:
    """Two processor instances writing at once: the head row lock orders their links."""
    keys = PartnerKeyStore(None, tmp_path / "audit-keys")
    stores = [AuditStore(postgres_db, signer=keys.dev_signing_key("hub-audit")) for _ in range(2)]

    def write(n: int) -> None:
        for batch in range(10):
            stores[n].write_decisions([record(f"w{n}-{batch}-{i}") for i in range(5)])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_store(stores[0], keys.public_keys())
    assert report.ok, report.problems
    assert report.records == 100
    for s in stores:
        s.close()
