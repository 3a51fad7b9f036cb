"""The signing test vectors of docs/partners/signing-vectors.json, made by the hub's own
implementation from fixed keys (Ed25519 signatures are deterministic, so the file is stable).

``python -m tests.identity.vectors`` rewrites the file; tests/identity/test_vectors.py
fails if it drifts from what this module makes, checks the Python verifier against every
case and runs the JavaScript reference snippet of docs/partners/connect.md over them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.identity import merkle
from hub.identity.batch import Outgoing, sign_batch
from hub.identity.keys import SigningKey
from hub.identity.signing import (
    BATCH_SIGNATURE_HEADER,
    INDEX_HEADER,
    MAX_BATCH,
    PATH_HEADER,
    SIGNATURE_HEADER,
    SIGNER_HEADER,
    SIZE_HEADER,
    record_leaf,
    root_message,
    sign,
    signed_message,
)

FILE = Path(__file__).resolve().parents[2] / "docs" / "partners" / "signing-vectors.json"
POLICE = "merseyside-police/k1"
COUNCIL = "liverpool-cc/k1"
UNREGISTERED = "merseyside-police/k9"
TOPIC = "partner.merseyside-police.safeguarding-concern.v1"
OTHER_TOPIC = "partner.merseyside-police.missing-person-episode.v1"
TRACE = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def key(key_id: str) -> SigningKey:
    seed = hashlib.sha256(f"hub signing vectors/{key_id}".encode()).digest()
    return SigningKey(key_id, Ed25519PrivateKey.from_private_bytes(seed))


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def as_json(r: Outgoing) -> dict[str, Any]:
    return {
        "topic": r.topic,
        "key": b64(r.key),
        "value": b64(r.value),
        "headers": [[n, b64(v)] for n, v in r.headers],
    }


def inputs() -> dict[str, list[Outgoing]]:
    """Batches that exercise the encoding: a null key, an empty value, a null header value,
    a repeated header name, two topics in one batch, and unbalanced trees (3, 5, 7)."""
    concern = [
        Outgoing(TOPIC, f"event-{i}".encode(), f"avro bytes {i}".encode(), [("traceparent", TRACE)])
        for i in range(7)
    ]
    odd = [
        Outgoing(TOPIC, None, b"", []),
        Outgoing(TOPIC, b"k", b"\x00\x00\x00\x00\x01\x02", [("a", b"1"), ("a", b"2"), ("b", None)]),
        Outgoing(OTHER_TOPIC, b"k", "é".encode(), [("x-Mixed.Case", b"")]),
    ]
    return {
        "batch of 1": concern[:1],
        "batch of 3": odd,
        "batch of 5": concern[:5],
        "batch of 7": concern,
    }


def sign_cases() -> list[dict[str, Any]]:
    police = key(POLICE)
    cases: list[dict[str, Any]] = []
    record = Outgoing(TOPIC, b"event-0", b"avro bytes 0", [("traceparent", TRACE)])
    cases.append(
        {
            "name": "per-record form",
            "form": "per-record",
            "key_id": POLICE,
            "records": [as_json(record)],
            "signed_message": signed_message(record.topic, record.key, record.value).hex(),
            "added_headers": [
                [[n, b64(v)] for n, v in sign(police, TOPIC, record.key, record.value)]
            ],
        }
    )
    for name, records in inputs().items():
        signed = sign_batch(police, records)
        leaves = [record_leaf(r.topic, r.key, r.value, r.headers) for r in records]
        root, _paths = merkle.tree([merkle.leaf_hash(x) for x in leaves])
        cases.append(
            {
                "name": name,
                "form": "batch",
                "key_id": POLICE,
                "records": [as_json(r) for r in records],
                "leaf_inputs": [x.hex() for x in leaves],
                "leaf_hashes": [merkle.leaf_hash(x).hex() for x in leaves],
                "root": root.hex(),
                "root_message": root_message(len(records), root).hex(),
                "added_headers": [
                    [[n, b64(v)] for n, v in s.headers[len(r.headers) :]]
                    for s, r in zip(signed, records, strict=True)
                ],
            }
        )
    return cases


Bend = Callable[[Outgoing], Outgoing]


def _set(name: str, value: bytes | None) -> Bend:
    return lambda r: Outgoing(
        r.topic, r.key, r.value, [(n, value if n == name else v) for n, v in r.headers]
    )


def _without(name: str) -> Bend:
    return lambda r: Outgoing(r.topic, r.key, r.value, [h for h in r.headers if h[0] != name])


def _append(name: str, value: bytes | None) -> Bend:
    return lambda r: Outgoing(r.topic, r.key, r.value, [*r.headers, (name, value)])


def _path(f: Callable[[bytes], bytes]) -> Bend:
    def bend(r: Outgoing) -> Outgoing:
        path = base64.b64decode(dict(r.headers)[PATH_HEADER] or b"")
        return _set(PATH_HEADER, base64.b64encode(f(path)))(r)

    return bend


def verify_cases() -> list[dict[str, Any]]:
    police, council = key(POLICE), key(COUNCIL)
    batch = sign_batch(police, inputs()["batch of 5"])  # record 2: a path of 3 hashes
    one = sign_batch(police, inputs()["batch of 1"])[0]
    record = inputs()["batch of 1"][0]
    per_record = Outgoing(
        record.topic,
        record.key,
        record.value,
        [*record.headers, *sign(police, record.topic, record.key, record.value)],
    )
    r = batch[2]
    wrong_size = len(base64.b64decode(dict(r.headers)[PATH_HEADER] or b""))
    assert wrong_size == 96
    ok = "ok"
    bad = "bad-signature"
    rows: list[tuple[str, Outgoing, str]] = [
        ("per-record form", per_record, ok),
        ("batch of 1", one, ok),
        ("batch of 5, leaf 0", batch[0], ok),
        ("batch of 5, leaf 2", r, ok),
        ("batch of 5, leaf 4 (the lone right leaf)", batch[4], ok),
        (
            "per-record form: value changed",
            Outgoing(TOPIC, record.key, b"other", per_record.headers),
            bad,
        ),
        (
            "per-record form: moved to another topic",
            Outgoing(OTHER_TOPIC, record.key, record.value, per_record.headers),
            bad,
        ),
        ("value changed", Outgoing(r.topic, r.key, b"other", r.headers), bad),
        ("key changed", Outgoing(r.topic, b"other", r.value, r.headers), bad),
        ("key made null", Outgoing(r.topic, None, r.value, r.headers), bad),
        ("moved to another topic", Outgoing(OTHER_TOPIC, r.key, r.value, r.headers), bad),
        ("header value changed", _set("traceparent", b"00-0-0-00")(r), bad),
        ("header removed", _without("traceparent")(r), bad),
        ("header added", _append("x-extra", b"1")(r), bad),
        ("header repeated", _append("traceparent", TRACE)(r), bad),
        ("header value made null", _set("traceparent", None)(r), bad),
        ("another leaf index, same path length", _set(INDEX_HEADER, b"3")(r), bad),
        ("leaf index equal to the size", _set(INDEX_HEADER, b"5")(r), bad),
        ("leaf index with a leading zero", _set(INDEX_HEADER, b"02")(r), bad),
        ("leaf index negative", _set(INDEX_HEADER, b"-2")(r), bad),
        ("size changed", _set(SIZE_HEADER, b"6")(r), bad),
        ("size zero", _set(SIZE_HEADER, b"0")(r), bad),
        (f"size above {MAX_BATCH}", _set(SIZE_HEADER, str(MAX_BATCH + 1).encode())(r), bad),
        ("path one hash short", _path(lambda p: p[:32])(r), bad),
        ("path one hash long", _path(lambda p: p + p[:32])(r), bad),
        ("path not whole hashes", _path(lambda p: p[:40])(r), bad),
        ("path hash changed", _path(lambda p: bytes([p[0] ^ 1]) + p[1:])(r), bad),
        ("path of another record", _set(PATH_HEADER, dict(batch[3].headers)[PATH_HEADER])(r), bad),
        ("path far too long (bounded before decoding)", _set(PATH_HEADER, b"A" * 4096)(r), bad),
        ("path not base64", _set(PATH_HEADER, b"not base64!")(r), bad),
        ("index header missing", _without(INDEX_HEADER)(r), bad),
        ("size header missing", _without(SIZE_HEADER)(r), bad),
        ("path header missing", _without(PATH_HEADER)(r), bad),
        (
            "signature header repeated",
            _append(BATCH_SIGNATURE_HEADER, dict(r.headers)[BATCH_SIGNATURE_HEADER])(r),
            bad,
        ),
        ("key id header repeated", _append(SIGNER_HEADER, POLICE.encode())(r), bad),
        (
            "both forms at once",
            _append(SIGNATURE_HEADER, dict(per_record.headers)[SIGNATURE_HEADER])(r),
            bad,
        ),
        ("per-record form with a batch header", _append(INDEX_HEADER, b"0")(per_record), bad),
        (
            "root signature as a per-record signature",
            Outgoing(
                record.topic,
                record.key,
                record.value,
                [
                    *record.headers,
                    (SIGNATURE_HEADER, dict(one.headers)[BATCH_SIGNATURE_HEADER]),
                    (SIGNER_HEADER, POLICE.encode()),
                ],
            ),
            bad,
        ),
        (
            "per-record signature as a root signature",
            _set(BATCH_SIGNATURE_HEADER, dict(per_record.headers)[SIGNATURE_HEADER])(one),
            bad,
        ),
        (
            "signature of 63 bytes",
            _set(BATCH_SIGNATURE_HEADER, base64.b64encode(bytes(63)))(r),
            bad,
        ),
        (
            "root signed by another partner's key under this partner's key id",
            _set(
                BATCH_SIGNATURE_HEADER,
                dict(sign_batch(council, inputs()["batch of 5"])[2].headers)[
                    BATCH_SIGNATURE_HEADER
                ],
            )(r),
            bad,
        ),
        (
            "another partner's batch on this partner's topic",
            sign_batch(council, inputs()["batch of 5"])[2],
            "partner-mismatch",
        ),
        ("no signature headers", record, "unsigned"),
        (
            "unregistered key",
            sign_batch(key(UNREGISTERED), inputs()["batch of 1"])[0],
            "unknown-signer",
        ),
    ]
    return [{"name": n, "record": as_json(rec), "verdict": v} for n, rec, v in rows]


def build() -> dict[str, Any]:
    return {
        "about": (
            "Test vectors for the hub's record signatures: docs/partners/connect.md, "
            "'Signing records'. Bytes are base64 (standard alphabet, padded) or hex where "
            "the field name says so; a header value is the base64 of the header's bytes "
            "(null for a null value), so a signature header's value is base64 of base64 text."
        ),
        "keys": {
            k: {
                "seed_hex": key(k).private.private_bytes_raw().hex(),
                "public_hex": key(k).private.public_key().public_bytes_raw().hex(),
                "registered": k != UNREGISTERED,
            }
            for k in (POLICE, COUNCIL, UNREGISTERED)
        },
        "sign": sign_cases(),
        "verify": verify_cases(),
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    FILE.write_text(render())
    sys.stdout.write(f"wrote {FILE}\n")
