"""A reload says what it changes in what governs: a file edited, added or deleted outside
the console must not change sharing unseen (issue 15 item 5)."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.identity import PartnerKeyStore
from hub.processor.reload import RuleSource

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_reload_that_changes_what_governs_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "agreements"
    shutil.copytree(ROOT / "partnership" / "agreements", folder)
    clock = Clock()
    source = RuleSource(folder, PartnerKeyStore(None, tmp_path / "keys"), [], clock=clock)
    source.load()
    v1 = folder / "police-msn" / "v1.yaml"
    # An unsigned approved v2 written by hand: it does not govern, so the reload is quiet.
    unsigned = v1.read_text().replace("version: 1", "version: 2\nsupersedes: 1")
    unsigned = unsigned[: unsigned.index("approval:")] + "approval: {}\n"
    (folder / "police-msn" / "v2.yaml").write_text(unsigned)
    clock.now = 3.0
    with caplog.at_level(logging.WARNING, "hub.processor.reload"):
        rules = source.changed()
    governs = rules.engine.governing("police-msn", datetime.now(UTC)) if rules else None
    assert governs is not None and governs.version == 1
    assert not [r for r in caplog.records if "agreements reloaded" in r.message]
    # A suspension written by hand: the reload names what stops.
    suspended = v1.read_text().replace("version: 1", "version: 3\nsupersedes: 1")
    (folder / "police-msn" / "v3.yaml").write_text(
        suspended.replace("status: approved", "status: suspended")
    )
    clock.now = 6.0
    with caplog.at_level(logging.WARNING, "hub.processor.reload"):
        assert source.changed() is not None
    [line] = [r.message for r in caplog.records if "agreements reloaded" in r.message]
    assert "police-msn@v1 governed; now police-msn@v3 governs" in line
    assert "Stops being shared: merseyside-police → modern-slavery-network" in line
