"""docs/partners/signing-vectors.json: the file is what the hub's implementation makes, the
Python verifier gives every case its expected verdict, and the JavaScript reference snippet
in docs/partners/connect.md (run by Node, its built-in crypto only) reproduces every
signature byte for byte and gives the same verdicts."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.catalogue.topics import parse_partner_topic
from hub.errors import InputRejected
from hub.identity import Outgoing, sign, sign_batch
from hub.identity.signing import verify
from tests.identity import vectors

ROOT = Path(__file__).resolve().parents[2]
CONNECT = ROOT / "docs" / "partners" / "connect.md"
HARNESS = Path(__file__).resolve().parent / "node" / "check_vectors.mjs"
DATA: dict[str, Any] = json.loads(vectors.FILE.read_text())


def unb64(v: str | None) -> bytes | None:
    return None if v is None else base64.b64decode(v)


def record(r: dict[str, Any]) -> Outgoing:
    return Outgoing(
        r["topic"], unb64(r["key"]), unb64(r["value"]), [(n, unb64(v)) for n, v in r["headers"]]
    )


def test_the_vectors_file_is_what_the_implementation_makes() -> None:
    assert vectors.FILE.read_text() == vectors.render(), (
        "docs/partners/signing-vectors.json drifted: run `python -m tests.identity.vectors`"
    )


@pytest.mark.parametrize("case", DATA["sign"], ids=lambda c: c["name"])
def test_python_signs_each_vector_byte_for_byte(case: dict[str, Any]) -> None:
    signer = vectors.key(case["key_id"])
    records = [record(r) for r in case["records"]]
    if case["form"] == "per-record":
        r = records[0]
        added = [sign(signer, r.topic, r.key, r.value)]
    else:
        added = [
            s.headers[len(r.headers) :]
            for s, r in zip(sign_batch(signer, records), records, strict=True)
        ]
    want = [[(n, unb64(v)) for n, v in hs] for hs in case["added_headers"]]
    assert added == want


def python_verdict(r: Outgoing) -> str:
    keys = {
        k: Ed25519PublicKey.from_public_bytes(bytes.fromhex(v["public_hex"]))
        for k, v in DATA["keys"].items()
        if v["registered"]
    }
    try:
        signer = verify(r.headers, r.topic, r.key, r.value, keys)
    except InputRejected as exc:
        return exc.code
    owner = parse_partner_topic(r.topic)
    return "ok" if owner is not None and owner.partner == signer else "partner-mismatch"


@pytest.mark.parametrize("case", DATA["verify"], ids=lambda c: c["name"])
def test_python_gives_each_vector_its_verdict(case: dict[str, Any]) -> None:
    assert python_verdict(record(case["record"])) == case["verdict"]


def snippet(language: str, name: str) -> str:
    """The fenced block under ``<!-- snippet: NAME -->`` in connect.md."""
    text = CONNECT.read_text()
    m = re.search(rf"<!-- snippet: {re.escape(name)} -->\s*```{language}\n(.*?)```", text, re.S)
    assert m is not None, f"connect.md has no {language} snippet '{name}'"
    return m.group(1)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_snippet_in_the_docs_agrees_with_every_vector(tmp_path: Path) -> None:
    code = tmp_path / "hub-signing.mjs"
    code.write_text(snippet("js", "hub-signing.mjs"))
    done = subprocess.run(
        ["node", str(HARNESS), str(code), str(vectors.FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["sign"] == {c["name"]: "same" for c in DATA["sign"]}
    assert out["verify"] == {c["name"]: c["verdict"] for c in DATA["verify"]}
