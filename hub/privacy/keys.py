"""Pseudonymisation keys, one per linkage domain, held by the hub and never by recipients.

Configured keys (``HUB_PSEUDONYM_KEYS__<DOMAIN>``, base64, at least 32 bytes) win. A domain
without one gets a development key generated on first use into ``<data_dir>/keys/``, readable
by the owner only, so a first run works and nothing secret is ever committed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from hub.errors import KeyMaterialError

MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class PseudonymKey:
    domain: str
    key_id: str
    secret: bytes = field(repr=False)


class KeyProvider(Protocol):
    def current(self, domain: str) -> PseudonymKey: ...


def _decode(domain: str, raw: str) -> bytes:
    try:
        secret = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise KeyMaterialError(f"key for linkage domain '{domain}' is not valid base64") from exc
    if len(secret) < MIN_KEY_BYTES:
        raise KeyMaterialError(
            f"key for linkage domain '{domain}' has {len(secret)} bytes; use at least "
            f"{MIN_KEY_BYTES} random bytes (e.g. `openssl rand -base64 32`)"
        )
    return secret


class LocalKeyProvider:
    """Configured keys first, then development keys in ``keys_dir`` (created 0600)."""

    def __init__(self, keys_dir: Path, configured: Mapping[str, SecretStr] | None = None) -> None:
        self._dir = keys_dir
        self._configured = {k.lower(): v for k, v in (configured or {}).items()}
        self._cache: dict[str, PseudonymKey] = {}

    def current(self, domain: str) -> PseudonymKey:
        key = self._cache.get(domain)
        if key is None:
            key = self._load(domain)
            self._cache[domain] = key
        return key

    def _load(self, domain: str) -> PseudonymKey:
        configured = self._configured.get(domain.lower())
        if configured is not None:
            return PseudonymKey(domain, "cfg1", _decode(domain, configured.get_secret_value()))
        path = self._dir / f"{domain}.key.json"
        if not path.exists():
            self._generate(domain, path)
        try:
            data = json.loads(path.read_text())
            return PseudonymKey(domain, str(data["key_id"]), _decode(domain, data["secret"]))
        except (OSError, ValueError, KeyError) as exc:
            raise KeyMaterialError(f"cannot read development key {path}: {exc}") from exc

    def _generate(self, domain: str, path: Path) -> None:
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {
            "domain": domain,
            "key_id": "dev1",
            "secret": base64.b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode(),
            "note": "Development key generated on first run. Never use in production.",
        }
        # O_EXCL: two processes starting together must not overwrite each other's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
