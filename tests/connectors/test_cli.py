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


def _dev_config(tmp_path: Path) -> Path:
    dev = tmp_path / "dev.yaml"
    text = (EXAMPLES / "police-concerns-csv.yaml").read_text()
    dev.write_text(
        text.replace("private_key_env: HUB_SIGNING_KEY", f"dev_keys_dir: {tmp_path / 'keys'}")
    )
    return dev


def test_check_streams_a_whole_export_and_counts_every_rejected_row(tmp_path: Path) -> None:
    """A sample may be a partner's whole export: it is read as the drop folder reads it, not
    whole into memory (a sample 60 times larger peaks about as high), and a file of bad rows
    reports every row counted and the first ``SAMPLE_REJECTS_SHOWN`` in detail."""
    import tracemalloc

    from connectors.base.config import load_config
    from connectors.base.runtime import SAMPLE_REJECTS_SHOWN, CheckReport, check
    from connectors.synthetic.exports import police_csv
    from tests.connectors.conftest import police_events

    header, *rows = police_csv(police_events(200)).split(b"\r\n")
    bad = b"\r\n".join(r.replace(b"/20", b"/2O", 1) for r in rows if r) + b"\r\n"
    config = load_config(_dev_config(tmp_path))

    def checked(copies: int) -> tuple[CheckReport, int, int]:
        sample = tmp_path / f"concerns-2026-11-0{copies % 9 + 1}.csv"
        sample.write_bytes(header + b"\r\n" + bad * copies)
        check(config, {}, sample=sample)  # the catalogue and mappers, loaded once
        tracemalloc.start()
        try:
            report = check(config, {}, sample=sample)
            return report, tracemalloc.get_traced_memory()[1], sample.stat().st_size
        finally:
            tracemalloc.stop()

    _small, small_peak, _ = checked(1)
    report, peak, size = checked(60)
    assert report.ok and report.rows_ok == 0
    assert report.rows_rejected_count == 200 * 60
    assert len(report.rows_rejected) == SAMPLE_REJECTS_SHOWN
    assert report.rows_rejected[0]["code"] == "wrong-type"
    assert peak - small_peak < size / 2, f"{small_peak} -> {peak} bytes, sample {size}"


def test_check_names_where_a_sample_stops_being_text(tmp_path: Path) -> None:
    from connectors.base.config import load_config
    from connectors.base.runtime import check

    sample = tmp_path / "concerns-2026-11-02.csv"
    sample.write_bytes(b"a,b\r\n1,2\r\n\xff\xfe,3\r\n")
    report = check(load_config(_dev_config(tmp_path)), {}, sample=sample)
    assert any("malformed" in p and "byte" in p for p in report.problems), report.problems
