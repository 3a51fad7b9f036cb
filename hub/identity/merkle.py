"""Merkle trees over a produce batch, as in Certificate Transparency (RFC 9162, section 2.1).

SHA-256 with domain-separated hashes: a leaf is ``SHA-256(0x00 || data)``, an interior node
``SHA-256(0x01 || left || right)``, so no leaf can pass for a node nor a node for a leaf.
The tree over n leaves splits at the largest power of two below n (RFC 9162 2.1.1); an audit
path lists the sibling hashes from the leaf up to the root (2.1.3.1), and ``root_from_path``
is the verification algorithm of 2.1.3.2, which also rejects a path of the wrong length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_BYTES = 32
_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256


class BadPath(ValueError):
    """An audit path that cannot lead anywhere: wrong length, or an index outside the tree."""


def leaf_hash(data: bytes) -> bytes:
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree(leaves: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root over these leaf hashes and each leaf's audit path (leaf to root): n - 1
    node hashes in all, rather than one path's worth of hashing per leaf."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    paths: list[list[bytes]] = [[] for _ in leaves]

    def build(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        mid = lo + _split(hi - lo)
        left, right = build(lo, mid), build(mid, hi)
        # Built bottom-up, so appending keeps each path in leaf-to-root order.
        for i in range(lo, mid):
            paths[i].append(right)
        for i in range(mid, hi):
            paths[i].append(left)
        return node_hash(left, right)

    return build(0, len(leaves)), paths


def path_length(index: int, size: int) -> int:
    """How many hashes the audit path of leaf ``index`` in a tree of ``size`` holds, found
    by the same walk as ``root_from_path``; lets a caller refuse an oversize header before
    decoding it."""
    if not 0 <= index < size:
        raise BadPath(f"leaf index {index} is outside a tree of {size}")
    fn, sn, n = index, size - 1, 0
    while sn:
        if fn == sn and not fn & 1:
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
        n += 1
    return n


def _climb(fn: int, sn: int, r: bytes, p: bytes) -> tuple[int, int, bytes]:
    """One step of the RFC 9162 2.1.3.2 walk: hash ``r`` with sibling ``p`` and move the
    two counters up a level. Shared by ``root_from_path`` and ``PathMemo`` so the memo can
    only ever give the root the plain walk gives."""
    if fn & 1 or fn == sn:
        r = _sha256(_NODE + p + r).digest()
        if not fn & 1:
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
    else:
        r = _sha256(_NODE + r + p).digest()
    return fn >> 1, sn >> 1, r


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that ``path`` leads to from leaf hash ``leaf`` at ``index`` (RFC 9162
    2.1.3.2); raises BadPath when the path is too short, too long or the index is out."""
    if not 0 <= index < size:
        raise BadPath(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise BadPath(f"audit path is longer than a tree of {size} needs at index {index}")
        fn, sn, r = _climb(fn, sn, r, p)
    if sn != 0:
        raise BadPath(f"audit path is shorter than a tree of {size} needs at index {index}")
    return r


class PathMemo:
    """Remembers where audit-path walks went, so the records of one batch share the hashing
    of their common upper path: about two hashes per record instead of log2(batch size).

    A pure memo of ``root_from_path``: the rest of a walk depends only on its state (the
    two counters and the hash so far) and on the rest of the path, so a remembered state
    whose remaining path is byte-equal gives exactly the root the full walk would. Nothing
    is trusted: a memo entry is a computation, not a verdict (the signature is checked
    separately). Bounded: cleared when full.
    """

    def __init__(self, kept: int = 1 << 15) -> None:
        self._kept = kept
        self._walks: dict[tuple[int, int, bytes], tuple[bytes, bytes]] = {}

    def __len__(self) -> int:
        return len(self._walks)

    def root(self, leaf: bytes, index: int, size: int, path: bytes) -> bytes:
        """As ``root_from_path`` with the path's hashes concatenated."""
        if not 0 <= index < size:
            raise BadPath(f"leaf index {index} is outside a tree of {size}")
        if len(path) % HASH_BYTES:
            raise BadPath(f"audit path of {len(path)} bytes is not whole {HASH_BYTES}-byte hashes")
        walks, fn, sn, r, pos = self._walks, index, size - 1, leaf, 0
        seen: list[tuple[tuple[int, int, bytes], int]] = []
        while True:
            state = (fn, sn, r)
            hit = walks.get(state)
            if hit is not None and hit[0] == path[pos:]:
                root = hit[1]
                break
            if pos == len(path):
                if sn != 0:
                    raise BadPath(f"audit path is shorter than a tree of {size} needs")
                root = r
                break
            if sn == 0:
                raise BadPath(f"audit path is longer than a tree of {size} needs")
            seen.append((state, pos))
            p, pos = path[pos : pos + HASH_BYTES], pos + HASH_BYTES
            fn, sn, r = _climb(fn, sn, r, p)
        if len(walks) + len(seen) > self._kept:
            walks.clear()
        for state, at in seen:
            walks[state] = (path[at:], root)
        return root
