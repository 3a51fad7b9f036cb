"""Shared fixtures: the catalogue, the reference agreements, a fixed test key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.agreements import Agreement, load_agreements
from hub.catalogue import Catalogue, EventType, load_catalogue
from hub.privacy.keys import LocalKeyProvider

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "schemas" / "avro")


@pytest.fixture(scope="session")
def concern_type(catalogue: Catalogue) -> EventType:
    et = catalogue.get("safeguarding-concern")
    assert et is not None
    return et


@pytest.fixture(scope="session")
def reference_agreements() -> list[Agreement]:
    return load_agreements(ROOT / "partnership" / "agreements")


@pytest.fixture
def keys(tmp_path: Path) -> LocalKeyProvider:
    """Fixed keys per domain, as production would configure them (never the dev files)."""
    fixed = {
        d: SecretStr(base64.b64encode(bytes([i]) * 32).decode())
        for i, d in enumerate(["msn", "mash", "research"], 1)
    }
    return LocalKeyProvider(tmp_path / "keys", fixed)
