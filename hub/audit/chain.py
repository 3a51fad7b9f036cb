"""The hash chain over audit records: each link commits to the previous one, so changing,
deleting, inserting or reordering any record breaks every link after it; signed checkpoints of
the head stop anyone without the hub's audit key from quietly rebuilding the chain."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.identity.keys import SigningKey

GENESIS = "0" * 64


# Columns added to a chained table after records were already chained (migration 0004):
# left out of the hash while null, so records chained before them still verify. A value
# written into one later (or removed from a record that had one) still breaks its link.
LATER_COLUMNS = frozenset({"content_digest", "revision", "occurred_at"})


def canonical(row: Mapping[str, Any]) -> bytes:
    """A record's bytes for hashing: JSON with sorted keys, as stored."""
    data = {k: v for k, v in row.items() if v is not None or k not in LATER_COLUMNS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def link(prev_hash: str, seq: int, kind: str, record_id: str, row: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(f"{prev_hash}|{seq}|{kind}|{record_id}|".encode())
    h.update(canonical(row))
    return h.hexdigest()


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    return f"partner-data-hub/audit-checkpoint/v1|{seq}|{head_hash}".encode()


def sign_checkpoint(signer: SigningKey, seq: int, head_hash: str) -> str:
    return base64.b64encode(signer.private.sign(checkpoint_message(seq, head_hash))).decode()


def checkpoint_valid(public: Ed25519PublicKey, seq: int, head_hash: str, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature), checkpoint_message(seq, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True
