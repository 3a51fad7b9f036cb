"""The what-if compares recorded decisions with a draft's, per recipient and field; the page
says plainly when no broker is configured. Events come from a stub source here (the broker
reader is exercised by the browser test on the real broker)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime

from connectors.synthetic.police import PoliceFeed
from hub.agreements import load_agreements
from hub.audit.queries import events_decided
from hub.catalogue import EventType
from hub.console.whatif import RecordedEvent, run_whatif
from hub.policy.engine import PolicyEngine
from hub.processor.audit import audit_record
from tests.console.conftest import Console, login, write_draft

DECIDED = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class Stub:
    def __init__(self, events: list[RecordedEvent]) -> None:
        self.events = events
        self.asked: list[tuple[Sequence[str], datetime, datetime]] = []

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        self.asked.append((topics, since, until))
        return iter(self.events[:limit])


def record_baseline(console: Console, concern_type: EventType, n: int = 120) -> Stub:
    """Decide a feed under the agreements in force and store the decisions, as the processor
    would have (fields as the processor records them)."""
    events = PoliceFeed(seed=5).events(n)
    engine = PolicyEngine(load_agreements(console.settings.partnership_dir / "agreements"))
    records = []
    for e in events:
        for d in engine.decide(e, concern_type, "merseyside-police", DECIDED):
            records.append(
                audit_record(
                    d,
                    legal_basis=None,
                    gateways=(),
                    decided_at=DECIDED.isoformat(),
                    instance="p0",
                    source=("partner.merseyside-police.safeguarding-concern.v1", 0, 0),
                    fields=d.plan.audit_fields() if d.plan is not None else None,
                )
            )
    console.app_state.store.write_decisions(records)
    return Stub([RecordedEvent("merseyside-police", concern_type, e, DECIDED) for e in events])


def test_draft_difference_per_recipient_and_field(
    console: Console, concern_type: EventType
) -> None:
    stub = record_baseline(console, concern_type)
    ref = write_draft(console.settings.partnership_dir)
    agreements = load_agreements(console.settings.partnership_dir / "agreements")
    draft = next(a for a in agreements if a.ref == ref)
    day = date(2026, 11, 2)
    with console.app_state.store.engine.connect() as conn:
        result = run_whatif(
            draft, agreements, stub, lambda ids: events_decided(conn, ids), day, day
        )
    [(topics, since, until)] = stub.asked
    assert topics == ["partner.merseyside-police.safeguarding-concern.v1"]
    assert (since.isoformat(), until.isoformat()) == (
        "2026-11-02T00:00:00+00:00",
        "2026-11-03T00:00:00+00:00",
    )
    assert result.compared == result.events_read == 120
    msn = result.recipients["modern-slavery-network"]
    abuse = sum(1 for e in stub.events if e.event["concern_category"] == "DOMESTIC_ABUSE")
    assert abuse and msn.added == abuse and msn.removed == 0
    assert msn.after == msn.before + abuse
    assert msn.fields_removed == {"borough"} and not msn.fields_added
    # Tokens and generalised fields are compared by output name: no false "treatment changed".
    assert not msn.fields_changed
    assert set(result.recipients) == {"modern-slavery-network"}  # only the draft's recipients
    kinds = {e.change for e in result.examples}
    assert kinds == {"added", "fields"}
    assert all(e.decision_id for e in result.examples)


def test_whatif_page(console: Console, concern_type: EventType) -> None:
    client = login(console.client(), "officer")
    write_draft(console.settings.partnership_dir)
    page = client.get("/whatif?agreement=police-msn@v2&from=2026-11-02&to=2026-11-02").text
    assert "No broker is configured" in page
    stub = record_baseline(console, concern_type, 60)
    console.app_state.config.event_source = stub
    page = client.get("/whatif?agreement=police-msn@v2&from=2026-11-02&to=2026-11-02").text
    assert "No broker is configured" not in page
    assert "would share differently" in page and "borough" in page
    assert (
        client.get("/whatif?agreement=police-msn@v1&from=2026-11-02&to=2026-11-02").text.count(
            "is not a draft version"
        )
        == 1
    )
