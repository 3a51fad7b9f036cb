"""Partner identity: Ed25519 signatures per record or per batch (a signed Merkle root), and
the public-key registry.

Broker ACLs alone cannot prove who wrote a record (the embedded broker has none), so every
partner signs its events and the processor verifies the signature before anything else.
"""

from hub.identity.batch import BatchSigner, Outgoing, sign_batch
from hub.identity.keys import PartnerKeyStore, SigningKey
from hub.identity.signing import SIGNATURE_HEADER, SIGNER_HEADER, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNER_HEADER",
    "BatchSigner",
    "Outgoing",
    "PartnerKeyStore",
    "SigningKey",
    "sign",
    "sign_batch",
    "verify",
]
