"""Signed audit exports: an intact archive verifies with the public key alone, and any change
to a record, the chain, the manifest or the signature is found."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit import AuditStore
from hub.audit.export import SIGNED_PREFIX, export_archive, load_public_key, verify_archive
from hub.identity import PartnerKeyStore, SigningKey
from tests.audit.test_queries import populate

NOV = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def signer(tmp_path: Path) -> SigningKey:
    return PartnerKeyStore(None, tmp_path / "audit-keys").dev_signing_key("hub-audit")


@pytest.fixture
def public_pem(tmp_path: Path, signer: SigningKey) -> Path:
    return tmp_path / "audit-keys" / "hub-audit.dev1.pub"


@pytest.fixture
def archive(tmp_path: Path, signer: SigningKey) -> Path:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}", signer=signer)
    populate(store)
    out = tmp_path / "nov.zip"
    summary = export_archive(store, *NOV, out, signer)
    assert summary.counts["decisions"] == 5 and summary.counts["chain"] == 10
    store.close()
    return out


def rewrite(path: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    change(files)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def problems(path: Path, pem: Path) -> list[str]:
    return verify_archive(path, load_public_key(pem.read_bytes())).problems


def test_intact_archive_verifies(archive: Path, public_pem: Path) -> None:
    report = verify_archive(archive, load_public_key(public_pem.read_bytes()))
    assert report.ok, report.problems
    assert report.counts["decisions"] == 5 and report.counts["receipts"] == 3
    assert report.counts["checkpoints"] == 3 and report.period["from"] == "2026-11-01"


def test_period_selects_a_contiguous_run(tmp_path: Path, signer: SigningKey) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'a.db'}", signer=signer)
    populate(store)
    out = tmp_path / "day.zip"
    summary = export_archive(store, date(2026, 11, 2), date(2026, 11, 2), out, signer)
    store.close()
    # Decisions d3, d4 are stamped on the 2nd; d5 (the 3rd) lies between them and the
    # receipts/dead letter of the 2nd in chain order, so it is included to keep the run whole.
    with zipfile.ZipFile(out) as zf:
        ids = [json.loads(x)["decision_id"] for x in zf.read("decisions.jsonl").splitlines()]
    assert ids == ["d3", "d4", "d5"] and summary.first_seq == 3
    assert verify_archive(out, signer.private.public_key()).ok


def _edit_jsonl(
    name: str, index: int, key: str, value: object
) -> Callable[[dict[str, bytes]], None]:
    def change(files: dict[str, bytes]) -> None:
        lines = files[name].splitlines()
        row = json.loads(lines[index])
        row[key] = value
        lines[index] = json.dumps(row, sort_keys=True, separators=(",", ":")).encode()
        files[name] = b"\n".join(lines) + b"\n"

    return change


def test_changed_record_is_found(archive: Path, public_pem: Path) -> None:
    rewrite(archive, _edit_jsonl("decisions.jsonl", 1, "recipient", "someone-else"))
    found = problems(archive, public_pem)
    assert any("decisions.jsonl: SHA-256 differs" in p for p in found)
    assert any("decision record differs from what the chain recorded" in p for p in found)


def test_changed_record_with_manifest_rehashed_is_found(archive: Path, public_pem: Path) -> None:
    """The forger also fixes the manifest's SHA-256: the signature then fails."""

    def forge(files: dict[str, bytes]) -> None:
        _edit_jsonl("receipts.jsonl", 0, "status", "failed")(files)
        manifest = json.loads(files["manifest.json"])
        manifest["files"]["receipts.jsonl"]["sha256"] = hashlib.sha256(
            files["receipts.jsonl"]
        ).hexdigest()
        files["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"

    rewrite(archive, forge)
    found = problems(archive, public_pem)
    assert any("manifest signature is invalid" in p for p in found)
    assert any("receipt record differs" in p for p in found)


def test_deleted_record_and_dropped_link_are_found(archive: Path, public_pem: Path) -> None:
    def drop(files: dict[str, bytes]) -> None:
        files["dead_letters.jsonl"] = b"\n".join(files["dead_letters.jsonl"].splitlines()[1:])

    rewrite(archive, drop)
    assert any("dead_letter record is missing" in p for p in problems(archive, public_pem))


def test_manifest_counts_changed_is_found(archive: Path, public_pem: Path) -> None:
    def change(files: dict[str, bytes]) -> None:
        manifest = json.loads(files["manifest.json"])
        manifest["counts"]["decisions"] = 4
        files["manifest.json"] = json.dumps(manifest).encode()

    rewrite(archive, change)
    found = problems(archive, public_pem)
    assert any("manifest signature is invalid" in p for p in found)
    assert any("decisions: 5 records, manifest says 4" in p for p in found)


def test_signature_replaced_or_key_wrong_is_found(archive: Path, public_pem: Path) -> None:
    other = Ed25519PrivateKey.generate()

    def resign(files: dict[str, bytes]) -> None:
        files["manifest.sig"] = base64.b64encode(other.sign(SIGNED_PREFIX + files["manifest.json"]))

    rewrite(archive, resign)
    assert any("manifest signature is invalid" in p for p in problems(archive, public_pem))
    # ... and an archive checked with a key other than the hub's never verifies.
    assert not verify_archive(archive, other.public_key()).ok


def test_added_file_and_reordered_links_are_found(archive: Path, public_pem: Path) -> None:
    def change(files: dict[str, bytes]) -> None:
        lines = files["chain.jsonl"].splitlines()
        lines[2], lines[3] = lines[3], lines[2]
        files["chain.jsonl"] = b"\n".join(lines) + b"\n"
        files["extra.txt"] = b"note"

    rewrite(archive, change)
    found = problems(archive, public_pem)
    assert any("extra.txt: file is not in the manifest" in p for p in found)
    assert any("links missing or reordered" in p for p in found)


def test_standalone_verifier_and_cli(
    archive: Path, public_pem: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outsider copies export.py alone and runs it with only cryptography installed."""
    standalone = tmp_path / "outsider" / "verify_export.py"
    standalone.parent.mkdir()
    standalone.write_bytes(
        (Path(__file__).resolve().parents[2] / "hub" / "audit" / "export.py").read_bytes()
    )
    # Without the hub or SQLAlchemy importable: the verifier must not need them.
    script = (
        "import runpy, sys; sys.modules['hub'] = sys.modules['sqlalchemy'] = None; "
        f"sys.argv = [{str(standalone)!r}, {str(archive)!r}, '--public-key', {str(public_pem)!r}]; "
        f"runpy.run_path({str(standalone)!r}, run_name='__main__')"
    )
    cmd = [sys.executable, "-I", "-c", script]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=standalone.parent, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "intact" in ok.stdout
    rewrite(archive, _edit_jsonl("decisions.jsonl", 0, "outcome", "withheld"))
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=standalone.parent, check=False)
    assert bad.returncode == 1 and "differs" in bad.stdout

    from hub.cli.main import main

    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    assert main(["audit", "verify-export", str(archive), "--public-key", str(public_pem)]) == 1
    out = tmp_path / "again.zip"
    monkeypatch.setenv("HUB_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    assert main(["audit", "export", "--from", "2026-11-01", "--to", "2026-11-30",
                 "--output", str(out)]) == 0  # fmt: skip
    assert main(["audit", "verify-export", str(out)]) == 0


def test_verify_defaults_to_the_latest_demo_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.cli.main import main

    keys = PartnerKeyStore(None, tmp_path / "audit-keys")
    for run in ("20261101T000000Z", "20261123T000000Z"):
        store = AuditStore(
            f"sqlite:///{tmp_path / 'runs' / run / 'audit.db'}",
            signer=keys.dev_signing_key("hub-audit"),
        )
        if run.startswith("20261123"):
            populate(store)
        store.close()
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HUB_AUDIT_URL", raising=False)
    assert main(["audit", "verify"]) == 0
    assert "20261123T000000Z/audit.db" in capsys.readouterr().out
