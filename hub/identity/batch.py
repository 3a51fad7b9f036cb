"""Sign a produce batch once: a Merkle root signed with Ed25519, an audit path per record.

``sign_batch`` signs records whose headers are final (trace context included: the leaf
covers every header but the signature headers). ``BatchSigner`` gathers a producer's
records and signs them when the batch is full or the producer flushes; the records reach
the broker only then, since their signature headers do not exist before.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.identity import merkle
from hub.identity.keys import SigningKey
from hub.identity.signing import (
    BATCH_SIGNATURE_HEADER,
    INDEX_HEADER,
    MAX_BATCH,
    PATH_HEADER,
    SIGNATURE_HEADERS,
    SIGNER_HEADER,
    SIZE_HEADER,
    record_leaf,
    root_message,
)

# Batch size trades the signer's one Ed25519 signature per batch against each record's
# path: one more 32-byte hash (44 base64 bytes of header) each time the batch doubles.
# bench/signing.py, 2026-12-05, the processor's verify CPU per record (helper included):
# about 53 us signed per record; batches of 16: 14, 64: 14, 256: 11, 1,024: 12 (a memo
# shares each batch's upper path, so longer paths cost little). Signing about 5 us a record.
# 256 is the cheapest; its signature headers are about 520 bytes a record (430 at 64).
DEFAULT_BATCH = 256


@dataclass(slots=True)
class Outgoing:
    """A record on its way to the broker: signature headers are added when it is signed."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def sign_batch(signer: SigningKey, records: Sequence[Outgoing]) -> list[Outgoing]:
    """The same records, each with the batch's signature headers appended."""
    if not 1 <= len(records) <= MAX_BATCH:
        raise ValueError(f"a signed batch holds 1..{MAX_BATCH} records, not {len(records)}")
    for r in records:
        clash = {name for name, _ in r.headers} & SIGNATURE_HEADERS
        if clash:
            raise ValueError(f"record to {r.topic} already carries {sorted(clash)}")
    leaves = [merkle.leaf_hash(record_leaf(r.topic, r.key, r.value, r.headers)) for r in records]
    root, paths = merkle.tree(leaves)
    size = len(records)
    signature = base64.b64encode(signer.private.sign(root_message(size, root)))
    common = [(SIGNER_HEADER, signer.key_id.encode()), (BATCH_SIGNATURE_HEADER, signature)]
    size_header = (SIZE_HEADER, str(size).encode())
    return [
        Outgoing(
            r.topic,
            r.key,
            r.value,
            [
                *r.headers,
                *common,
                (INDEX_HEADER, str(i).encode()),
                size_header,
                (PATH_HEADER, base64.b64encode(b"".join(path))),
            ],
        )
        for i, (r, path) in enumerate(zip(records, paths, strict=True))
    ]


class BatchSigner:
    """Gathers a producer's records; ``add`` hands back a signed batch once ``max_records``
    are waiting, ``seal`` signs whatever waits (call it before flushing the producer)."""

    def __init__(self, signer: SigningKey, max_records: int = DEFAULT_BATCH) -> None:
        if not 1 <= max_records <= MAX_BATCH:
            raise ValueError(f"max_records must be within 1..{MAX_BATCH}")
        self.signer = signer
        self.max_records = max_records
        self._waiting: list[Outgoing] = []
        longest_path = (max_records - 1).bit_length() * merkle.HASH_BYTES
        self._reserved = [
            (SIGNER_HEADER, signer.key_id.encode()),
            (BATCH_SIGNATURE_HEADER, bytes(88)),  # base64 of 64 bytes
            (INDEX_HEADER, bytes(len(str(max_records - 1)))),
            (SIZE_HEADER, bytes(len(str(max_records)))),
            (PATH_HEADER, bytes(4 * -(-longest_path // 3))),
        ]

    def __len__(self) -> int:
        return len(self._waiting)

    def reserved(self) -> list[tuple[str, bytes]]:
        """Stand-ins as large as the signature headers this signer can add: a record that
        fits the producer's limit with them still fits once signed."""
        return self._reserved

    def add(self, record: Outgoing) -> list[Outgoing]:
        """Signed records ready to produce (none until the batch is full)."""
        self._waiting.append(record)
        return self.seal() if len(self._waiting) >= self.max_records else []

    def seal(self) -> list[Outgoing]:
        waiting, self._waiting = self._waiting, []
        return sign_batch(self.signer, waiting) if waiting else []
