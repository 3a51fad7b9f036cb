"""Alert rules load, validate, and lint like agreements; the shipped ones are clean."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hub.agreements.loader import load_agreements
from hub.agreements.partnership import load_partnership
from hub.analytics.lint import lint_rules
from hub.analytics.rules import AlertRule, load_rules, rule_schema
from hub.errors import ConfigError
from tests.analytics.builders import ROOT, catalogue

ALERTS = ROOT / "partnership" / "alerts"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def lint(rules: list[AlertRule]) -> list[str]:
    return [
        f.code
        for f in lint_rules(
            rules,
            catalogue(),
            load_partnership(ROOT / "partnership"),
            load_agreements(ROOT / "partnership" / "agreements"),
            NOW,
        )
    ]


def test_shipped_rules_load_and_lint_clean() -> None:
    rules = load_rules(ALERTS)
    assert {r.id for r in rules} == {
        "missing-child-exploitation",
        "repeated-concerns-multi-agency",
        "iom-nominal-domestic-abuse",
    }
    assert lint(rules) == []


def test_schema_file_is_current() -> None:
    assert json.loads((ALERTS / "alert.schema.json").read_text()) == rule_schema()


def rule(**changes: object) -> AlertRule:
    data = yaml.safe_load((ALERTS / "missing-child-exploitation.yaml").read_text())
    data.update(changes)
    return AlertRule.model_validate(data)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"steps": [{"event_type": "no-such-type"}]}, "unknown-event-type"),
        (
            {"steps": [{"event_type": "missing-episode", "where": {"colour": ["RED"]}}]},
            "unknown-field",
        ),
        ({"steps": [{"event_type": "missing-episode", "role": "related-person"}]}, "no-person"),
        (
            {"notify": [{"recipient": "nobody", "agreement": "linkage-alerts-liverpool-mash"}]},
            "unknown-recipient",
        ),
        (
            {"notify": [{"recipient": "liverpool-mash", "agreement": "no-such-agreement"}]},
            "unknown-agreement",
        ),
        # An agreement for partner events, not alerts: it must not be usable for alerts.
        (
            {"notify": [{"recipient": "liverpool-mash", "agreement": "police-liverpool-mash"}]},
            "agreement-does-not-cover",
        ),
    ],
)
def test_lint_catches(changes: dict[str, object], code: str) -> None:
    assert code in lint([rule(**changes)])


def test_lint_flags_an_alert_agreement_with_providers() -> None:
    codes = lint(
        [rule(notify=[{"recipient": "liverpool-mash", "agreement": "police-liverpool-mash"}])]
    )
    assert "alert-agreement-has-providers" in codes


def test_invalid_rule_file_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: bad\nversion: 0\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid alert rule: version"):
        load_rules(tmp_path)


def test_file_name_must_match_the_id(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text((ALERTS / "missing-child-exploitation.yaml").read_text())
    with pytest.raises(ConfigError, match=r"must live in missing-child-exploitation\.yaml"):
        load_rules(tmp_path)


def test_drafts_do_not_run(tmp_path: Path) -> None:
    text = (ALERTS / "missing-child-exploitation.yaml").read_text()
    (tmp_path / "missing-child-exploitation.yaml").write_text(text + "status: draft\n")
    assert load_rules(tmp_path) == []
    assert len(load_rules(tmp_path, active_only=False)) == 1


def test_min_events_below_steps_is_refused() -> None:
    with pytest.raises(ValueError, match="min_events"):
        rule(min_events=1)


def test_faust_credentials_follow_the_kafka_settings(tmp_path: Path) -> None:
    from hub.analytics.app import credentials
    from hub.config import Settings
    from tests.kafka.sasl import scram_security

    assert credentials(Settings(data_dir=tmp_path)) is None
    kafka = scram_security(tmp_path, "hub-analytics", "s3cret")
    creds = credentials(Settings(data_dir=tmp_path, kafka=kafka))
    assert creds.username == "hub-analytics" and creds.password == "s3cret"
    assert "s3cret" not in repr(creds)
