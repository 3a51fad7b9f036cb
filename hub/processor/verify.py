"""Each consumed record's signer, or why its signature fails, worked out off the main thread.

Everything but the curve arithmetic (headers, key lookup, the signed message, a batch-signed
record's audit path) is done on a worker thread in chunks; the Ed25519 checks run either on
that thread (native code that releases the GIL) or, for ``hub process``, in a helper process
(hub/identity/verify_worker.py), which measured a quarter more throughput: no GIL hand-off
per record. If the helper process fails, checking falls back to the thread: slower, never
skipped.

A batch-signed record's path is checked here, on the thread, not in the helper: shipping the
record's bytes to the helper costs more than the few hashes it would save (bench/signing.py).
Each distinct signed root is checked once: its verdict is remembered (``RootVerdicts``),
so the rest of its batch costs no curve arithmetic at all.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Message
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.errors import InputRejected
from hub.identity import verify_worker
from hub.identity.merkle import PathMemo
from hub.identity.signing import SignedRecord, check, prepare

log = logging.getLogger("hub.processor.verify")

_ENV_KEPT = frozenset(
    {"PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LANG", "LC_ALL", "TMPDIR"}
)
CHUNK = 64  # records per task: small enough that the first verdicts come back at once
# Roots remembered: a few batches per partner stream are in flight at once; 4,096 entries
# of about 300 bytes each bound the memory at about 1 MB whatever a sender does.
ROOTS_KEPT = 4096

Verdict = str | InputRejected
Signed = tuple[bytes, bytes, bytes]  # (public key, signature, signed message)


class RootVerdicts:
    """The Ed25519 verdict of each signed root seen lately, least recently used first out.
    Keyed by public key, signature and root message together: the same root under another
    key, or another signature, is another entry."""

    def __init__(self, kept: int = ROOTS_KEPT) -> None:
        self._kept = kept
        self._verdicts: OrderedDict[Signed, bool] = OrderedDict()
        self.checked = 0  # signatures actually checked, for tests and the benchmark

    def __len__(self) -> int:
        return len(self._verdicts)

    def get(self, signed: Signed) -> bool | None:
        verdict = self._verdicts.get(signed)
        if verdict is not None:
            self._verdicts.move_to_end(signed)
        return verdict

    def put(self, signed: Signed, verdict: bool) -> None:
        self._verdicts[signed] = verdict
        self._verdicts.move_to_end(signed)
        while len(self._verdicts) > self._kept:
            self._verdicts.popitem(last=False)


class CheckerProcess:
    """The helper process, started with the processor (its imports take a few hundred ms,
    which the first records should not wait for) and never restarted: after a failure the
    owner checks on its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = self._start()

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        # Only what the interpreter needs to start: the processor's environment holds
        # pseudonymisation keys and broker credentials, which the checker has no use for.
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT}
        return subprocess.Popen(
            [sys.executable, "-m", verify_worker.__name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def check(self, records: list[SignedRecord]) -> list[bool]:
        """Raises OSError when the process is gone."""
        with self._lock:
            proc = self._proc
            if proc is None:
                raise OSError("signature checker closed")
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(
                verify_worker.encode([(r.public, r.signature, r.message) for r in records])
            )
            proc.stdin.flush()
            answer = verify_worker.read_exact(proc.stdout, len(records))
            if answer is None:
                raise OSError(f"signature checker exited (code {proc.poll()})")
            return [b == 1 for b in answer]

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the worker ends at end of input
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class Verifier:
    def __init__(self, *, helper_process: bool = False) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-verify")
        self._helper = CheckerProcess() if helper_process else None
        self.roots = RootVerdicts()  # touched only by the worker thread, as is:
        self.walks = PathMemo()

    def verdicts(
        self, records: list[Message], keys: Mapping[str, Ed25519PublicKey]
    ) -> Iterator[Verdict]:
        """One verdict per record, in order, computed ahead of the caller chunk by chunk."""
        chunks = [records[i : i + CHUNK] for i in range(0, len(records), CHUNK)]
        for done in self._pool.map(lambda c: self._chunk(c, keys), chunks):
            yield from done

    def _chunk(self, msgs: list[Message], keys: Mapping[str, Ed25519PublicKey]) -> list[Verdict]:
        prepared: list[SignedRecord | InputRejected] = []
        for m in msgs:
            try:
                # The headers as sent, in order: a batch-signed record's leaf covers them.
                headers = m.headers() or []
                prepared.append(
                    prepare(headers, m.topic() or "", m.key(), m.value(), keys, self.walks)
                )
            except InputRejected as exc:
                prepared.append(exc)
        verdicts = self._signatures([p for p in prepared if isinstance(p, SignedRecord)])
        return [
            p
            if isinstance(p, InputRejected)
            else (p.partner if verdicts[(p.public, p.signature, p.message)] else p.bad())
            for p in prepared
        ]

    def _signatures(self, signed: list[SignedRecord]) -> dict[Signed, bool]:
        """A verdict per distinct (key, signature, message): each root checked once."""
        verdicts: dict[Signed, bool] = {}
        todo: dict[Signed, SignedRecord] = {}
        for r in signed:
            triple = (r.public, r.signature, r.message)
            if triple in verdicts or triple in todo:
                continue
            known = self.roots.get(triple) if r.batched else None
            if known is None:
                todo[triple] = r
            else:
                verdicts[triple] = known
        checked = self._check(list(todo.values()))
        self.roots.checked += len(checked)
        for (triple, r), ok in zip(todo.items(), checked, strict=True):
            verdicts[triple] = ok
            if r.batched:
                self.roots.put(triple, ok)
        return verdicts

    def _check(self, signed: list[SignedRecord]) -> list[bool]:
        if self._helper is not None and signed:
            try:
                return self._helper.check(signed)
            except OSError as exc:
                log.error("signature checker process failed (%s): checking on a thread", exc)
                self._helper.close()
                self._helper = None
        return [check(r.public, r.signature, r.message) for r in signed]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._helper is not None:
            self._helper.close()
