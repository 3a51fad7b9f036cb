"""A console over a small audit: accounts of each role, a copy of the partnership (actions
write agreement files), and decisions about a known synthetic person."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from httpx import Response

from hub.audit import AuditStore
from hub.catalogue import Catalogue
from hub.config import Settings
from hub.console.app import create_app
from hub.console.auth import Role, add_user
from hub.console.state import ConsoleConfig, ConsoleState
from hub.identity import PartnerKeyStore
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.subjects import SUBJECT_DOMAIN, lookup_tokens
from tests.audit.test_queries import decision, populate

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
PERSON: dict[str, Any] = {
    "given_name": "Jordan",
    "family_name": "O'Neill",
    "date_of_birth": date(2011, 3, 4),
}
# PERSON as the subject report's form enters them.
PERSON_FORM = {
    "given_name": PERSON["given_name"],
    "family_name": PERSON["family_name"],
    "date_of_birth": PERSON["date_of_birth"].isoformat(),
}


@dataclasses.dataclass
class Console:
    app_state: ConsoleState
    settings: Settings
    store_url: str
    keys_dir: Path

    def client(self, https: bool = False) -> TestClient:
        app = create_app(self.app_state.config, self.app_state)
        return TestClient(app, base_url="https://testserver" if https else "http://testserver")


def person_tokens(settings: Settings, catalogue: Catalogue) -> list[str]:
    person = catalogue.event_types["safeguarding-concern"].person_records()[0]
    ring = LocalKeyProvider(settings.data_dir / "keys", settings.pseudonym_keys).ring(
        SUBJECT_DOMAIN
    )
    return sorted(lookup_tokens(ring, person, **PERSON))


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes ~0.25 s a hash here; the tests check who may log
    in, not the hash's cost, so they use the same algorithm with small parameters."""
    from argon2 import PasswordHasher

    import hub.console.auth

    monkeypatch.setattr(
        hub.console.auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def console(tmp_path: Path, catalogue: Catalogue) -> Iterator[Console]:
    partnership = tmp_path / "partnership"
    shutil.copytree(ROOT / "partnership", partnership)
    settings = Settings(data_dir=tmp_path / "data", partnership_dir=partnership)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    signer = PartnerKeyStore(None, tmp_path / "audit-keys").dev_signing_key("hub-audit")
    store = AuditStore(url, signer=signer)
    populate(store)
    tokens = person_tokens(settings, catalogue)
    store.write_decisions(
        [
            decision("p1", "e10", "liverpool-mash", "shared", "2026-11-04T09:00:00+00:00",
                     subjects=tuple(tokens)),
            decision("p2", "e11", "merseyside-iom", "shared", "2026-11-05T09:00:00+00:00",
                     provider="probation-nw", agreement="probation-iom", subjects=tuple(tokens)),
        ]
    )  # fmt: skip
    for name, role, partner in (
        ("officer", Role.IG_OFFICER, None),
        ("auditor", Role.AUDITOR, None),
        ("liverpool", Role.PARTNER_ADMIN, "liverpool-cc"),
        ("probation", Role.PARTNER_ADMIN, "probation-nw"),
    ):
        add_user(store.engine, name, role, PASSWORD, partner)
    store.close()
    config = ConsoleConfig(settings=settings, store_url=url, signer=signer)
    state = ConsoleState.open(config)
    yield Console(state, settings, url, tmp_path / "audit-keys")
    state.close()


def sign_in(client: TestClient, name: str, password: str) -> Response:
    """The login form posted as the login page posts it; the answer, not followed."""
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": csrf(client, "/login")},
        follow_redirects=False,
    )


def login(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    response = sign_in(client, name, password)
    assert response.status_code == 303 and response.headers["location"] == "/activity"
    return client


def csrf(client: TestClient, path: str = "/activity") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def submit(client: TestClient, path: str, **form: str) -> Response:
    """A console form posted as its page posts it: ``form`` with the session's CSRF token."""
    return client.post(path, data={**form, "csrf_token": csrf(client)})


def draft(partnership: Path, agreement_id: str, **changes: Any) -> dict[str, Any]:
    """Version 2 of ``agreement_id`` as a draft: v1's terms, superseding v1, signed by
    nobody, with ``changes``."""
    folder = partnership / "agreements" / agreement_id
    data: dict[str, Any] = yaml.safe_load((folder / "v1.yaml").read_text())
    data.update(version=2, status="draft", supersedes=1, approval={})
    data.update(changes)
    return data


def save(partnership: Path, data: dict[str, Any]) -> str:
    """``data`` written as its version's file in the register. Returns its ref."""
    path = partnership / "agreements" / data["id"] / f"v{data['version']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return f"{data['id']}@v{data['version']}"


def police_msn_draft(partnership: Path) -> dict[str, Any]:
    """police-msn v2 as a draft: also domestic abuse concerns, and no borough."""
    data = draft(
        partnership,
        "police-msn",
        change_note="Add domestic abuse concerns; stop sending the borough.",
        condition='event.concern_category in ["CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY", '
        '"DOMESTIC_ABUSE"]',
    )
    data["fields"] = [f for f in data["fields"] if f["id"] != "borough"]
    return data


def write_draft(partnership: Path) -> str:
    """police-msn v2 (``police_msn_draft``) in the register. Returns its ref."""
    return save(partnership, police_msn_draft(partnership))
