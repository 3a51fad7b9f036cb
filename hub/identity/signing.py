"""Sign and verify records: the per-record form and the batch form.

Per-record form (the original): ``hub.sig`` is an Ed25519 signature over the topic, the
key and the value (``signed_message``). Headers are not covered by it.

Batch form: the producer signs once per produce batch. Each record is a leaf of a Merkle
tree (hub/identity/merkle.py): the leaf binds the topic, the key, the value's SHA-256 and
every header except the signature headers, in order, repeats included (``record_leaf``). The root is
signed (``root_message``); each record carries the signature, its leaf index, the tree size
and its audit path. A batch of one is a tree of size 1 with an empty path.

Either way a valid signature cannot be replayed onto another partner's topic or another
event, and the key id (``<partner>/<key>``) travels in a header so keys can rotate without
a flag day. The byte-exact specification is docs/partners/connect.md ("Signing").
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.errors import BadSignature, UnknownSigner, Unsigned
from hub.identity import merkle
from hub.identity.keys import SigningKey

# The signature errors live in hub.errors; named here too, where callers long found them.
__all__ = [
    "BATCH_SIGNATURE_HEADER",
    "INDEX_HEADER",
    "MAX_BATCH",
    "PATH_HEADER",
    "SIGNATURE_BYTES",
    "SIGNATURE_HEADER",
    "SIGNATURE_HEADERS",
    "SIGNER_HEADER",
    "SIZE_HEADER",
    "BadSignature",
    "Headers",
    "SignedRecord",
    "UnknownSigner",
    "Unsigned",
    "check",
    "leaf_from_digest",
    "position",
    "prepare",
    "record_leaf",
    "root_message",
    "sign",
    "signed_message",
    "verify",
    "verify_digest",
]

SIGNATURE_HEADER = "hub.sig"  # per-record form: signature over signed_message
SIGNER_HEADER = "hub.sig.key"  # both forms: the key id
BATCH_SIGNATURE_HEADER = "hub.sig.batch"  # batch form: signature over root_message
INDEX_HEADER = "hub.sig.index"
SIZE_HEADER = "hub.sig.size"
PATH_HEADER = "hub.sig.path"
SIGNATURE_HEADERS = frozenset(
    {
        SIGNATURE_HEADER,
        SIGNER_HEADER,
        BATCH_SIGNATURE_HEADER,
        INDEX_HEADER,
        SIZE_HEADER,
        PATH_HEADER,
    }
)
_BATCH_ONLY = frozenset({BATCH_SIGNATURE_HEADER, INDEX_HEADER, SIZE_HEADER, PATH_HEADER})
_DOMAIN = b"partner-data-hub/record-signature/v1"
LEAF_DOMAIN = b"partner-data-hub/record-leaf/v2"
ROOT_DOMAIN = b"partner-data-hub/batch-root/v2"
SIGNATURE_BYTES = 64
_SIGNATURE_B64 = 88  # base64 of 64 bytes, with its padding
MAX_KEY_ID = 200  # "<partner id>/<key name>"; a longer one is unknown, and named cut short
# A bound on the tree, hence on each record's path (16 hashes, 684 base64 characters): a
# hostile header cannot make the hub decode or hash more than that per record.
MAX_BATCH = 1 << 16
_MAX_PATH_B64 = 4 * -(-(16 * merkle.HASH_BYTES) // 3)

# Headers as a Kafka client gives them: (name, value) pairs in order (repeats kept), or a
# mapping (repeats already lost: a batch-signed record with repeated headers then fails).
Headers = Mapping[str, bytes | str | None] | Sequence[tuple[str, bytes | str | None]]


_I32 = struct.Struct(">i").pack
_NULL = _I32(-1)


def _part(data: bytes | None) -> bytes:
    # Length-prefixed so (topic, key, value) boundaries cannot be shifted; -1 marks a null.
    if data is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(data)) + data


def signed_message(topic: str, key: bytes | None, value: bytes | None) -> bytes:
    """What the per-record form signs: the topic, the key and the value, no headers."""
    return _DOMAIN + _part(topic.encode()) + _part(key) + _part(value)


def pairs(headers: Headers) -> list[tuple[str, bytes | None]]:
    """Headers as (name, bytes or None) pairs, in order."""
    items: Iterable[tuple[str, bytes | str | None]] = (
        headers.items() if isinstance(headers, Mapping) else headers
    )
    return [(n, v.encode() if isinstance(v, str) else v) for n, v in items]


def record_leaf(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> bytes:
    """What a leaf of the batch form hashes: topic, key, the value's SHA-256 and every
    header but the signature headers, in the order sent, repeats included (a reordered or
    repeated header is another record)."""
    return leaf_from_digest(topic, key, _value_digest(value), headers)


def _value_digest(value: bytes | None) -> bytes | None:
    return None if value is None else hashlib.sha256(value).digest()


def leaf_from_digest(
    topic: str,
    key: bytes | None,
    value_sha256: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> bytes:
    """The leaf input from the value's SHA-256 rather than the value: the leaf binds the
    value through its digest, so whoever kept the digest (the audit, a dead letter by
    reference) can still prove a record's origin without keeping its personal data."""
    kept = [(n, v) for n, v in headers if n not in SIGNATURE_HEADERS]
    parts = [LEAF_DOMAIN, _part(topic.encode()), _part(key), _part(value_sha256)]
    parts.append(_I32(len(kept)))
    for name, header_value in kept:
        parts.append(_part(name.encode()))
        parts.append(_NULL if header_value is None else _I32(len(header_value)) + header_value)
    return b"".join(parts)


def root_message(size: int, root: bytes) -> bytes:
    """What the batch form signs: the tree size (u64, big-endian) and the root hash."""
    return ROOT_DOMAIN + struct.pack(">Q", size) + root


def sign(
    signer: SigningKey, topic: str, key: bytes | None, value: bytes | None
) -> list[tuple[str, bytes]]:
    """Per-record form: the headers to attach to the record (see hub/identity/batch.py for
    the batch form, which also covers the record's headers)."""
    signature = signer.private.sign(signed_message(topic, key, value))
    return [
        (SIGNATURE_HEADER, base64.b64encode(signature)),
        (SIGNER_HEADER, signer.key_id.encode()),
    ]


@dataclass(slots=True)  # not frozen: a frozen init cost about 1 us a record here
class SignedRecord:
    """A record whose signature headers are well formed and name a registered key: what is
    left is the Ed25519 check itself (``check``), which may run elsewhere. In the batch
    form ``message`` is the root message its audit path leads to, shared by its batch."""

    key_id: str
    public: bytes  # raw 32-byte Ed25519 public key
    signature: bytes  # 64 bytes
    message: bytes  # signed_message(...) or root_message(...)
    batched: bool = False

    @property
    def partner(self) -> str:
        return self.key_id.split("/", 1)[0]

    def bad(self) -> BadSignature:
        if self.batched:
            return BadSignature(
                f"batch signature by '{self.key_id}' does not match the root this record's "
                "audit path leads to",
                fix="sign the root of the batch as sent: topic, key, value and every header "
                "but the signature headers, unchanged after signing",
            )
        return BadSignature(
            f"signature by '{self.key_id}' does not match the record",
            fix="sign exactly the bytes you send, over topic, key and value",
        )


def _single(hs: Sequence[tuple[str, bytes | None]]) -> dict[str, bytes]:
    """The signature headers, each of which may appear once: a repeated one is ambiguous
    (which copy did the hub check, which will a later reader check?), so it is refused."""
    found: dict[str, bytes] = {}
    for name, value in hs:
        if name not in SIGNATURE_HEADERS:
            continue
        if name in found:
            raise BadSignature(
                f"signature header {name} appears more than once",
                fix="send each signature header exactly once",
            )
        found[name] = value if value is not None else b""
    if SIGNATURE_HEADER in found and found.keys() & _BATCH_ONLY:
        raise BadSignature(
            f"record mixes the per-record form ({SIGNATURE_HEADER}) with the batch form's "
            f"headers ({', '.join(sorted(found.keys() & _BATCH_ONLY))})",
            fix="sign each record in one form: per record or per batch",
        )
    return found


def _signature(raw: bytes, key_id: str) -> bytes:
    try:
        # 88 characters exactly: an oversize header is refused before any decoding.
        signature = base64.b64decode(raw, validate=True) if len(raw) == _SIGNATURE_B64 else b""
    except ValueError:
        signature = b""
    if len(signature) != SIGNATURE_BYTES:
        raise BadSignature(
            f"signature by '{key_id}' is not {SIGNATURE_BYTES} bytes in base64",
            fix="send the 64-byte Ed25519 signature, standard base64 with padding",
        )
    return signature


def _decimal(found: Mapping[str, bytes], name: str) -> int:
    raw = found.get(name)
    if raw is None:
        raise BadSignature(
            f"batch-signed record lacks {name}",
            fix=f"send {BATCH_SIGNATURE_HEADER} with {INDEX_HEADER}, {SIZE_HEADER} and "
            f"{PATH_HEADER}",
        )
    # ASCII digits only (bytes.isdigit), no leading zero, at most six: canonical and small.
    if not (raw.isdigit() and len(raw) <= 6 and (raw[0] != 0x30 or raw == b"0")):
        raise BadSignature(
            f"{name} is not a decimal number", fix="ASCII digits, no sign or leading zero"
        )
    return int(raw)


def position(found: Mapping[str, bytes]) -> tuple[int, int, bytes]:
    """A batch-signed record's leaf index, tree size and audit path (hashes concatenated),
    checked for form and length before any hashing."""
    index, size = _decimal(found, INDEX_HEADER), _decimal(found, SIZE_HEADER)
    if not 1 <= size <= MAX_BATCH:
        raise BadSignature(
            f"{SIZE_HEADER} {size} is outside 1..{MAX_BATCH}",
            fix=f"sign batches of at most {MAX_BATCH} records",
        )
    if index >= size:
        raise BadSignature(
            f"{INDEX_HEADER} {index} is outside a batch of {size}",
            fix="number leaves from 0 to size - 1",
        )
    raw = found.get(PATH_HEADER)
    if raw is None or len(raw) > _MAX_PATH_B64:
        raise BadSignature(
            f"{PATH_HEADER} is missing or longer than any batch of {MAX_BATCH} needs",
            fix="send the audit path: its 32-byte hashes concatenated, in base64",
        )
    try:
        path = base64.b64decode(raw, validate=True)
    except ValueError:
        path = b"?"  # not base64: refused as not whole hashes, below
    if len(path) % merkle.HASH_BYTES:
        raise BadSignature(
            f"{PATH_HEADER} is not whole {merkle.HASH_BYTES}-byte hashes in base64",
            fix="send the RFC 9162 audit path of this leaf, leaf to root",
        )
    return index, size, path


def _batch_root(found: Mapping[str, bytes], leaf_input: bytes, memo: merkle.PathMemo) -> bytes:
    """The root message this record's audit path leads to."""
    index, size, path = position(found)
    try:
        root = memo.root(merkle.leaf_hash(leaf_input), index, size, path)
    except merkle.BadPath:  # too short or too long for this index and size
        raise BadSignature(
            f"{PATH_HEADER} holds {len(path) // merkle.HASH_BYTES} hashes; leaf {index} of "
            f"{size} needs {merkle.path_length(index, size)}",
            fix="send the RFC 9162 audit path of this leaf, leaf to root",
        ) from None
    return root_message(size, root)


def _signed(
    headers: Headers, public_keys: Mapping[str, Ed25519PublicKey]
) -> tuple[list[tuple[str, bytes | None]], dict[str, bytes], str, bytes, bytes]:
    """(header pairs, signature headers, key id, raw public key, signature), or raise."""
    hs = pairs(headers)
    found = _single(hs)
    raw_sig = found.get(SIGNATURE_HEADER) or found.get(BATCH_SIGNATURE_HEADER)
    raw_signer = found.get(SIGNER_HEADER)
    if not raw_sig or not raw_signer:
        raise Unsigned(
            "record carries no signature headers",
            fix=f"sign each record with your partner key ({SIGNER_HEADER} with "
            f"{SIGNATURE_HEADER}, or {BATCH_SIGNATURE_HEADER} per batch); "
            "the hub connector SDK does this for you",
        )
    key_id = raw_signer[:MAX_KEY_ID].decode(errors="replace")
    public = public_keys.get(key_id) if len(raw_signer) <= MAX_KEY_ID else None
    if public is None:
        # Named at most MAX_KEY_ID bytes long: the reason travels in dead-letter headers.
        raise UnknownSigner(
            f"signing key '{key_id}' is not registered",
            fix="register your public key with the hub operators before publishing",
        )
    return hs, found, key_id, public.public_bytes_raw(), _signature(raw_sig, key_id)


def prepare(
    headers: Headers,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    public_keys: Mapping[str, Ed25519PublicKey],
    memo: merkle.PathMemo | None = None,
) -> SignedRecord:
    """Everything but the curve arithmetic; raises InputRejected saying what is wrong.
    ``memo`` shares path hashing between the records of a batch (the processor keeps one)."""
    hs, found, key_id, public, signature = _signed(headers, public_keys)
    if SIGNATURE_HEADER in found:
        return SignedRecord(key_id, public, signature, signed_message(topic, key, value))
    leaf_input = record_leaf(topic, key, value, hs)
    message = _batch_root(found, leaf_input, memo if memo is not None else merkle.PathMemo())
    return SignedRecord(key_id, public, signature, message, batched=True)


def verify_digest(
    headers: Headers,
    topic: str,
    key: bytes | None,
    value_sha256: bytes | None,
    public_keys: Mapping[str, Ed25519PublicKey],
) -> str:
    """As ``verify``, from the value's SHA-256 instead of the value (what the audit or a
    dead letter by reference keeps): batch form only, since the per-record form signs the
    value itself."""
    hs, found, key_id, public, signature = _signed(headers, public_keys)
    if SIGNATURE_HEADER in found:
        raise BadSignature(
            "a per-record signature covers the value itself: its digest cannot prove it",
            fix="keep the record's value to verify a per-record signature",
        )
    leaf_input = leaf_from_digest(topic, key, value_sha256, hs)
    record = SignedRecord(
        key_id, public, signature, _batch_root(found, leaf_input, merkle.PathMemo()), True
    )
    if not check(record.public, record.signature, record.message):
        raise record.bad()
    return record.partner


def check(public: bytes, signature: bytes, message: bytes) -> bool:
    """The Ed25519 check. libsodium rather than OpenSSL: measured here at about half the
    cost per record (60 against 120 us), on the processor's hot path. Both are standard
    Ed25519; libsodium is the stricter about non-canonical encodings."""
    try:
        nacl.bindings.crypto_sign_open(signature + message, public)
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


def verify(
    headers: Headers,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    public_keys: Mapping[str, Ed25519PublicKey],
) -> str:
    """Return the signing partner's id, or raise an InputRejected saying what is wrong.
    Pass the headers as the client gives them (pairs, in order): a batch-signed record
    covers them."""
    record = prepare(headers, topic, key, value, public_keys)
    if not check(record.public, record.signature, record.message):
        raise record.bad()
    return record.partner
