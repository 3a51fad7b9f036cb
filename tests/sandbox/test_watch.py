"""What the sandbox says when keys or agreements change (the processor reloads them itself)."""

from __future__ import annotations

import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.config import project_root
from hub.sandbox.watch import Watcher


def _pub() -> bytes:
    return (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_keys_and_agreements(tmp_path: Path) -> None:
    registered, dev = tmp_path / "registered", tmp_path / "dev"
    registered.mkdir()
    agreements = tmp_path / "agreements"
    shutil.copytree(project_root() / "partnership" / "agreements", agreements)
    said: list[str] = []
    applied: list[int] = []
    watcher = Watcher(registered, dev, agreements, said.append, lambda: applied.append(1))
    watcher.poll()
    assert said == [] and applied == []

    (registered / "sefton-mbc.k1.pub").write_bytes(_pub())
    watcher.poll()
    assert said == ["partner key registered: sefton-mbc/k1 (in use from the next batch)"]

    (registered / "sefton-mbc.k2.pub").write_text("not a key")
    watcher.poll()
    assert "sefton-mbc.k2.pub: not a PEM public key" in said[-1]
    assert "keeps the keys it had" in said[-1]

    (registered / "sefton-mbc.k2.pub").unlink()
    (registered / "sefton-mbc.k1.pub").unlink()
    watcher.poll()
    assert said[-1].startswith("partner key removed: sefton-mbc/k1")

    one = next(agreements.rglob("v1.yaml"))
    original = one.read_text()
    one.write_text(original + "\n  broken: [\n")
    watcher.poll()
    assert said[-1].startswith("agreements do not load; the processor keeps the rules in force")
    assert applied == []
    one.write_text(original + "\n")
    watcher.poll()
    assert said[-1].startswith("agreements changed:") and applied == [1]
