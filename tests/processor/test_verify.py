"""Signature verdicts off the main thread: on a thread or in the helper process, the same
verdicts; a helper that dies is replaced by checking on the thread, never by skipping."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.catalogue import DEADLETTER_TOPIC, EventType
from hub.identity import Outgoing, PartnerKeyStore, SigningKey, sign, sign_batch
from hub.identity.signing import (
    BadSignature,
    SignedRecord,
    UnknownSigner,
    Unsigned,
    verify,
)
from hub.identity.verify_worker import answer, encode
from hub.processor.verify import RootVerdicts, Verifier
from tests.processor.conftest import SIGNERS, county_lines_child
from tests.processor.conftest import encode as encode_event
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


# -- the batch form ------------------------------------------------------------------------


def batch_messages(
    signer: SigningKey, n: int, first_offset: int = 0, topic: str = TOPIC
) -> list[FakeMessage]:
    out = sign_batch(
        signer,
        [
            Outgoing(topic, None, f"event {first_offset + i}".encode(), [("tp", b"1")])
            for i in range(n)
        ],
    )
    return [
        FakeMessage(r.topic, 0, first_offset + i, r.value, r.key, r.headers)  # type: ignore[arg-type]
        for i, r in enumerate(out)
    ]


@pytest.mark.parametrize("helper", [False, True], ids=["thread", "helper-process"])
def test_each_distinct_root_is_checked_once(tmp_path: Path, helper: bool) -> None:
    store = PartnerKeyStore(None, tmp_path / "keys")
    police = store.dev_signing_key("merseyside-police")
    keys = store.public_keys()
    # Three batches of 100 spread over many chunks, interleaved with per-record records.
    msgs: list[Any] = []
    for b in range(3):
        msgs += batch_messages(police, 100, first_offset=b * 100)
        msgs.append(FakeMessage(TOPIC, 0, 999, b"x", None, sign(police, TOPIC, None, b"x")))
    bent = msgs[150]
    msgs[150] = FakeMessage(TOPIC, 0, 150, b"bent", None, bent.headers())
    verifier = Verifier(helper_process=helper)
    try:
        verdicts = list(verifier.verdicts(msgs, keys))
        # 3 roots, 3 per-record signatures, and the root the bent record's path leads to.
        assert verifier.roots.checked == 3 + 3 + 1
        again = list(verifier.verdicts(msgs[:100], keys))
        assert verifier.roots.checked == 7, "a root seen before is not checked again"
    finally:
        verifier.close()
    assert isinstance(verdicts[150], BadSignature)
    assert [v for i, v in enumerate(verdicts) if i != 150] == ["merseyside-police"] * 302
    assert again == ["merseyside-police"] * 100


def test_a_bad_root_fails_its_whole_batch_and_is_remembered(tmp_path: Path) -> None:
    store = PartnerKeyStore(None, tmp_path / "keys")
    store.dev_signing_key("merseyside-police")
    impostor = PartnerKeyStore(None, tmp_path / "other").dev_signing_key("merseyside-police")
    verifier = Verifier()
    try:
        verdicts = list(verifier.verdicts(batch_messages(impostor, 130), store.public_keys()))
        assert verifier.roots.checked == 1
    finally:
        verifier.close()
    assert all(isinstance(v, BadSignature) for v in verdicts)
    assert "batch signature" in str(verdicts[0])


def test_remembered_roots_are_bounded() -> None:
    roots = RootVerdicts(kept=3)
    for i in range(10):
        roots.put((b"p", bytes([i]), b"m"), True)
    assert len(roots) == 3
    assert roots.get((b"p", bytes([0]), b"m")) is None
    assert roots.get((b"p", bytes([9]), b"m")) is True
    assert roots.get((b"q", bytes([9]), b"m")) is None, "another key is another entry"


def test_the_processor_refuses_another_partners_batch_and_keeps_dead_letters_verifiable(
    setup: Any, concern_type: EventType, tmp_path: Path
) -> None:
    """A council's validly signed batch on the police topic is a partner mismatch; a bent
    record is a bad signature; a good batch is shared. Each dead letter keeps the record's
    headers, so it still proves (or disproves) its origin on its own."""
    processor, _consumer, producer, _audit, schema_id = setup
    value = encode_event(schema_id, concern_type, county_lines_child())
    good = batch_of(SIGNERS["merseyside-police"], [value], partition=0)
    council = batch_of(SIGNERS["sefton-mbc"], [value, value], partition=1)
    bent = batch_of(SIGNERS["merseyside-police"], [value, value], partition=2)
    bent[1] = FakeMessage(TOPIC, 2, 1, value + b"x", None, bent[1].headers())
    processor.process_batch([*good, *council, *bent])  # type: ignore[arg-type]

    dead = producer.on(DEADLETTER_TOPIC)
    assert [d["headers"]["hub.dlq.reason_code"] for d in dead] == [
        b"partner-mismatch",
        b"partner-mismatch",
        b"bad-signature",
    ]
    keys = PartnerKeyStore(None, tmp_path / "partner-keys").public_keys()  # the setup's
    for d, expect in zip(dead, ("sefton-mbc", "sefton-mbc", None), strict=True):
        own = [(k, v) for k, v in d["headers"].items() if not k.startswith("hub.dlq.")]
        if expect is None:
            with pytest.raises(BadSignature):
                verify(own, TOPIC, None, d["value"], keys)
        else:
            assert verify(own, TOPIC, None, d["value"], keys) == expect
    assert any(p["topic"].startswith("share.") for p in producer.produced)


def batch_of(signer: SigningKey, values: list[bytes], partition: int) -> list[FakeMessage]:
    out = sign_batch(signer, [Outgoing(TOPIC, None, v) for v in values])
    return [
        FakeMessage(TOPIC, partition, i, r.value, None, r.headers)  # type: ignore[arg-type]
        for i, r in enumerate(out)
    ]


def test_a_dead_letter_keeps_repeated_and_null_headers_so_it_still_verifies(
    setup: Any, tmp_path: Path
) -> None:
    """Headers copied as sent, not through a name -> value mapping: the batch form covers
    their order, repeats and null values, so a dead letter that lost one would no longer
    prove where it came from."""
    processor, _consumer, _producer, _audit, _schema_id = setup
    raw_out: list[list[tuple[str, bytes | None]]] = []
    original_send = processor._out.send

    def keep_raw(topic: str, value: Any, key: Any = None, headers: Any = None) -> None:
        if topic == DEADLETTER_TOPIC:
            raw_out.append(list(headers or []))
        original_send(topic, value, key, headers)

    processor._out.send = keep_raw
    headers = [("a", b"1"), ("a", b"2"), ("b", None)]
    out = sign_batch(SIGNERS["merseyside-police"], [Outgoing(TOPIC, None, b"\x01garbage", headers)])
    processor.process_batch([FakeMessage(TOPIC, 0, 0, out[0].value, None, out[0].headers)])  # type: ignore[arg-type, list-item]
    assert len(raw_out) == 1
    own = [(k, v) for k, v in raw_out[0] if not k.startswith("hub.dlq.")]
    assert own == out[0].headers
    keys = PartnerKeyStore(None, tmp_path / "partner-keys").public_keys()
    assert verify(own, TOPIC, None, b"\x01garbage", keys) == "merseyside-police"


def test_a_remembered_root_does_not_outlive_its_key(tmp_path: Path) -> None:
    """Verdicts are remembered per (key, signature, root), after the key lookup: a key
    withdrawn from the register fails the rest of its batch at once."""
    store = PartnerKeyStore(None, tmp_path / "keys")
    police = store.dev_signing_key("merseyside-police")
    msgs = batch_messages(police, 10)
    verifier = Verifier()
    try:
        first = list(verifier.verdicts(msgs[:5], store.public_keys()))
        after = list(verifier.verdicts(msgs[5:], {}))
    finally:
        verifier.close()
    assert first == ["merseyside-police"] * 5
    assert all(isinstance(v, UnknownSigner) for v in after)


def test_a_dead_letter_by_reference_still_proves_its_origin(setup: Any, tmp_path: Path) -> None:
    """A record too large to copy is dead-lettered as a reference: its value's SHA-256,
    key and headers as sent are enough to check its batch signature, without the value."""
    import json

    from hub.identity.signing import verify_digest

    processor, _consumer, producer, _audit, _schema_id = setup
    huge = b"\x00" + b"x" * 2_000_000  # over the input limit and the producer's
    out = sign_batch(
        SIGNERS["merseyside-police"],
        [Outgoing(TOPIC, b"event-1", huge, [("traceparent", b"00-t"), ("a", None)])],
    )[0]
    processor.process_batch([FakeMessage(TOPIC, 0, 0, out.value, out.key, out.headers)])  # type: ignore[arg-type, list-item]
    (letter,) = producer.on(DEADLETTER_TOPIC)
    reference = json.loads(letter["value"])
    headers = [(n, None if v is None else base64.b64decode(v)) for n, v in reference["headers"]]
    key = base64.b64decode(reference["key"])
    keys = PartnerKeyStore(None, tmp_path / "partner-keys").public_keys()
    digest = bytes.fromhex(reference["sha256"])
    assert verify_digest(headers, reference["topic"], key, digest, keys) == "merseyside-police"
    with pytest.raises(BadSignature):
        verify_digest(headers, reference["topic"], key, bytes(32), keys)
