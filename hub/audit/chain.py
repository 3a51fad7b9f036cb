"""The hash chain over audit records: each link commits to the previous one, so changing,
deleting, inserting or reordering any record breaks every link after it; signed checkpoints of
the head stop anyone without the hub's audit key from quietly rebuilding the chain."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.export import LATER_COLUMNS, canonical, checkpoint_message, link_hash
from hub.identity.keys import SigningKey

__all__ = [
    "GENESIS",
    "LATER_COLUMNS",
    "canonical",
    "checkpoint_message",
    "checkpoint_valid",
    "link",
    "sign_checkpoint",
]

GENESIS = "0" * 64


# The hashing itself (canonical bytes, link, checkpoint message, and the LATER_COLUMNS left
# out while null) is defined once in hub/audit/export.py: that file must stand alone for a
# third party's verifier, so the hub's chain uses its definitions rather than the reverse.
link = link_hash


def sign_checkpoint(signer: SigningKey, seq: int, head_hash: str) -> str:
    return base64.b64encode(signer.private.sign(checkpoint_message(seq, head_hash))).decode()


def checkpoint_valid(public: Ed25519PublicKey, seq: int, head_hash: str, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature), checkpoint_message(seq, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True
