"""Alert governance: the agreement a rule names decides each recipient, and the audit says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro

from hub.agreements.loader import load_agreements
from hub.agreements.models import Agreement, Status
from hub.agreements.watch import AgreementFiles
from hub.analytics.alerts import AlertGovernor, alert_record, audit_record
from hub.analytics.linkage import Match
from hub.analytics.observations import Observation
from hub.analytics.rules import load_rules
from hub.policy.engine import PolicyEngine
from hub.privacy.keys import PseudonymKey
from hub.privacy.transform import Transformer
from tests.analytics.builders import ROOT, event_type

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AGREEMENTS = load_agreements(ROOT / "partnership" / "agreements")
RULES = {r.id: r for r in load_rules(ROOT / "partnership" / "alerts")}
ALERT = event_type("linkage-alert")


def obs(
    event_id: str, partner: str, day: int, borough: str = "LIVERPOOL", **kw: Any
) -> Observation:
    return Observation(
        event_id=event_id,
        event_type=kw.pop("event_type", "safeguarding-concern"),
        partner=partner,
        occurred_ms=int(datetime(2026, 11, day, tzinfo=UTC).timestamp() * 1000),
        role="person",
        tokens=("tok.analytics.k1.x",),
        child=True,
        borough=borough,
        subjects=("tok.audit.k1.y",),
        **kw,
    )


def match(
    borough: str = "LIVERPOOL", partners: tuple[str, str] = ("merseyside-police", "liverpool-cc")
) -> Match:
    events = (
        obs(
            "6a3f1f7e-0000-4000-8000-000000000001",
            partners[0],
            1,
            borough,
            event_type="missing-episode",
        ),
        obs("6a3f1f7e-0000-4000-8000-000000000002", partners[1], 3, borough),
    )
    return Match(RULES["missing-child-exploitation"], events, events[1])


def decide(m: Match, agreements: list[Agreement] = AGREEMENTS) -> dict[str, Any]:
    gov = AlertGovernor(agreements, ALERT)
    return {d.decision.recipient: d for d in gov.decide(m, alert_record(m, NOW), NOW)}


def test_alert_is_schema_valid_and_names_no_one() -> None:
    record = alert_record(match(), NOW)
    assert fastavro.validation.validate(record, ALERT.parsed, raise_errors=True)
    assert record["subject_kind"] == "CHILD" and record["borough"] == "LIVERPOOL"
    assert "tok." not in repr(record)
    assert [c["partner_id"] for c in record["contributing"]] == [
        "merseyside-police",
        "liverpool-cc",
    ]


def test_liverpool_mash_gets_a_liverpool_alert_knowsley_does_not() -> None:
    d = decide(match())
    assert d["liverpool-mash"].decision.shared
    assert d["liverpool-mash"].decision.agreement_id == "linkage-alerts-liverpool-mash"
    assert not d["knowsley-mash"].decision.shared
    assert (
        "condition of linkage-alerts-knowsley-mash@v1 is false"
        in d["knowsley-mash"].decision.reason
    )


def test_sefton_alert_goes_nowhere_but_is_decided() -> None:
    d = decide(match("SEFTON"))
    assert not any(x.decision.shared for x in d.values())


def test_partner_not_party_to_the_agreement_withholds() -> None:
    d = decide(match(partners=("merseyside-police", "probation-nw")))
    assert "does not name probation-nw among its controllers" in d["liverpool-mash"].decision.reason


def test_suspended_agreement_withholds() -> None:
    suspended = [
        a.model_copy(update={"status": Status.SUSPENDED})
        if a.id == "linkage-alerts-liverpool-mash"
        else a
        for a in AGREEMENTS
    ]
    d = decide(match(), suspended)
    assert not d["liverpool-mash"].decision.shared
    assert "suspended" in d["liverpool-mash"].decision.reason


def test_before_the_agreement_is_in_force_withholds() -> None:
    m = match()
    early = datetime(2026, 1, 5, tzinfo=UTC)
    gov = AlertGovernor(AGREEMENTS, ALERT)
    (liverpool,) = [
        d
        for d in gov.decide(m, alert_record(m, early), early)
        if d.decision.recipient == "liverpool-mash"
    ]
    assert not liverpool.decision.shared and "not in force" in liverpool.decision.reason


def test_audit_record_is_a_disclosure_record() -> None:
    m = match()
    d = decide(m)["liverpool-mash"]
    row = audit_record(d, m, NOW, instance="t", source=("partner.x", 0, 7), output_topic="share.t")
    assert row.event_id == m.alert_id and row.event_type == "linkage-alert"
    assert row.outcome == "shared" and row.disclosure_id == d.decision.disclosure_id
    assert row.legal_basis and "6(1)(e)" in row.legal_basis
    assert "Children Act 2004 s11" in row.gateways
    assert row.fields["contributing"]["clause"] == "contributing"
    assert row.subjects == ("tok.audit.k1.y",)
    assert any(m.alert_id != e for e in row.notes)
    withheld = audit_record(
        decide(m)["knowsley-mash"],
        m,
        NOW,
        instance="t",
        source=("partner.x", 0, 7),
        output_topic="share.t",
    )
    assert withheld.disclosure_id is None and withheld.output_topic is None


def test_transform_keeps_the_alert_whole_for_the_mash() -> None:
    m = match()
    d = decide(m)["liverpool-mash"].decision
    assert d.plan is not None
    out = Transformer(_Keys()).apply(d.plan, alert_record(m, NOW), ALERT)
    assert out["rule"] == {"name": "missing-child-exploitation", "version": 1}
    assert len(out["contributing"]) == 2


class _Keys:
    def current(self, domain: str) -> PseudonymKey:
        return PseudonymKey(domain, "k1", b"z" * 32)


def test_alert_schema_follows_the_catalogue_conventions() -> None:
    """As tests/catalogue holds every partner event type to: documented, explicitly tagged,
    untagged strings only for codes, dates of personal events quasi-identifying."""
    for f in ALERT.walk():
        assert f.doc.strip(), f.path
        inner = f.avro_type
        if inner == "string" and not f.tags and not f.path.startswith("envelope."):
            assert f.name in {"event_type", "partner_id", "name"}, f.path
        logical = inner.get("logicalType") if isinstance(inner, dict) else None
        if logical == "timestamp-millis" and not f.path.startswith("envelope."):
            assert "pii.quasi" in f.tags, f.path
    assert ALERT.paths_with_tag("event-time") == ["envelope.occurred_at"]
    assert not [f.path for f in ALERT.walk() if f.tags & {"person", "related-person", "pii.direct"}]


def test_alerts_and_events_are_governed_by_the_same_engine_rule() -> None:
    """Issue 16 item 4: an approved v2 of an alert agreement that awaits a sign-off does not
    displace v1 for alerts, exactly as for partner events: the governor asks the engine."""
    v1 = next(a for a in AGREEMENTS if a.id == "linkage-alerts-liverpool-mash")
    unsigned = v1.approval.model_copy(update={"sign_off": v1.approval.sign_off[:1]})
    v2 = v1.model_copy(update={"version": 2, "approval": unsigned})
    agreements = [*AGREEMENTS, v2]
    assert PolicyEngine(agreements).governing(v1.id, NOW) == v1
    d = decide(match(), agreements)["liverpool-mash"].decision
    assert d.shared and d.agreement_version == 1 and d.provider == "hub-analytics"
    # Fully signed, v2 takes over for alerts too.
    signed = [*AGREEMENTS, v1.model_copy(update={"version": 2})]
    assert decide(match(), signed)["liverpool-mash"].decision.agreement_version == 2


def test_alert_agreements_name_the_hub_as_their_only_provider() -> None:
    alert_agreements = [a for a in AGREEMENTS if "linkage-alert" in a.event_types]
    assert alert_agreements and all(a.providers == ("hub-analytics",) for a in alert_agreements)


def test_the_governor_has_no_copy_of_the_engine_rules() -> None:
    """No version choice, in-force test, condition or plan of its own: those are the
    engine's (PolicyEngine.governing / considered / check)."""
    import inspect

    import hub.analytics.alerts as alerts

    source = inspect.getsource(alerts)
    for copied in ("not_in_force_reason", "compile_condition", "derive_facts", "Status.DRAFT"):
        assert copied not in source, copied


def test_a_suspension_reaches_a_running_governor(tmp_path: Path) -> None:
    """The worker's governor follows the agreement files, as the processor does: a
    suspension written by the console withholds alerts within the reload interval, not at
    the worker's next restart; a file that does not load keeps the rules in force."""
    import shutil

    folder = tmp_path / "agreements"
    shutil.copytree(ROOT / "partnership" / "agreements", folder)
    clock = [0.0]
    gov = AlertGovernor(AgreementFiles(folder, interval=2.0, clock=lambda: clock[0]), ALERT)
    assert decide_with(gov)["liverpool-mash"].decision.shared
    v1 = (folder / "linkage-alerts-liverpool-mash" / "v1.yaml").read_text()
    (folder / "linkage-alerts-liverpool-mash" / "v2.yaml").write_text(
        v1.replace("version: 1", "version: 2\nsupersedes: 1").replace(
            "status: approved", "status: suspended"
        )
    )
    clock[0] = 1.0  # within the interval: not looked at yet
    assert decide_with(gov)["liverpool-mash"].decision.shared
    clock[0] = 3.0
    d = decide_with(gov)["liverpool-mash"].decision
    assert not d.shared and "linkage-alerts-liverpool-mash@v2 is suspended" in d.reason
    (folder / "linkage-alerts-liverpool-mash" / "v3.yaml").write_text("id: [broken")
    clock[0] = 6.0
    assert "suspended" in decide_with(gov)["liverpool-mash"].decision.reason


def decide_with(gov: AlertGovernor) -> dict[str, Any]:
    m = match()
    return {d.decision.recipient: d for d in gov.decide(m, alert_record(m, NOW), NOW)}
