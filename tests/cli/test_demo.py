"""`hub demo --json`, as the README runs it: real broker, registry, processor and sinks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _brokers() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
                stat = (proc / "stat").read_text().split()
            except OSError:
                continue
            if b"tansu" in cmd and stat[2] != "Z":
                pids.add(int(proc.name))
    return pids


def test_demo_json_summary(tmp_path: Path) -> None:
    before = _brokers()
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
    assert summary["valid_events"] == 300
    assert (
        summary["shared"]["liverpool-mash"] > 0 and summary["shared"]["modern-slavery-network"] > 0
    )
    assert summary["withheld"] > 0
    assert summary["deadlettered"] == summary["malformed_sent"] > 0
    assert summary["audit_records"] == summary["decisions"] == 900  # 3 candidates per event
    assert summary["delivered"] == summary["shared"]
    assert summary["audit_intact"] is True
    assert Path(summary["outputs"]["audit_db"]).exists()
    assert _brokers() <= before, "the demo left a broker running"
    key = tmp_path / "keys" / "msn.key.json"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
