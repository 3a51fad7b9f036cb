"""Partner signing keys.

Public keys come from the partner register (``partnership/partner-keys/<partner>.<key>.pub``,
PEM) and, in development, from keys generated on first run into the data dir. A private key
lives only with its partner: in development that is ``<data dir>/partner-keys/`` (owner-only),
in production the partner's own secret store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.errors import KeyMaterialError


@dataclass(frozen=True)
class SigningKey:
    key_id: str  # "<partner>/<key name>"
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def partner(self) -> str:
        return self.key_id.split("/", 1)[0]


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class PartnerKeyStore:
    """Public keys by key id, plus development private keys generated on demand."""

    def __init__(self, registered_dir: Path | None, dev_dir: Path | None) -> None:
        self._registered = registered_dir
        self._dev = dev_dir

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        keys: dict[str, Ed25519PublicKey] = {}
        for folder in (self._registered, self._dev):
            if folder is None or not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.pub")):
                partner, _, name = path.name.removesuffix(".pub").partition(".")
                try:
                    loaded = serialization.load_pem_public_key(path.read_bytes())
                except ValueError as exc:
                    raise KeyMaterialError(f"{path}: not a PEM public key: {exc}") from exc
                if not isinstance(loaded, Ed25519PublicKey):
                    raise KeyMaterialError(f"{path}: not an Ed25519 public key")
                keys[f"{partner}/{name or 'default'}"] = loaded
        return keys

    def dev_signing_key(self, partner: str, name: str = "dev1") -> SigningKey:
        """The development key of ``partner``, generated (0600) on first use."""
        if self._dev is None:
            raise KeyMaterialError("no development key folder configured")
        self._dev.mkdir(parents=True, exist_ok=True, mode=0o700)
        private_path = self._dev / f"{partner}.{name}.key"
        if not private_path.exists():
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process generated it first: use theirs
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                (self._dev / f"{partner}.{name}.pub").write_bytes(_public_pem(private.public_key()))
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyMaterialError(f"{private_path}: not an Ed25519 private key")
        return SigningKey(f"{partner}/{name}", loaded)
