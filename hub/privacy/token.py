"""Keyed HMAC-SHA256 tokens. Never a plain hash: names and dates of birth have so little
entropy that a plain hash is reversed by trying every candidate."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hub.privacy.keys import PseudonymKey

TOKEN_PREFIX = "tok"


def make_token(key: PseudonymKey, normalised: str) -> str:
    """``tok.<domain>.<key id>.<mac>``: the key id lets recipients see a rotation happened."""
    mac = hmac.new(key.secret, f"{key.domain}\x1f{normalised}".encode(), hashlib.sha256)
    digest = base64.b32encode(mac.digest()).decode().rstrip("=").lower()
    return f"{TOKEN_PREFIX}.{key.domain}.{key.key_id}.{digest[:40]}"
