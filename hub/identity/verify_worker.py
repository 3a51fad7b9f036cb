"""Ed25519 checks in a process of their own: ``python -m hub.identity.verify_worker``.

The processor's main thread is Python work that holds the GIL. Checking signatures on one of
its threads still cost it about a quarter of its throughput in GIL hand-offs (the checking
thread needs the GIL back after every record); a separate process needs no GIL of ours.

Protocol on stdin/stdout, one frame per chunk of records:
request  = u32 frame length, then u32 count, then per record:
           32-byte public key, 64-byte signature, u32 message length, message
response = count bytes, 1 where the signature is valid, 0 where it is not.
The worker holds no keys and no state: the processor sends the public key with each record.
For batch-signed records the processor sends only each distinct signed root it has not seen
(hub/processor/verify.py): a record's audit path is hashed in the processor, which measured
the same CPU in all as shipping the record here to hash (bench/signing.py).
"""

from __future__ import annotations

import struct
import sys
from typing import IO

from hub.identity.signing import SIGNATURE_BYTES, check

_U32 = struct.Struct(">I")
PUBLIC_BYTES = 32


def encode(items: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """A request frame for (public key, signature, message) triples."""
    parts = [_U32.pack(len(items))]
    for public, signature, message in items:
        parts += (public, signature, _U32.pack(len(message)), message)
    body = b"".join(parts)
    return _U32.pack(len(body)) + body


def answer(body: bytes) -> bytes:
    """The response to one request frame body (without its length prefix)."""
    (count,) = _U32.unpack_from(body, 0)
    pos, out = 4, bytearray(count)
    for i in range(count):
        public = body[pos : pos + PUBLIC_BYTES]
        pos += PUBLIC_BYTES
        signature = body[pos : pos + SIGNATURE_BYTES]
        pos += SIGNATURE_BYTES
        (size,) = _U32.unpack_from(body, pos)
        pos += 4
        out[i] = check(public, signature, body[pos : pos + size])
        pos += size
    return bytes(out)


def read_exact(stream: IO[bytes], n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    while (head := read_exact(inp, 4)) is not None:
        body = read_exact(inp, _U32.unpack(head)[0])
        if body is None:
            return
        out.write(answer(body))
        out.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
