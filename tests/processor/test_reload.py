"""Agreements and keys reload between batches when their files change; a broken change keeps
the rules in force."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.identity import PartnerKeyStore
from hub.processor.reload import RuleSource

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def agreements(tmp_path: Path) -> Path:
    folder = tmp_path / "agreements"
    shutil.copytree(ROOT / "partnership" / "agreements", folder)
    return folder


def test_reload_on_change_only_after_interval(agreements: Path, tmp_path: Path) -> None:
    clock = Clock()
    keys = PartnerKeyStore(None, tmp_path / "keys")
    source = RuleSource(agreements, keys, [tmp_path / "keys"], interval=2.0, clock=clock)
    before = len(source.load().engine.agreements)
    assert source.changed() is None

    v1 = agreements / "police-msn" / "v1.yaml"
    v2 = (
        v1.read_text()
        .replace("version: 1", "version: 2\nsupersedes: 1")
        .replace("status: approved", "status: suspended")
    )
    (agreements / "police-msn" / "v2.yaml").write_text(v2)
    clock.now = 1.0
    assert source.changed() is None, "checked at most every interval"
    clock.now = 3.0
    rules = source.changed()
    assert rules is not None and len(rules.engine.agreements) == before + 1
    clock.now = 6.0
    assert source.changed() is None, "nothing changed since"

    keys.dev_signing_key("probation-nw")  # a new partner key is registered
    clock.now = 9.0
    rules = source.changed()
    assert rules is not None and "probation-nw/dev1" in rules.public_keys


def test_broken_change_keeps_rules_in_force(agreements: Path, tmp_path: Path) -> None:
    clock = Clock()
    source = RuleSource(agreements, PartnerKeyStore(None, None), [], interval=0.0, clock=clock)
    (agreements / "police-msn" / "v1.yaml").write_text("id: police-msn\nversion: [oops")
    assert source.changed() is None
