"""Shared fixtures: the catalogue, the reference agreements, a fixed test key."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from hub.agreements import Agreement, load_agreements
from hub.catalogue import Catalogue, EventType, load_catalogue
from hub.privacy.keys import LocalKeyProvider
from tests.postgres import postgres_server

ROOT = Path(__file__).resolve().parent.parent
# Broker, registry and publisher fixtures for every test package (tests/plugin.py).
pytest_plugins = ["tests.plugin"]


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session; each test gets its own database from
    ``postgres_db``."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """A new, empty database on the session's server: tests do not see each other's rows."""
    name = f"t{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
