from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hub.identity import PartnerKeyStore, sign, verify
from hub.identity.signing import BadSignature, UnknownSigner, Unsigned

TOPIC = "partner.merseyside-police.safeguarding-concern.v1"


@pytest.fixture
def store(tmp_path: Path) -> PartnerKeyStore:
    return PartnerKeyStore(None, tmp_path / "dev")


def test_sign_and_verify(store: PartnerKeyStore) -> None:
    key = store.dev_signing_key("merseyside-police")
    headers = dict(sign(key, TOPIC, b"k", b"value"))
    assert verify(headers, TOPIC, b"k", b"value", store.public_keys()) == "merseyside-police"


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        ("partner.liverpool-cc.safeguarding-concern.v1", b"k", b"value"),  # replayed elsewhere
        (TOPIC, b"other", b"value"),
        (TOPIC, b"k", b"valuf"),
        (TOPIC, None, b"value"),
    ],
)
def test_any_change_breaks_the_signature(
    store: PartnerKeyStore, topic: str, key: bytes | None, value: bytes
) -> None:
    headers = dict(sign(store.dev_signing_key("merseyside-police"), TOPIC, b"k", b"value"))
    with pytest.raises(BadSignature):
        verify(headers, topic, key, value, store.public_keys())


def test_unsigned_and_unknown_signer(store: PartnerKeyStore, tmp_path: Path) -> None:
    with pytest.raises(Unsigned) as info:
        verify({}, TOPIC, b"k", b"v", store.public_keys())
    assert info.value.fix
    stranger = PartnerKeyStore(None, tmp_path / "elsewhere").dev_signing_key(
        "merseyside-police", "x"
    )
    with pytest.raises(UnknownSigner):
        verify(dict(sign(stranger, TOPIC, b"k", b"v")), TOPIC, b"k", b"v", store.public_keys())


def test_dev_private_key_is_owner_only_and_stable(store: PartnerKeyStore, tmp_path: Path) -> None:
    first = store.dev_signing_key("probation-nw")
    again = PartnerKeyStore(None, tmp_path / "dev").dev_signing_key("probation-nw")
    path = tmp_path / "dev" / "probation-nw.dev1.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    headers = dict(sign(first, TOPIC, None, b"v"))
    assert verify(headers, TOPIC, None, b"v", {again.key_id: again.private.public_key()})
    assert "private" not in repr(first) or "Ed25519PrivateKey" not in repr(first)
