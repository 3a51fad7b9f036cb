"""Partner identity: Ed25519 signatures over (topic, key, value), and the public-key registry.

Broker ACLs alone cannot prove who wrote a record (the embedded broker has none), so every
partner signs its events and the processor verifies the signature before anything else.
"""

from hub.identity.keys import PartnerKeyStore, SigningKey
from hub.identity.signing import SIGNATURE_HEADER, SIGNER_HEADER, sign, verify

__all__ = ["SIGNATURE_HEADER", "SIGNER_HEADER", "PartnerKeyStore", "SigningKey", "sign", "verify"]
