"""Keyed HMAC-SHA256 tokens. Never a plain hash: names and dates of birth have so little
entropy that a plain hash is reversed by trying every candidate.

A token reads ``tok.<domain>.<key id>.<digest>``: the domain says which linkage space it
belongs to and the key id which key version made it, so recipients see a rotation happen.
The MAC input is domain-separated: a format version, the linkage domain and the *kind* of
value (``person``, ``nhs-number``, ``pnc-id``...) come before the normalised value, so the
same characters tokenised as two kinds of thing never give the same token.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hub.privacy.keys import KeyRing, PseudonymKey
from hub.privacy.normalise import Normalised

TOKEN_PREFIX = "tok"
DIGEST_CHARS = 40  # 200 bits of the 256-bit MAC, base32: collisions are not a concern
_DIGEST_BYTES = DIGEST_CHARS * 5 // 8
PERSON = "person"
VALUE = "value"
_B32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case
_B32_PAIRS = tuple(_B32[i >> 5] + _B32[i & 31] for i in range(1024))
_SHIFTS = tuple(range(_DIGEST_BYTES * 8 - 10, -1, -10))
_INPUT_VERSION = "hub-token-v1"
_SEP = "\x1f"  # unit separator: never produced by any normaliser
TOKEN = re.compile(
    rf"{TOKEN_PREFIX}\.(?P<domain>[a-z0-9-]+)\.(?P<key_id>[a-z0-9]+)"
    rf"\.(?P<digest>[a-z2-7]{{{DIGEST_CHARS}}})"
)


@dataclass(frozen=True)
class TokenParts:
    domain: str
    key_id: str
    digest: str


def _digest(key: PseudonymKey, normalised: str, kind: str) -> str:
    inner, outer = key.pads  # HMAC-SHA256 (RFC 2104) from the key's padded states
    h = inner.copy()
    h.update(f"{_INPUT_VERSION}{_SEP}{key.domain}{_SEP}{kind}{_SEP}{normalised}".encode())
    o = outer.copy()
    o.update(h.digest())
    # The first 25 bytes are exactly 40 base32 characters: the same text as encoding all
    # 32 and cutting. Encoded ten bits at a time from a table: base64.b32encode is pure
    # Python in 3.11 and was most of a token's cost.
    n = int.from_bytes(o.digest()[:_DIGEST_BYTES], "big")
    return "".join([_B32_PAIRS[(n >> s) & 0x3FF] for s in _SHIFTS])


def make_token(key: PseudonymKey, normalised: str, kind: str = VALUE) -> str:
    """The token of an already normalised value of the given kind, under ``key``."""
    return f"{TOKEN_PREFIX}.{key.domain}.{key.key_id}.{_digest(key, normalised, kind)}"


def parse_token(token: str) -> TokenParts | None:
    m = TOKEN.fullmatch(token)
    return TokenParts(m["domain"], m["key_id"], m["digest"]) if m else None


def person_input(parts: Sequence[Normalised]) -> str | None:
    """The identity string of a person from the normalised ``identity`` fields, in schema
    order; None when none is present. A missing part is kept as an empty slot, so "Kayden
    O'Brien, date of birth unknown" never shares a token with a Kayden O'Brien whose date
    of birth is known."""
    if not any(p.value for p in parts):
        return None
    return _SEP.join(f"{p.kind}={p.value or ''}" for p in parts)


def tokens_by_version(ring: KeyRing, normalised: str, kind: str = VALUE) -> dict[str, str]:
    """The value's token under every key version the hub holds, current first.

    What a rotation overlap or a re-keying needs: the old and the new token of one value.
    """
    return {k.key_id: make_token(k, normalised, kind) for k in ring.versions}


def check_token(ring: KeyRing, token: str, normalised: str, kind: str = VALUE) -> bool:
    """Whether ``token`` is this value's token under the key version it names."""
    parts = parse_token(token)
    if parts is None or parts.domain != ring.domain:
        return False
    key = ring.get(parts.key_id)
    if key is None:
        return False
    return hmac.compare_digest(parts.digest, _digest(key, normalised, kind))
