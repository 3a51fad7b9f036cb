"""Signing benchmark: CPU per record of the per-record and the batch form, in one run.

The same N records (266-byte values, the size of an encoded SafeguardingConcern; a 36-byte
key; a W3C ``traceparent`` header) are signed per record and in batches of several sizes,
then verified by the processor's own ``Verifier`` (hub/processor/verify.py): headers, key
lookup, each batch-signed record's leaf and audit path on its worker thread, Ed25519 checks
in the helper process, each distinct root once. CPU is this process (every thread) plus the
helper process, from /proc; the best of a few rounds, as the machine is shared.

A second comparison answers where a record's audit path is cheaper to check: in the
processor (as built) or in the helper process (the record's leaf input and path shipped
over the pipe, the helper hashing). Both are measured end to end, CPU of both processes.

Usage: ``.venv/bin/python bench/signing.py [--records N] [--rounds R] [--json]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Message

from hub.identity import Outgoing, PartnerKeyStore, SigningKey, merkle, sign, sign_batch
from hub.identity.signing import (
    BATCH_SIGNATURE_HEADER,
    SIGNER_HEADER,
    _signature,
    _single,
    check,
    pairs,
    position,
    record_leaf,
    root_message,
)
from hub.processor.verify import Verifier

TOPIC = "partner.merseyside-police.safeguarding-concern.v1"
BATCH_SIZES = (16, 64, 256, 1024)


class Rec:
    """What the Verifier reads of a consumed record."""

    __slots__ = ("_h", "_k", "_v")

    def __init__(self, r: Outgoing) -> None:
        self._k, self._v, self._h = r.key, r.value, r.headers

    def topic(self) -> str:
        return TOPIC

    def key(self) -> bytes | None:
        return self._k

    def value(self) -> bytes | None:
        return self._v

    def headers(self) -> list[tuple[str, bytes | None]]:
        return self._h


def records(n: int) -> list[Outgoing]:
    rng = __import__("random").Random(7)
    return [
        Outgoing(
            TOPIC,
            f"{rng.getrandbits(128):032x}-0000".encode(),
            rng.randbytes(266),
            [
                (
                    "traceparent",
                    f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01".encode(),
                )
            ],
        )
        for _ in range(n)
    ]


def child_cpu(pid: int) -> float:
    """A single-threaded child's CPU seconds, to the nanosecond (/proc/<pid>/stat counts
    in 10 ms ticks: too coarse for a few microseconds per record)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def cpu_us(run: Callable[[], Any], n: int, child: Callable[[], float] = lambda: 0.0) -> float:
    own, theirs = time.process_time(), child()
    run()
    return (time.process_time() - own + child() - theirs) / n * 1e6


def signed_per_record(signer: SigningKey, recs: Sequence[Outgoing]) -> list[Outgoing]:
    return [
        Outgoing(r.topic, r.key, r.value, [*r.headers, *sign(signer, r.topic, r.key, r.value)])
        for r in recs
    ]


def signed_in_batches(signer: SigningKey, recs: Sequence[Outgoing], size: int) -> list[Outgoing]:
    out: list[Outgoing] = []
    for i in range(0, len(recs), size):
        out += sign_batch(signer, recs[i : i + size])
    return out


def verify_cpu(verifier: Verifier, msgs: list[Rec], keys: Any, rounds: int) -> float:
    helper = verifier._helper
    proc = helper._proc if helper is not None else None
    child = (lambda: child_cpu(proc.pid)) if proc is not None else (lambda: 0.0)
    as_msgs = cast(list[Message], msgs)
    list(verifier.verdicts(as_msgs[:64], keys))  # the helper's start-up is not the work
    best = float("inf")
    for _ in range(rounds):
        verifier.roots = type(verifier.roots)()  # every round checks its roots afresh
        verifier.walks = type(verifier.walks)()

        def run() -> None:
            for v in verifier.verdicts(as_msgs, keys):
                if not isinstance(v, str):
                    raise SystemExit(f"benchmark record failed to verify: {v}")

        best = min(best, cpu_us(run, len(msgs), child))
    return best


_PATH_WORKER = """
import struct, sys
from hub.identity import merkle
inp, out = sys.stdin.buffer, sys.stdout.buffer
U = struct.Struct(">IIII")
memo = merkle.PathMemo()
while head := inp.read(4):
    body = inp.read(struct.unpack(">I", head)[0])
    (count,), pos, roots = struct.unpack_from(">I", body), 4, []
    for _ in range(count):
        index, size, leaf_len, path_len = U.unpack_from(body, pos); pos += 16
        leaf = body[pos:pos + leaf_len]; pos += leaf_len
        path = body[pos:pos + path_len]; pos += path_len
        roots.append(memo.root(merkle.leaf_hash(leaf), index, size, path))
    out.write(b"".join(roots)); out.flush()
"""


def where_paths_cpu(msgs: list[Rec], keys: Any, rounds: int, in_helper: bool) -> float:
    """Where to hash audit paths, with nothing else differing: the same lean loop (the
    checks of the processor's ``prepare``, each distinct root's Ed25519 check once, inline)
    either hashes each record's leaf and path itself or ships the leaf input and path to a
    helper process, which hashes and returns the root."""
    proc = (
        subprocess.Popen(
            [sys.executable, "-c", _PATH_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        if in_helper
        else None
    )
    u = struct.Struct(">IIII")
    seen: set[tuple[bytes, bytes, bytes]] = set()
    memo = merkle.PathMemo()

    def roots_here(work: list[tuple[int, int, bytes, bytes]]) -> list[bytes]:
        return [memo.root(merkle.leaf_hash(leaf), i, n, path) for i, n, leaf, path in work]

    def roots_there(work: list[tuple[int, int, bytes, bytes]]) -> list[bytes]:
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        parts = [struct.pack(">I", len(work))]
        for i, n, leaf, path in work:
            parts += (u.pack(i, n, len(leaf), len(path)), leaf, path)
        body = b"".join(parts)
        proc.stdin.write(struct.pack(">I", len(body)) + body)
        proc.stdin.flush()
        out = proc.stdout.read(32 * len(work))
        return [out[j : j + 32] for j in range(0, len(out), 32)]

    roots_of = roots_there if in_helper else roots_here

    def run(part: list[Rec]) -> None:
        for at in range(0, len(part), 64):
            work, meta = [], []
            for m in part[at : at + 64]:
                hs = pairs(m.headers())
                found = _single(hs)
                signature = _signature(found[BATCH_SIGNATURE_HEADER], "bench")
                index, size, path = position(found)
                work.append((index, size, record_leaf(m.topic(), m.key(), m.value(), hs), path))
                meta.append((keys[found[SIGNER_HEADER].decode()].public_bytes_raw(), signature))
            for (public, signature), (_i, size, _l, _p), root in zip(
                meta, work, roots_of(work), strict=True
            ):
                triple = (public, signature, root_message(size, root))
                if triple not in seen and not check(*triple):
                    raise SystemExit("benchmark record failed to verify")
                seen.add(triple)

    child = (lambda: child_cpu(proc.pid)) if proc is not None else (lambda: 0.0)
    try:
        run(msgs[:64])  # a helper's start-up is not the work
        best = float("inf")
        for _ in range(rounds):
            seen.clear()
            memo = merkle.PathMemo()
            best = min(best, cpu_us(lambda: run(msgs), len(msgs), child))
        return best
    finally:
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            proc.wait(5)


def sign_cpu(run: Callable[[], Any], n: int, rounds: int) -> float:
    return min(cpu_us(run, n) for _ in range(rounds))


def measure(n: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = PartnerKeyStore(None, Path(tmp))
        signer = store.dev_signing_key("merseyside-police")
        keys = store.public_keys()
    recs = records(n)
    out: dict[str, Any] = {"records": n, "sign_us": {}, "verify_us": {}, "header_bytes": {}}
    forms: dict[str, list[Outgoing]] = {"per-record": signed_per_record(signer, recs)}
    out["sign_us"]["per-record"] = sign_cpu(lambda: signed_per_record(signer, recs), n, rounds)
    for size in BATCH_SIZES:
        forms[f"batch-{size}"] = signed_in_batches(signer, recs, size)
        out["sign_us"][f"batch-{size}"] = sign_cpu(
            functools.partial(signed_in_batches, signer, recs, size), n, rounds
        )
    for name, signed in forms.items():
        extra = sum(len(k) + len(v or b"") for r in signed for k, v in r.headers[1:])
        out["header_bytes"][name] = round(extra / n)
        msgs = [Rec(r) for r in signed]
        for helper in (True, False):
            verifier = Verifier(helper_process=helper)
            try:
                us = verify_cpu(verifier, msgs, keys, rounds)
            finally:
                verifier.close()
            out["verify_us"][f"{name}{'' if helper else ' (no helper)'}"] = us
    msgs = [Rec(r) for r in forms["batch-256"]]
    for in_helper in (False, True):
        where = "helper" if in_helper else "main"
        out["verify_us"][f"batch-256 (lean, paths in {where})"] = where_paths_cpu(
            msgs, keys, rounds, in_helper
        )
    per_record = out["verify_us"]["per-record"]
    out["verify_ratio"] = {
        k: round(per_record / v, 1) for k, v in out["verify_us"].items() if k.startswith("batch")
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.records, args.rounds)
    table = sys.stderr if args.json else sys.stdout
    print(f"{args.records} records, best of {args.rounds} rounds, CPU us per record", file=table)
    print(f"{'form':36} {'sign':>8} {'verify':>8} {'x faster':>9} {'sig hdr B':>9}", file=table)
    for name, us in result["verify_us"].items():
        form = name.split(" ")[0]
        sign_us = result["sign_us"].get(form, float("nan")) if name == form else float("nan")
        ratio = result["verify_ratio"].get(name, 1.0)
        print(
            f"{name:36} {sign_us:8.2f} {us:8.2f} {ratio:9.1f} "
            f"{result['header_bytes'].get(name, ''):>9}",
            file=table,
        )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
