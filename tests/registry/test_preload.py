"""Every catalogue schema registered under its partner topics' subjects (hub deploy apply
--registry-url and the sandbox): idempotent, and a refusal names the subject."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from hub.catalogue.schemas import load_catalogue
from hub.config import project_root
from hub.deploy.load import load_topology
from hub.errors import ConfigError, RegistryUnavailable
from hub.registry import RegistryServer, SchemaStore
from hub.registry.preload import register_catalogue

ROOT = project_root()


def test_every_partner_topic_gets_its_schema_once(tmp_path: Path) -> None:
    catalogue = load_catalogue(ROOT / "schemas" / "avro")
    topics = load_topology(ROOT / "partnership", ROOT / "schemas" / "avro").partner_topics()
    with RegistryServer(SchemaStore(f"sqlite:///{tmp_path / 'r.db'}")) as server:
        first = register_catalogue(server.url, catalogue, topics)
        again = register_catalogue(server.url, catalogue, topics)
        assert first == again and len(first) == len(set(topics))
        subjects = httpx.get(f"{server.url}/subjects").json()
        assert sorted(subjects) == sorted(f"{t}-value" for t in set(topics))
        # One schema per event type, shared by every partner publishing it.
        assert len({r.schema_id for r in first}) == len({t.split(".")[2] for t in topics})


def test_a_refusal_names_the_subject(tmp_path: Path) -> None:
    catalogue = load_catalogue(ROOT / "schemas" / "avro")
    topic = "partner.merseyside-police.safeguarding-concern.v1"
    other = {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "int"}]}
    with RegistryServer(SchemaStore(f"sqlite:///{tmp_path / 'r.db'}")) as server:
        httpx.post(
            f"{server.url}/subjects/{topic}-value/versions",
            json={"schema": json.dumps(other)},
        ).raise_for_status()
        with pytest.raises(ConfigError, match=f"refused safeguarding-concern under {topic}-value"):
            register_catalogue(server.url, catalogue, [topic])
    with pytest.raises(RegistryUnavailable, match=r"unreachable for .* on http://127\.0\.0\.1:1"):
        register_catalogue("http://127.0.0.1:1", catalogue, [topic])
