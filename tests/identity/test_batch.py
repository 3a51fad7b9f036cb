"""The batch form: every record of a signed batch verifies on its own, and every way of
bending one (its bytes, its headers, its place in the tree, its signature headers) fails."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.identity import BatchSigner, Outgoing, PartnerKeyStore, SigningKey, sign, sign_batch
from hub.identity.signing import (
    BATCH_SIGNATURE_HEADER,
    INDEX_HEADER,
    MAX_BATCH,
    PATH_HEADER,
    SIGNATURE_HEADER,
    SIGNER_HEADER,
    SIZE_HEADER,
    BadSignature,
    UnknownSigner,
    Unsigned,
    verify,
)

TOPIC = "partner.merseyside-police.safeguarding-concern.v1"
Keys = dict[str, Ed25519PublicKey]


@pytest.fixture
def police(tmp_path: Path) -> SigningKey:
    return PartnerKeyStore(None, tmp_path / "k").dev_signing_key("merseyside-police")


@pytest.fixture
def council(tmp_path: Path) -> SigningKey:
    return PartnerKeyStore(None, tmp_path / "k").dev_signing_key("liverpool-cc")


@pytest.fixture
def keys(tmp_path: Path, police: SigningKey, council: SigningKey) -> Keys:
    return PartnerKeyStore(None, tmp_path / "k").public_keys()


def batch(signer: SigningKey, n: int, topic: str = TOPIC) -> list[Outgoing]:
    return sign_batch(
        signer,
        [
            Outgoing(topic, f"e{i}".encode(), f"value {i}".encode(), [("traceparent", b"00-t")])
            for i in range(n)
        ],
    )


def check(r: Outgoing, keys: Keys) -> str:
    return verify(r.headers, r.topic, r.key, r.value, keys)


def replace(r: Outgoing, name: str, value: bytes) -> Outgoing:
    return Outgoing(r.topic, r.key, r.value, [(n, value if n == name else v) for n, v in r.headers])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 257])
def test_every_record_of_a_batch_verifies_on_its_own(
    police: SigningKey, keys: Keys, n: int
) -> None:
    signed = batch(police, n)
    assert {check(r, keys) for r in signed} == {"merseyside-police"}
    assert len({dict(r.headers)[BATCH_SIGNATURE_HEADER] for r in signed}) == 1  # one signature
    if n == 1:
        assert dict(signed[0].headers)[PATH_HEADER] == b""


def test_both_forms_are_accepted_side_by_side(police: SigningKey, keys: Keys) -> None:
    per_record = sign(police, TOPIC, b"k", b"v")
    assert verify(per_record, TOPIC, b"k", b"v", keys) == "merseyside-police"
    assert check(batch(police, 1)[0], keys) == "merseyside-police"


def bent(signed: list[Outgoing]) -> dict[str, Outgoing]:
    r = signed[2]
    h = r.headers
    return {
        "value": Outgoing(r.topic, r.key, r.value + b"!", h),  # type: ignore[operator]
        "key": Outgoing(r.topic, b"other", r.value, h),
        "topic": Outgoing("partner.merseyside-police.missing-person.v1", r.key, r.value, h),
        "header value": replace(r, "traceparent", b"00-other"),
        "header added": Outgoing(r.topic, r.key, r.value, [("x-extra", b"1"), *h]),
        "header removed": Outgoing(r.topic, r.key, r.value, h[1:]),
        "header repeated": Outgoing(r.topic, r.key, r.value, [h[0], *h]),
        "null header": Outgoing(r.topic, r.key, r.value, [("traceparent", None), *h[1:]]),
        "another index": replace(r, INDEX_HEADER, b"3"),  # same path length (size 7)
        "another size": replace(r, SIZE_HEADER, b"6"),
        "another batch's path": replace(r, PATH_HEADER, dict(signed[3].headers)[PATH_HEADER]),
    }


@pytest.mark.parametrize(
    "how",
    [
        "value",
        "key",
        "topic",
        "header value",
        "header added",
        "header removed",
        "header repeated",
        "null header",
        "another index",
        "another size",
        "another batch's path",
    ],
)
def test_a_bent_record_fails(police: SigningKey, keys: Keys, how: str) -> None:
    with pytest.raises(BadSignature):
        check(bent(batch(police, 7))[how], keys)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (INDEX_HEADER, b"7", "outside a batch of 7"),
        (INDEX_HEADER, b"02", "not a decimal"),
        (INDEX_HEADER, b"+2", "not a decimal"),
        (INDEX_HEADER, b"-1", "not a decimal"),
        (SIZE_HEADER, b"0", "outside 1.."),
        (SIZE_HEADER, str(MAX_BATCH + 1).encode(), "outside 1.."),
        (SIZE_HEADER, b"99999999999999999999", "not a decimal"),
        (PATH_HEADER, base64.b64encode(b"\0" * 64), "holds 2 hashes; leaf 2 of 7 needs 3"),
        (PATH_HEADER, base64.b64encode(b"\0" * 128), "holds 4 hashes; leaf 2 of 7 needs 3"),
        (PATH_HEADER, base64.b64encode(b"\0" * 40), "not whole 32-byte hashes"),
        (PATH_HEADER, b"A" * 10_000_000, "longer than any batch"),  # refused before decoding
        (PATH_HEADER, b"not base64!", "not whole 32-byte hashes"),
        (BATCH_SIGNATURE_HEADER, base64.b64encode(b"\0" * 63), "not 64 bytes"),
        (BATCH_SIGNATURE_HEADER, base64.b64encode(b"\0" * 65), "not 64 bytes"),
        (BATCH_SIGNATURE_HEADER, b"A" * 10_000_000, "not 64 bytes"),  # refused before decoding
    ],
)
def test_malformed_batch_headers_are_refused_saying_which(
    police: SigningKey, keys: Keys, name: str, value: bytes, says: str
) -> None:
    with pytest.raises(BadSignature, match=says):
        check(replace(batch(police, 7)[2], name, value), keys)


@pytest.mark.parametrize(
    "name", [BATCH_SIGNATURE_HEADER, SIGNER_HEADER, INDEX_HEADER, SIZE_HEADER, PATH_HEADER]
)
def test_a_repeated_signature_header_is_refused(police: SigningKey, keys: Keys, name: str) -> None:
    r = batch(police, 3)[1]
    twice = Outgoing(r.topic, r.key, r.value, [*r.headers, (name, dict(r.headers)[name])])
    with pytest.raises(BadSignature, match="more than once"):
        check(twice, keys)


@pytest.mark.parametrize("name", [INDEX_HEADER, SIZE_HEADER, PATH_HEADER])
def test_a_missing_batch_header_is_refused(police: SigningKey, keys: Keys, name: str) -> None:
    r = batch(police, 3)[1]
    with pytest.raises(BadSignature, match=f"lacks {name}|{name} is missing"):
        check(Outgoing(r.topic, r.key, r.value, [h for h in r.headers if h[0] != name]), keys)


def test_the_two_forms_cannot_stand_in_for_each_other(police: SigningKey, keys: Keys) -> None:
    """Domain separation: a root signature is no record signature, nor the reverse."""
    r = batch(police, 1)[0]
    root_sig = dict(r.headers)[BATCH_SIGNATURE_HEADER]
    as_record = [(SIGNATURE_HEADER, root_sig), (SIGNER_HEADER, police.key_id.encode())]
    with pytest.raises(BadSignature):
        verify(as_record, r.topic, r.key, r.value, keys)
    record_sig = dict(sign(police, r.topic, r.key, r.value))[SIGNATURE_HEADER]
    with pytest.raises(BadSignature):
        check(replace(r, BATCH_SIGNATURE_HEADER, record_sig), keys)
    both = Outgoing(r.topic, r.key, r.value, [*r.headers, (SIGNATURE_HEADER, record_sig)])
    with pytest.raises(BadSignature, match="mixes"):
        check(both, keys)


def test_a_root_signed_by_another_partner_names_that_partner(
    police: SigningKey, council: SigningKey, keys: Keys
) -> None:
    """A council signing records on the police topic verifies as the council's: the
    processor then refuses it as a partner mismatch (tests/processor/test_verify.py)."""
    assert {check(r, keys) for r in batch(council, 4)} == {"liverpool-cc"}
    claimed = replace(batch(council, 4)[0], SIGNER_HEADER, police.key_id.encode())
    with pytest.raises(BadSignature):
        check(claimed, keys)


def test_headers_given_as_a_mapping_lose_repeats_and_fail_closed(
    police: SigningKey, keys: Keys
) -> None:
    r = sign_batch(police, [Outgoing(TOPIC, None, b"v", [("a", b"1"), ("a", b"2")])])[0]
    assert check(r, keys) == "merseyside-police"
    with pytest.raises(BadSignature):
        verify(dict(r.headers), r.topic, r.key, r.value, keys)  # type: ignore[arg-type]


def test_no_signature_at_all_is_unsigned(keys: Keys) -> None:
    with pytest.raises(Unsigned):
        verify([("traceparent", b"x")], TOPIC, None, b"v", keys)


def test_sign_batch_refuses_what_it_cannot_sign(police: SigningKey) -> None:
    with pytest.raises(ValueError, match=r"1\.\."):
        sign_batch(police, [])
    with pytest.raises(ValueError, match="already carries"):
        sign_batch(police, [Outgoing(TOPIC, None, b"v", [(SIGNATURE_HEADER, b"x")])])


def test_batch_signer_signs_when_full_and_on_seal(police: SigningKey, keys: Keys) -> None:
    signer = BatchSigner(police, max_records=3)
    ready = [signer.add(Outgoing(TOPIC, None, bytes([i]))) for i in range(5)]
    assert [len(r) for r in ready] == [0, 0, 3, 0, 0]
    rest = signer.seal()
    assert len(rest) == 2 and len(signer) == 0 and signer.seal() == []
    for r in [*ready[2], *rest]:
        assert check(r, keys) == "merseyside-police"
    assert dict(rest[0].headers)[SIZE_HEADER] == b"2"


@pytest.mark.parametrize("max_records", [1, 2, 3, 64, 100])
def test_reserved_headers_are_never_smaller_than_the_real_ones(
    police: SigningKey, max_records: int
) -> None:
    signer = BatchSigner(police, max_records=max_records)
    room = sum(len(n) + len(v) for n, v in signer.reserved())
    for size in range(1, max_records + 1):
        signed = sign_batch(police, [Outgoing(TOPIC, None, b"v")] * size)
        assert max(sum(len(n) + len(v or b"") for n, v in r.headers) for r in signed) <= room


def test_an_oversize_key_id_is_unknown_and_named_cut_short(police: SigningKey, keys: Keys) -> None:
    r = replace(batch(police, 1)[0], SIGNER_HEADER, police.key_id.encode() + b"x" * 1_000_000)
    with pytest.raises(UnknownSigner) as caught:
        check(r, keys)
    assert len(str(caught.value)) < 400


def test_a_batch_record_verifies_from_its_value_digest(police: SigningKey, keys: Keys) -> None:
    """What the audit or a dead letter by reference keeps (the value's SHA-256, the key and
    the headers) proves the record's origin without the value itself."""
    import hashlib

    from hub.identity.signing import verify_digest

    r = batch(police, 5)[3]
    digest = hashlib.sha256(r.value or b"").digest()
    assert verify_digest(r.headers, r.topic, r.key, digest, keys) == "merseyside-police"
    with pytest.raises(BadSignature):
        verify_digest(r.headers, r.topic, r.key, hashlib.sha256(b"other").digest(), keys)
    per_record = sign(police, TOPIC, b"k", b"v")
    with pytest.raises(BadSignature, match="per-record"):
        verify_digest(per_record, TOPIC, b"k", hashlib.sha256(b"v").digest(), keys)
