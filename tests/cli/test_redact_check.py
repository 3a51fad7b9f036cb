"""`hub agreements redact-check`, as an IG officer runs it: text in, the recipient's view out."""

from __future__ import annotations

import subprocess
import sys


def _run(*args: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "agreements", "redact-check", *args],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_redact_check_shows_what_the_network_receives() -> None:
    out = _run(
        "police-msn-nrm",
        "account",
        "--known",
        "Ana",
        text="Ana says his boss Quentin Canarybrook keeps his passport (07700 900123).",
    )
    assert out.returncode == 0, out.stderr
    for leaked in ("Ana", "Quentin", "Canarybrook", "07700"):
        assert leaked not in out.stdout
    assert "keeps his passport" in out.stdout
    assert "modern-slavery-network under police-msn-nrm@v1" in out.stderr
    assert "redacted (clause 'account')" in out.stderr


def test_redact_check_says_when_text_is_kept_or_not_sent() -> None:
    kept = _run("police-liverpool-mash", "narrative", text="Quentin was there.")
    assert kept.returncode == 0 and kept.stdout == "Quentin was there."
    assert "KEPT AS IS" in kept.stderr
    dropped = _run("police-msn", "narrative", text="Quentin was there.")
    assert dropped.returncode == 0 and dropped.stdout == ""
    assert "not sent" in dropped.stderr


def test_redact_check_refuses_unknown_agreement_or_field() -> None:
    assert _run("no-such-agreement", "account", text="x").returncode == 2
    unknown = _run("police-msn-nrm", "acount", text="x")
    assert unknown.returncode == 2 and "account" in unknown.stderr
