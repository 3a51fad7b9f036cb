"""`hub connector check|digest|run`, called the way the `hub` command will call them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from connectors.sources.webhook import token_digest
from tests.cli.command import run
from tests.connectors.conftest import ROOT

EXAMPLES = ROOT / "connectors" / "examples"


def test_check_reports_mapping_of_a_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.synthetic.exports import police_csv
    from tests.connectors.conftest import police_events

    sample = tmp_path / "concerns-2026-11-02.csv"
    sample.write_bytes(police_csv(police_events(20), bad_rows=True))
    monkeypatch.delenv("HUB_SIGNING_KEY", raising=False)
    assert (
        run(
            [
                "connector",
                "check",
                str(EXAMPLES / "police-concerns-csv.yaml"),
                "--sample",
                str(sample),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "NOT OK" in out and "HUB_SIGNING_KEY is not set" in out

    dev = tmp_path / "dev.yaml"
    text = (EXAMPLES / "police-concerns-csv.yaml").read_text()
    dev.write_text(
        text.replace("private_key_env: HUB_SIGNING_KEY", f"dev_keys_dir: {tmp_path / 'keys'}")
    )
    assert run(["connector", "check", str(dev), "--sample", str(sample), "--json"]) == 1  # bad rows
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["rows_ok"] == 20
    assert [(r["row"], r["code"]) for r in report["rows_rejected"]] == [
        (5, "wrong-type"),
        (6, "wrong-type"),
        (7, "malformed"),
    ]


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_examples_check_clean_apart_from_secrets(
    example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["connector", "check", str(EXAMPLES / example), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert all("environment variable" in p for p in report["problems"]), report["problems"]
    assert code == (0 if report["ok"] else 1)


def test_digest_reads_the_token_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_DIGEST_KEY", "x" * 32)
    monkeypatch.setattr("sys.stdin", io.StringIO("partner-token-123\n"))
    assert run(["connector", "digest", "--key-env", "WEBHOOK_DIGEST_KEY"]) == 0
    assert capsys.readouterr().out.strip() == token_digest(b"x" * 32, "partner-token-123")
