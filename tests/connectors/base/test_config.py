"""Connector configuration: typed, secrets only through environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.base.config import ConnectorConfig, load_config, parse_config
from connectors.base.errors import ConnectorConfigError
from connectors.base.runtime import check

EXAMPLES = Path(__file__).resolve().parents[3] / "connectors" / "examples"


def sink(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "mash-db",
        "recipient": "liverpool-mash",
        "state_dir": "state",
        "sink": {"type": "sql-upsert", "url_env": "MASH_DB_URL", "table": "mash_referrals"},
    }
    return base | over


def test_every_example_loads() -> None:
    found = sorted(EXAMPLES.glob("*.yaml"))
    assert len(found) >= 5
    for path in found:
        config = load_config(path)
        assert isinstance(config, ConnectorConfig), path


@pytest.mark.parametrize(
    "bad",
    [
        {"sink": {"type": "http-push", "url": "https://x", "token": "s3cret"}},
        {"sink": {"type": "sql-upsert", "url": "postgresql://u:pw@db/x", "table": "msn_cases"}},
        {"password": "hunter2"},
    ],
)
def test_literal_secrets_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        parse_config(sink(**bad))
    for secret in ("s3cret", "hunter2", ":pw@"):
        assert secret not in str(info.value)


def test_shape_errors_are_clear() -> None:
    with pytest.raises(ConnectorConfigError, match="exactly one of 'source' or 'sink'"):
        parse_config({"name": "x", "state_dir": "s"})
    with pytest.raises(ConnectorConfigError, match=r"carrier-pigeon.*does not match"):
        parse_config(sink(sink={"type": "carrier-pigeon"}))
    with pytest.raises(ConnectorConfigError, match="a sink needs 'recipient'"):
        parse_config(sink(recipient=None))


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "c.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(sink()))
    assert load_config(path).state_dir == tmp_path / "conf" / "state"


def test_env_supplies_secrets_and_endpoints(tmp_path: Path) -> None:
    config = parse_config(sink(), tmp_path)
    env = {"HUB_BOOTSTRAP_SERVERS": "k:9092", "HUB_SCHEMA_REGISTRY_URL": "http://r"}
    assert config.bootstrap(env) == "k:9092" and config.registry_url(env) == "http://r"
    report = check(config, env)
    assert report.problems == ["environment variable MASH_DB_URL is not set"]
    assert check(config, env | {"MASH_DB_URL": "sqlite://"}).ok
    with pytest.raises(ConnectorConfigError, match="HUB_BOOTSTRAP_SERVERS"):
        config.bootstrap({})


def test_check_maps_a_sample_export(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "police-concerns-csv.yaml")
    sample = tmp_path / "concerns-2026-11-02.csv"
    header = "Incident Ref,Occurred,Forename,Surname,Aliases,DOB,Sex,NHS No,PNC ID,Address,"
    header += "Postcode,Subject Type,Category,Risk,Borough,Narrative"
    good = "MP-1,02/11/2026 10:00,Ava,Quillfeather,,03/04/2012,F,,,1 Fictional Road,L8 1AZ,"
    good += "Child,NEGLECT,H,Liverpool,Seen"
    sample.write_text("\n".join([header, good, good.replace("NEGLECT", "BAD"), "MP-3,x"]) + "\n")
    report = check(config, {"HUB_SIGNING_KEY": ""}, sample=sample)
    assert report.problems == ["environment variable HUB_SIGNING_KEY is not set"]
    report = check(config.model_copy(update={"signing": None}), {}, sample=sample)
    assert report.rows_ok == 1
    assert [(r["row"], r["code"]) for r in report.rows_rejected] == [
        (2, "wrong-type"),
        (3, "malformed"),
    ]


def test_type_is_the_old_name_of_kind() -> None:
    """Files written before the rename keep loading; both names at once are refused."""
    old = parse_config(sink())
    assert old.sink is not None and old.sink.kind == "sql-upsert"
    new = sink(sink={"kind": "sql-upsert", "url_env": "MASH_DB_URL", "table": "mash_referrals"})
    assert parse_config(new) == old
    both = sink(sink={"kind": "sql-upsert", "type": "sql-upsert", "table": "msn_cases"})
    with pytest.raises(ConnectorConfigError, match="give 'kind' only"):
        parse_config(both)


def test_every_example_uses_kind() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        block = data.get("source") or data.get("sink")
        assert "kind" in block and "type" not in block, path
