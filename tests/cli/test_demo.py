"""`hub demo --json`, as the README runs it: real broker, registry, processor and sinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _brokers(run_root: Path) -> set[int]:
    """Broker processes writing their log under ``run_root``: this demo's, and no one
    else's (parallel tests start brokers of their own)."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            stat = (proc / "stat").read_text().split()
            outputs = [os.readlink(proc / "fd" / n) for n in ("1", "2")]
        except OSError:
            continue
        if b"tansu" in cmd and stat[2] != "Z" and any(o.startswith(str(run_root)) for o in outputs):
            pids.add(int(proc.name))
    return pids


def test_demo_json_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "demo",
            "--events",
            "300",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # Every partner published through its connector; the synthetic partnership's deliberate
    # bad rows and requests were refused by the connectors, not passed on.
    assert len(summary["published_by_partner"]) == 10
    assert summary["valid_events"] == sum(summary["published_by_partner"].values()) > 250
    assert summary["connector_rejects"]
    for recipient in ("liverpool-mash", "modern-slavery-network", "merseyside-iom"):
        assert summary["shared"][recipient] > 0, recipient
    assert summary["withheld"] > 0
    assert summary["deadlettered"] == summary["malformed_sent"] > 0
    assert summary["decisions"] > summary["valid_events"]
    # The audit holds the processor's decisions and the analytics' alert decisions.
    alert_decisions = sum(summary["alerts_shared"].values()) + summary["alerts_withheld"]
    assert summary["audit_records"] == summary["decisions"] + alert_decisions
    assert sum(summary["alerts"].values()) > 0, "the synthetic partnership raises alerts"
    assert summary["vrp_tables"] > 0
    # Disclosures (corrections among them) and retraction notices, each delivered and
    # receipted (issue 18: a corrected date of birth, a wrong-person retraction).
    assert summary["corrections"] > 0 and summary["retractions"] > 0
    assert summary["retraction_receipts"] == summary["retractions"]
    shared, notices = sum(summary["shared"].values()), summary["retractions"]
    assert sum(summary["delivered"].values()) == shared + notices
    assert set(summary["delivered"]) == set(summary["shared"])
    assert summary["receipts"] == shared + notices
    assert summary["audit_intact"] is True
    assert Path(summary["outputs"]["audit_db"]).exists()
    # The demo's broker logged under tmp_path, so a broker it left behind would be found.
    assert list(tmp_path.glob("runs/*/broker.log"))
    assert not _brokers(tmp_path), "the demo left a broker running"
    key = tmp_path / "keys" / "msn.key.json"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"


def test_demo_serves_the_console_until_ctrl_c(tmp_path: Path) -> None:
    """`hub demo` (no --json): the summary, then the IG console on the run's audit with a
    one-off IG officer account; Ctrl-C stops console, broker and registry."""
    import re
    import signal
    import urllib.request

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "demo",
            "--events",
            "60",
            "--data-dir",
            str(tmp_path),
            "--console-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            m = re.search(r"IG console: (http://\S+)\s+\(user (\S+), password (\S+);", line)
            if m:
                url = m.group(1)
                break
        assert url, "the demo did not print the console's address"
        with urllib.request.urlopen(f"{url}/login", timeout=10) as page:
            assert page.status == 200 and b"password" in page.read().lower()
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130)
    assert not _brokers(tmp_path), "the demo left a broker running"
