"""Signed exports of the audit, and their verifier.

``hub audit export --from 2026-11-01 --to 2026-11-30 --output nov.zip`` writes a zip:

- ``decisions.jsonl``, ``dead_letters.jsonl``, ``receipts.jsonl``, ``consultations.jsonl``,
  ``agreement_actions.jsonl``: the records, one JSON object a line, exactly as stored;
- ``chain.jsonl``: the hash-chain links covering them (a contiguous run of sequence numbers),
  and ``checkpoints.jsonl``: the hub's signed checkpoints inside that run;
- ``manifest.json``: the period, counts, the SHA-256 of every file, the chain's first link
  (``anchor``, the hash before it) and ``head``, and the signer's key id and key fingerprint;
- ``manifest.sig``: the Ed25519 signature (base64) of ``SIGNED_PREFIX + manifest.json``.

The chain must stay contiguous to be checkable, so the export covers every record between
the first and the last record of the period in chain order: at the edges it may hold a few
records stamped just outside the period (a late receipt, say); the manifest says so.

The verifier below (:func:`verify_archive`, and ``python export.py ARCHIVE --public-key PEM``)
needs only the Python standard library and ``cryptography``: a third party copies this one
file and checks an archive with the hub's public key alone. So this module imports nothing
else at module level; the writer imports the store lazily.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:  # the writer's types only; the verifier must run without the hub
    from hub.audit.store import AuditStore
    from hub.identity.keys import SigningKey

FORMAT = "partner-data-hub/audit-export/v1"
SIGNED_PREFIX = b"partner-data-hub/audit-export/v1|"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
GENESIS = "0" * 64
# kind -> (file, id column, time column); the same kinds as hub.audit.tables.KINDS.
KIND_FILES: dict[str, tuple[str, str, str]] = {
    "decision": ("decisions.jsonl", "decision_id", "decided_at"),
    "dead_letter": ("dead_letters.jsonl", "dead_letter_id", "at"),
    "receipt": ("receipts.jsonl", "receipt_id", "at"),
    "consultation": ("consultations.jsonl", "consultation_id", "at"),
    "agreement_action": ("agreement_actions.jsonl", "action_id", "at"),
    "conflict": ("decision_conflicts.jsonl", "conflict_id", "at"),
}
CHAIN_FILE, CHECKPOINT_FILE = "chain.jsonl", "checkpoints.jsonl"


# -- the chain's hashing, defined here (this file stands alone); hub/audit/chain.py imports it --


# Columns added to a chained table after records were already chained (migration 0004):
# left out of the hash while null, so records chained before them still verify. A value
# written into one later (or removed from a record that had one) still breaks its link.
LATER_COLUMNS = frozenset({"content_digest", "revision", "occurred_at"})


def canonical(row: Mapping[str, Any]) -> bytes:
    """A record's bytes for hashing: JSON with sorted keys, as stored."""
    data = {k: v for k, v in row.items() if v is not None or k not in LATER_COLUMNS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def link_hash(prev_hash: str, seq: int, kind: str, record_id: str, row: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(f"{prev_hash}|{seq}|{kind}|{record_id}|".encode())
    h.update(canonical(row))
    return h.hexdigest()


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    return f"partner-data-hub/audit-checkpoint/v1|{seq}|{head_hash}".encode()


def key_fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


# -- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    counts: dict[str, int]
    first_seq: int | None
    last_seq: int | None
    head: str | None


def _jsonl(rows: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(canonical(r) + b"\n" for r in rows)


def export_archive(
    store: AuditStore,
    start: date,
    end: date,
    output: Path,
    signer: SigningKey,
    now: datetime | None = None,
) -> ExportSummary:
    """Write the signed archive of the records stamped ``start``..``end`` (whole days, UTC)."""
    from sqlalchemy import func, select

    from hub.audit.tables import KINDS, chain, checkpoints

    since, until = start.isoformat(), (end + timedelta(days=1)).isoformat()
    with store.engine.connect() as conn:
        lo: int | None = None
        hi: int | None = None
        for kind, (table, key) in KINDS.items():
            when = table.c[KIND_FILES[kind][2]]
            first, last = conn.execute(
                select(func.min(chain.c.seq), func.max(chain.c.seq))
                .select_from(chain.join(table, chain.c.record_id == table.c[key]))
                .where(chain.c.kind == kind, when >= since, when < until)
            ).one()
            if first is not None:
                lo = first if lo is None else min(lo, first)
                hi = last if hi is None else max(hi, last)
        links: list[dict[str, Any]] = []
        records: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KIND_FILES}
        marks: list[dict[str, Any]] = []
        if lo is not None and hi is not None:
            in_span = chain.c.seq.between(lo, hi)
            links = [
                dict(r._mapping)
                for r in conn.execute(select(chain).where(in_span).order_by(chain.c.seq))
            ]
            for kind, (table, key) in KINDS.items():
                stmt = (
                    select(table)
                    .select_from(chain.join(table, chain.c.record_id == table.c[key]))
                    .where(chain.c.kind == kind, in_span)
                    .order_by(chain.c.seq)
                )
                records[kind] = [dict(r._mapping) for r in conn.execute(stmt)]
            marks = [
                dict(r._mapping)
                for r in conn.execute(
                    select(checkpoints)
                    .where(checkpoints.c.seq.between(lo, hi))
                    .order_by(checkpoints.c.seq)
                )
            ]

    files: dict[str, bytes] = {KIND_FILES[k][0]: _jsonl(rows) for k, rows in records.items()}
    files[CHAIN_FILE] = _jsonl(links)
    files[CHECKPOINT_FILE] = _jsonl(marks)
    counts = {KIND_FILES[k][0].removesuffix(".jsonl"): len(v) for k, v in records.items()}
    counts |= {"chain": len(links), "checkpoints": len(marks)}
    chain_info: dict[str, Any] = {
        "first_seq": links[0]["seq"] if links else None,
        "last_seq": links[-1]["seq"] if links else None,
        "anchor": links[0]["prev_hash"] if links else None,
        "head": links[-1]["hash"] if links else None,
    }
    manifest = {
        "format": FORMAT,
        "created_at": (now or datetime.now(UTC)).isoformat(),
        "period": {"from": start.isoformat(), "to": end.isoformat(), "timezone": "UTC"},
        "chain": chain_info,
        "edges": "records are a contiguous run of the hash chain from the first to the last "
        "record stamped in the period, so a few at either end may be stamped just outside it",
        "counts": counts,
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(files.items())
        },
        "signer": {
            "key_id": signer.key_id,
            "public_key_sha256": key_fingerprint(signer.private.public_key()),
            "algorithm": "Ed25519",
        },
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    signature = base64.b64encode(signer.private.sign(SIGNED_PREFIX + manifest_bytes))
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, manifest_bytes)
        zf.writestr(SIGNATURE, signature + b"\n")
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    tmp.replace(output)  # never leave a half-written archive under the final name
    return ExportSummary(
        output, counts, chain_info["first_seq"], chain_info["last_seq"], chain_info["head"]
    )


# -- verifying (standard library + cryptography only) ---------------------------------------


@dataclass
class ExportReport:
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    period: dict[str, str] = field(default_factory=dict)
    head: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(data: bytes, name: str, problems: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, line in enumerate(data.splitlines(), 1):
        try:
            row = json.loads(line)
        except ValueError:
            problems.append(f"{name} line {n}: not JSON")
            continue
        if not isinstance(row, dict):
            problems.append(f"{name} line {n}: not a JSON object")
            continue
        out.append(row)
    return out


def verify_archive(path: Path, public: Ed25519PublicKey) -> ExportReport:
    """Check an export with the hub's audit public key: the signature over the manifest, every
    file's SHA-256, the counts, every chain link recomputed from its record, and the hub's
    signed checkpoints inside the run. Each problem is one line naming what is wrong."""
    report = ExportReport()
    problems = report.problems
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        problems.append(f"cannot open archive: {exc}")
        return report
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            problems.append(f"archive lacks {MANIFEST} or {SIGNATURE}")
            return report
        manifest_bytes = zf.read(MANIFEST)
        try:
            signature = base64.b64decode(zf.read(SIGNATURE).strip(), validate=True)
            public.verify(signature, SIGNED_PREFIX + manifest_bytes)
        except (InvalidSignature, ValueError):
            problems.append(
                "manifest signature is invalid: the manifest or the signature was altered, "
                "or the archive was not signed with this public key"
            )
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError:
            problems.append("manifest is not JSON")
            return report
        if manifest.get("format") != FORMAT:
            problems.append(f"unknown format {manifest.get('format')!r}")
            return report
        signer = manifest.get("signer", {})
        if signer.get("public_key_sha256") != key_fingerprint(public):
            problems.append(
                f"manifest names signing key {signer.get('key_id')!r} with another fingerprint "
                "than the public key given"
            )
        report.period = dict(manifest.get("period", {}))
        declared: dict[str, Any] = manifest.get("files", {})
        contents: dict[str, bytes] = {}
        for name in sorted(names - {MANIFEST, SIGNATURE} - set(declared)):
            problems.append(f"{name}: file is not in the manifest (added)")
        for name, meta in sorted(declared.items()):
            if name not in names:
                problems.append(f"{name}: file listed in the manifest is missing")
                continue
            data = zf.read(name)
            if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                problems.append(f"{name}: SHA-256 differs from the manifest (file altered)")
            contents[name] = data

    parsed = {name: _rows(data, name, problems) for name, data in contents.items()}
    counts = {name.removesuffix(".jsonl"): len(rows) for name, rows in parsed.items()}
    report.counts = counts
    for name, n in manifest.get("counts", {}).items():
        if counts.get(name, 0) != n:
            problems.append(f"{name}: {counts.get(name, 0)} records, manifest says {n}")
    _check_chain(manifest, parsed, public, signer.get("key_id"), report)
    return report


def _check_chain(
    manifest: Mapping[str, Any],
    parsed: Mapping[str, list[dict[str, Any]]],
    public: Ed25519PublicKey,
    key_id: str | None,
    report: ExportReport,
) -> None:
    problems = report.problems
    links = parsed.get(CHAIN_FILE, [])
    info = manifest.get("chain", {})
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, (file, key, _when) in KIND_FILES.items():
        by_kind[kind] = {}
        for row in parsed.get(file, []):
            if str(row.get(key)) in by_kind[kind]:
                problems.append(f"{file}: record {row.get(key)} appears twice")
            by_kind[kind][str(row.get(key))] = row
    running = info.get("anchor") if links else None
    expected_seq = info.get("first_seq")
    hashes: dict[int, str] = {}
    seen: dict[str, set[str]] = {kind: set() for kind in KIND_FILES}
    for entry in links:
        seq, record_id = entry.get("seq"), str(entry.get("record_id"))
        kind = str(entry.get("kind"))
        where = f"seq {seq} ({record_id})"
        if not isinstance(seq, int) or seq != expected_seq:
            problems.append(f"{where}: expected seq {expected_seq} (links missing or reordered)")
        expected_seq = (seq if isinstance(seq, int) else 0) + 1
        if entry.get("prev_hash") != running:
            problems.append(f"{where}: link does not follow the previous one")
        record = by_kind.get(str(kind), {}).get(record_id)
        if record is None:
            problems.append(f"{where}: {kind} record is missing from the archive")
        elif isinstance(seq, int):
            seen[str(kind)].add(record_id)
            prev = str(entry.get("prev_hash"))
            if link_hash(prev, seq, str(kind), record_id, record) != entry.get("hash"):
                problems.append(f"{where}: {kind} record differs from what the chain recorded")
        running = entry.get("hash")
        if isinstance(seq, int):
            hashes[seq] = str(running)
    if links and running != info.get("head"):
        problems.append("chain head differs from the manifest")
    if links and links[-1].get("seq") != info.get("last_seq"):
        problems.append("last chain link differs from the manifest")
    for kind, rows in by_kind.items():
        for record_id in sorted(set(rows) - seen[kind]):
            problems.append(f"{KIND_FILES[kind][0]}: record {record_id} is not in the chain")
    for mark in parsed.get(CHECKPOINT_FILE, []):
        seq, digest = mark.get("seq"), str(mark.get("hash"))
        if mark.get("key_id") != key_id:
            continue  # signed by an earlier audit key: check it with that key (hub audit verify)
        try:
            public.verify(
                base64.b64decode(str(mark.get("signature"))),
                checkpoint_message(int(str(seq)), digest),
            )
        except (InvalidSignature, ValueError):
            problems.append(f"checkpoint at seq {seq}: signature is invalid")
            continue
        if isinstance(seq, int) and hashes.get(seq) != digest:
            problems.append(f"checkpoint at seq {seq}: chain differs from the signed checkpoint")
    head = info.get("head")
    report.head = str(head) if head is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    """``python export.py ARCHIVE --public-key hub-audit.pub``: exit 0 when intact."""
    parser = argparse.ArgumentParser(description="Verify a signed audit export of the hub.")
    parser.add_argument("archive", type=Path)
    parser.add_argument("--public-key", type=Path, required=True, help="the hub's audit key (PEM)")
    args = parser.parse_args(argv)
    try:
        public = load_public_key(args.public_key.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"cannot read public key {args.public_key}: {exc}", file=sys.stderr)
        return 2
    report = verify_archive(args.archive, public)
    out = io.StringIO()
    for problem in report.problems:
        print(problem, file=out)
    period = f"{report.period.get('from')}..{report.period.get('to')}" if report.period else "?"
    records = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    verdict = "intact" if report.ok else f"{len(report.problems)} problems"
    print(f"export {period}: {records}: {verdict}", file=out)
    sys.stdout.write(out.getvalue())
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover - run as a standalone file by third parties
    sys.exit(main())
