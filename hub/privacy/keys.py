"""Pseudonymisation keys, per linkage domain, held by the hub and never by recipients.

Each domain has a *key ring*: ordered key versions, the first current (it makes new tokens),
the others kept so the hub can still compute or check tokens made before a rotation.

Configured keys win: ``HUB_PSEUDONYM_KEYS__<DOMAIN>`` holds either one base64 key (the
original form; key id ``cfg1``) or ``<id>:<base64>[,<id>:<base64>...]`` with the current
version first, e.g. ``k2:<new>,k1:<old>``. A domain without one gets a development key ring
in ``<data_dir>/keys/`` (see :mod:`hub.privacy.keystore`), so a first run works and nothing
secret is ever committed. Secrets never appear in a repr, an error message or a log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from hub.errors import KeyMaterialError
from hub.privacy.keystore import DevKeyStore

MIN_KEY_BYTES = 32
LEGACY_KEY_ID = "cfg1"
# Key ids appear inside tokens (tok.<domain>.<key id>.<digest>): short, lowercase, no dots.
KEY_ID = re.compile(r"[a-z0-9]{1,16}")
_BLOCK = 64  # SHA-256's block size, the HMAC key's padded length
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


@dataclass(frozen=True)
class PseudonymKey:
    """One key version. ``created_at``/``activated_at`` are unknown (None) for keys given
    in the environment; the development store records them."""

    domain: str
    key_id: str
    secret: bytes = field(repr=False)
    created_at: datetime | None = None
    activated_at: datetime | None = None

    @cached_property
    def pads(self) -> tuple[Any, Any]:
        """SHA-256 states after the HMAC key's inner and outer pads (RFC 2104), to ``copy()``
        per token: the same MAC as ``hmac.new(secret, msg, "sha256")`` with two hash copies
        instead of an HMAC object copy (which is Python code in 3.11): about 0.5 of a
        token's 2.8 µs, several tokens an event on the processor's hot path."""
        secret = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        padded = secret.ljust(_BLOCK, b"\0")
        return hashlib.sha256(padded.translate(_IPAD)), hashlib.sha256(padded.translate(_OPAD))


@dataclass(frozen=True)
class KeyRing:
    """A domain's key versions, current first."""

    domain: str
    versions: tuple[PseudonymKey, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise KeyMaterialError(f"linkage domain '{self.domain}' has no key")
        ids = [k.key_id for k in self.versions]
        if len(set(ids)) != len(ids):
            raise KeyMaterialError(f"linkage domain '{self.domain}' repeats a key id: {ids}")

    @property
    def current(self) -> PseudonymKey:
        return self.versions[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self.versions)

    def get(self, key_id: str) -> PseudonymKey | None:
        return next((k for k in self.versions if k.key_id == key_id), None)


class KeyProvider(Protocol):
    """What the transformer needs: the key that makes new tokens for a domain."""

    def current(self, domain: str) -> PseudonymKey: ...


class KeyRingProvider(KeyProvider, Protocol):
    """Also the older versions, to re-tokenise or check tokens during a rotation."""

    def ring(self, domain: str) -> KeyRing: ...


def decode_secret(domain: str, raw: str, key_id: str = LEGACY_KEY_ID) -> bytes:
    """Base64 to bytes, at least MIN_KEY_BYTES. Errors name the domain and key id only."""
    where = f"key '{key_id}' for linkage domain '{domain}'"
    try:
        secret = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyMaterialError(f"{where} is not valid base64") from exc
    if len(secret) < MIN_KEY_BYTES:
        raise KeyMaterialError(
            f"{where} has {len(secret)} bytes; use at least "
            f"{MIN_KEY_BYTES} random bytes (e.g. `openssl rand -base64 32`)"
        )
    return secret


def parse_key_spec(domain: str, spec: str) -> KeyRing:
    """``<base64>`` (one key, id ``cfg1``) or ``<id>:<base64>,<id>:<base64>`` (first current).

    Base64 never contains ':' or ',', so the two forms cannot be confused.
    """
    spec = spec.strip()
    if ":" not in spec and "," not in spec:
        return KeyRing(domain, (PseudonymKey(domain, LEGACY_KEY_ID, decode_secret(domain, spec)),))
    versions: list[PseudonymKey] = []
    for n, entry in enumerate(spec.split(","), 1):
        key_id, sep, raw = entry.strip().partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID.fullmatch(key_id):
            raise KeyMaterialError(
                f"entry {n} of the keys for linkage domain '{domain}' must be "
                "'<key id>:<base64>' with a key id of 1-16 lowercase letters or digits"
            )
        versions.append(PseudonymKey(domain, key_id, decode_secret(domain, raw, key_id)))
    return KeyRing(domain, tuple(versions))


class LocalKeyProvider:
    """Configured keys first, then development keys in ``keys_dir`` (owner-only files)."""

    def __init__(self, keys_dir: Path, configured: Mapping[str, SecretStr] | None = None) -> None:
        self._store = DevKeyStore(keys_dir)
        self._configured = {k.lower(): v for k, v in (configured or {}).items()}
        self._cache: dict[str, KeyRing] = {}

    def __repr__(self) -> str:
        return (
            f"LocalKeyProvider(keys_dir={str(self._store.directory)!r}, "
            f"configured_domains={sorted(self._configured)})"
        )

    def current(self, domain: str) -> PseudonymKey:
        return self.ring(domain).current

    def ring(self, domain: str) -> KeyRing:
        ring = self._cache.get(domain)
        if ring is None:
            ring = self._load(domain)
            self._cache[domain] = ring
        return ring

    def is_configured(self, domain: str) -> bool:
        return domain.lower() in self._configured

    def rotate(self, domain: str) -> PseudonymKey:
        """Add a new development key version and make it current; the old ones stay.

        Configured keys are rotated where they are configured (the secret store), never here.
        Other processes keep their cached ring until restarted.
        """
        if self.is_configured(domain):
            raise KeyMaterialError(
                f"linkage domain '{domain}' uses configured keys: rotate by putting the new "
                f"version first in HUB_PSEUDONYM_KEYS__{domain.upper()}"
            )
        self._store.rotate(domain)
        self._cache.pop(domain, None)
        return self.current(domain)

    def _load(self, domain: str) -> KeyRing:
        configured = self._configured.get(domain.lower())
        if configured is not None:
            return parse_key_spec(domain, configured.get_secret_value())
        versions = [
            PseudonymKey(
                domain,
                v.key_id,
                decode_secret(domain, v.secret_b64, v.key_id),
                v.created_at,
                v.activated_at,
            )
            for v in self._store.load(domain)
        ]
        return KeyRing(domain, tuple(versions))
