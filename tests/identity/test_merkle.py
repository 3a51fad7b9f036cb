"""The tree, paths and path checks against RFC 9162's recursive definitions, written out
naively here (MTH and PATH of section 2.1), for every size up to 70 and every leaf."""

from __future__ import annotations

import hashlib

import pytest

from hub.identity import merkle


def mth(d: list[bytes]) -> bytes:
    """RFC 9162 2.1.1 over leaf *data*."""
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1."""
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


@pytest.mark.parametrize("n", range(1, 71))
def test_tree_and_paths_match_the_rfc_definitions(n: int) -> None:
    data = [f"record {i}".encode() for i in range(n)]
    root, paths = merkle.tree([merkle.leaf_hash(x) for x in data])
    assert root == mth(data)
    for m in range(n):
        assert paths[m] == path(m, data), m
        assert merkle.path_length(m, n) == len(paths[m])
        assert merkle.root_from_path(merkle.leaf_hash(data[m]), m, n, paths[m]) == root


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    """A node's two children, presented as one leaf, hash to something else (the second
    preimage attack on trees without a leaf prefix)."""
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


def test_a_path_leads_to_its_root_only_from_its_own_index() -> None:
    data = [bytes([i]) for i in range(7)]
    root, paths = merkle.tree([merkle.leaf_hash(x) for x in data])
    leaf = merkle.leaf_hash(data[2])
    others = [
        merkle.root_from_path(leaf, i, 7, paths[2])
        for i in (0, 1, 3)
        if merkle.path_length(i, 7) == len(paths[2])
    ]
    assert others and root not in others


@pytest.mark.parametrize(
    ("index", "size", "length"),
    [(0, 5, 2), (0, 5, 4), (4, 5, 0), (4, 5, 2), (0, 1, 1), (3, 8, 2), (3, 8, 4)],
)
def test_a_path_of_the_wrong_length_is_refused(index: int, size: int, length: int) -> None:
    with pytest.raises(merkle.BadPath):
        merkle.root_from_path(b"\0" * 32, index, size, [b"\1" * 32] * length)


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 5), (0, 0), (9, 3)])
def test_an_index_outside_the_tree_is_refused(index: int, size: int) -> None:
    with pytest.raises(merkle.BadPath):
        merkle.root_from_path(b"\0" * 32, index, size, [])
    with pytest.raises(merkle.BadPath):
        merkle.path_length(index, size)


def test_an_empty_batch_has_no_tree() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        merkle.tree([])


def test_the_path_memo_gives_exactly_what_the_full_walk_gives() -> None:
    """Valid paths over several batches, then every single-hash alteration of them, then
    wrong lengths: the memo's answer (root or BadPath) equals the plain walk's each time,
    while it is warm with the valid walks."""
    import random

    rng = random.Random(5)
    memo = merkle.PathMemo()
    cases = []
    for n in (1, 2, 5, 16, 33):
        leaves = [merkle.leaf_hash(rng.randbytes(8)) for _ in range(n)]
        _root, paths = merkle.tree(leaves)
        cases += [(leaves[i], i, n, paths[i]) for i in range(n)]
    bent = []
    for leaf, i, n, p in cases:
        for j in range(len(p)):
            bent.append((leaf, i, n, [*p[:j], rng.randbytes(32), *p[j + 1 :]]))
        bent.append((leaf, i, n, p[:-1]))
        bent.append((leaf, i, n, [*p, p[0] if p else leaf]))
        bent.append((leaf, (i + 1) % n, n, p))
        bent.append((leaf, i, n + 1, p))
    for leaf, i, n, p in cases + bent + cases:
        try:
            want: bytes | type = merkle.root_from_path(leaf, i, n, p)
        except merkle.BadPath:
            want = merkle.BadPath
        try:
            got: bytes | type = memo.root(leaf, i, n, b"".join(p))
        except merkle.BadPath:
            got = merkle.BadPath
        assert got == want, (i, n, len(p))
    assert len(memo) > 0


def test_the_path_memo_is_bounded() -> None:
    memo = merkle.PathMemo(kept=50)
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(200)]
    root, paths = merkle.tree(leaves)
    for i in range(200):
        assert memo.root(leaves[i], i, 200, b"".join(paths[i])) == root
        assert len(memo) <= 50
