"""``hub audit verify``: recompute the chain, check the signed checkpoints, and check every
derived table the console and the exports read against the chained records.

Finds any record changed, deleted, inserted outside the chain, or reordered, a chain rebuilt
after a signed checkpoint, and a subject index, receipt, conflict or dead letter row that is
missing, extra or altered (hub/audit/derived.py); each problem names the sequence number or
the table, and the record. Conflicts (a decision id reused with other content) are not
damage to the store but need an IG officer's attention: the report counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from hub.audit.chain import GENESIS, checkpoint_valid, link
from hub.audit.derived import check_derived
from hub.audit.store import AuditStore
from hub.audit.tables import KINDS, chain, chain_head, checkpoints


@dataclass(frozen=True)
class Problem:
    seq: int | None
    record: str | None
    message: str
    table: str | None = None  # a derived table's problem names the table, not a seq

    def line(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else (self.table or "chain")
        return f"{where}{f' ({self.record})' if self.record else ''}: {self.message}"


@dataclass(frozen=True)
class Report:
    records: int
    checkpoints: int
    problems: list[Problem]
    checked: dict[str, int] = field(default_factory=dict)  # derived rows checked per table
    conflicts: int = 0  # chained decision conflicts (hub audit conflicts lists them)
    # Records after the last valid signed checkpoint: written by a tool without the audit
    # key, or checkpoints deleted to hide a rebuilt chain. Shown, not a problem by itself.
    unsigned: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(store: AuditStore, public_keys: Mapping[str, Ed25519PublicKey]) -> Report:
    problems: list[Problem] = []
    with store.engine.connect() as conn:
        links = [dict(r._mapping) for r in conn.execute(select(chain).order_by(chain.c.seq))]
        rows: dict[str, dict[str, dict[str, Any]]] = {}
        for kind, (table, key) in KINDS.items():
            rows[kind] = {r._mapping[key]: dict(r._mapping) for r in conn.execute(select(table))}
        head = conn.execute(select(chain_head.c.seq, chain_head.c.hash)).one()
        marks = [dict(r._mapping) for r in conn.execute(select(checkpoints))]
        derived = check_derived(conn)

    running, expected_seq = GENESIS, 1
    by_seq: dict[int, str] = {}
    chained: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for entry in links:
        seq, kind, record_id = entry["seq"], entry["kind"], entry["record_id"]
        if seq != expected_seq:
            problems.append(
                Problem(seq, None, f"chain entries {expected_seq}..{seq - 1} are missing")
            )
        expected_seq = seq + 1
        if entry["prev_hash"] != running:
            problems.append(
                Problem(
                    seq,
                    record_id,
                    "link does not follow the previous one (reordered or removed records)",
                )
            )
        record = rows.get(kind, {}).get(record_id)
        chained.setdefault(kind, set()).add(record_id)
        if record is None:
            problems.append(Problem(seq, record_id, f"{kind} record was deleted"))
        elif link(entry["prev_hash"], seq, kind, record_id, record) != entry["hash"]:
            problems.append(
                Problem(seq, record_id, f"{kind} record was changed after it was written")
            )
        running = entry["hash"]
        by_seq[seq] = entry["hash"]
    for kind, known in rows.items():
        for record_id in sorted(set(known) - chained.get(kind, set())):
            problems.append(
                Problem(None, record_id, f"{kind} record was inserted outside the chain")
            )
    last_seq = links[-1]["seq"] if links else 0
    if (head.seq, head.hash) != (last_seq, running):
        problems.append(
            Problem(
                head.seq, None, "chain head does not match the last link (truncated or rewritten)"
            )
        )
    signed = _check_checkpoints(marks, by_seq, public_keys, problems)
    problems.extend(Problem(None, f.record, f.message, f.table) for f in derived.findings)
    return Report(
        len(links),
        len(marks),
        problems,
        derived.checked,
        derived.checked["decision_conflicts"],
        unsigned=last_seq - signed,
    )


def _check_checkpoints(
    marks: list[dict[str, Any]],
    by_seq: Mapping[int, str],
    public_keys: Mapping[str, Ed25519PublicKey],
    problems: list[Problem],
) -> int:
    """Each signed checkpoint against its key and the chain; the last sequence number a
    valid checkpoint covers."""
    signed = 0
    for mark in marks:
        public = public_keys.get(mark["key_id"])
        if public is None:
            problems.append(
                Problem(mark["seq"], None, f"checkpoint signed by unknown key {mark['key_id']}")
            )
        elif not checkpoint_valid(public, mark["seq"], mark["hash"], mark["signature"]):
            problems.append(Problem(mark["seq"], None, "checkpoint signature is invalid"))
        elif by_seq.get(mark["seq"]) != mark["hash"]:
            problems.append(
                Problem(mark["seq"], None, "chain differs from its signed checkpoint (rewritten)")
            )
        else:
            signed = max(signed, mark["seq"])
    return signed
