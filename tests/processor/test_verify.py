"""Signature verdicts off the main thread: on a thread or in the helper process, the same
verdicts; a helper that dies is replaced by checking on the thread, never by skipping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.identity import PartnerKeyStore, sign
from hub.identity.signing import BadSignature, SignedRecord, UnknownSigner, Unsigned
from hub.identity.verify_worker import answer, encode
from hub.processor.verify import Verifier
from tests.processor.stubs import FakeMessage

TOPIC = "partner.merseyside-police.safeguarding-concern.v1"
Records = tuple[list[Any], dict[str, Ed25519PublicKey]]


@pytest.fixture
def records(tmp_path: Path) -> Records:
    store = PartnerKeyStore(None, tmp_path / "keys")
    police = store.dev_signing_key("merseyside-police")
    stranger = PartnerKeyStore(None, tmp_path / "other").dev_signing_key("merseyside-police")
    keys = store.public_keys()
    msgs = []
    for i in range(150):  # more than two chunks
        value = f"event {i}".encode()
        headers = sign(police, TOPIC, None, value)
        if i % 10 == 3:
            value += b"!"  # changed after signing
        if i % 10 == 5:
            headers = []  # unsigned
        if i % 10 == 7:
            headers = sign(stranger, TOPIC, None, value)  # same key id, another key
        msgs.append(FakeMessage(TOPIC, 0, i, value, None, headers))
    msgs.append(
        FakeMessage(
            TOPIC, 0, 150, b"x", None, [("hub.sig", b"AAAA"), ("hub.sig.key", b"nobody/k1")]
        )
    )
    return msgs, keys


def expected(i: int) -> type | str:
    if i == 150:
        return UnknownSigner
    return {3: BadSignature, 5: Unsigned, 7: BadSignature}.get(i % 10, "merseyside-police")


@pytest.mark.parametrize("helper", [False, True], ids=["thread", "helper-process"])
def test_verdicts_in_order_for_every_kind_of_record(records: Records, helper: bool) -> None:
    msgs, keys = records
    verifier = Verifier(helper_process=helper)
    try:
        verdicts = list(verifier.verdicts(msgs, keys))
    finally:
        verifier.close()
    assert len(verdicts) == len(msgs)
    for i, v in enumerate(verdicts):
        want = expected(i)
        if isinstance(want, str):
            assert v == want, i
        else:
            assert isinstance(v, want), (i, v)


def test_a_dead_helper_process_falls_back_to_checking_on_the_thread(records: Records) -> None:
    msgs, keys = records
    verifier = Verifier(helper_process=True)
    try:
        first = list(verifier.verdicts(msgs, keys))
        helper = verifier._helper
        assert helper is not None and helper._proc is not None
        helper._proc.kill()
        helper._proc.wait()
        again = list(verifier.verdicts(msgs, keys))
    finally:
        verifier.close()
    assert verifier._helper is None, "the failed helper is dropped"
    assert [type(v) for v in again] == [type(v) for v in first]
    assert [v for v in again if isinstance(v, str)] == [v for v in first if isinstance(v, str)]


def test_the_worker_protocol_round_trips() -> None:
    from nacl.signing import SigningKey as NaclKey

    key = NaclKey.generate()
    good = key.sign(b"hello").signature
    items = [
        (bytes(key.verify_key), good, b"hello"),
        (bytes(key.verify_key), good, b"hellO"),
        (bytes(key.verify_key), bytes(64), b""),
    ]
    frame = encode(items)
    assert answer(frame[4:]) == b"\x01\x00\x00"
    assert SignedRecord("p/k", bytes(key.verify_key), good, b"hello").partner == "p"


def test_the_helper_process_is_not_given_the_processors_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hub.processor.verify import CheckerProcess

    monkeypatch.setenv("HUB_PSEUDONYM_KEYS__MSN", "a-secret-the-checker-must-not-see")
    helper = CheckerProcess()
    try:
        assert helper._proc is not None
        environ = Path(f"/proc/{helper._proc.pid}/environ").read_bytes()
    finally:
        helper.close()
    assert b"a-secret-the-checker-must-not-see" not in environ
