"""The what-if compares recorded decisions with a draft's, per recipient and field; the page
says plainly when no broker is configured. Events come from a stub source here (the broker
reader is exercised by the browser test on the real broker)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from connectors.synthetic.police import PoliceFeed
from hub.agreements import load_agreements
from hub.audit.queries import events_decided, newest_decision_day
from hub.audit.records import AuditRecord
from hub.catalogue import EventType
from hub.console.whatif import RecordedEvent, run_whatif
from hub.policy.engine import PolicyEngine
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
                AuditRecord.of_decision(
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
    assert "cannot be read back here" in page
    stub = record_baseline(console, concern_type, 60)
    console.app_state.config.event_source = stub
    page = client.get("/whatif?agreement=police-msn@v2&from=2026-11-02&to=2026-11-02").text
    assert "cannot be read back here" not in page
    assert "would share differently" in page and "borough" in page
    # Per recipient: what would newly be shared, with examples to open and reasons in words.
    assert "Merseyside Modern Slavery Network: would newly be shared" in page
    assert page.count('href="/decisions/') >= 1
    assert "not shared: “Merseyside Police to Modern Slavery Network" in page
    assert "event.concern_category" not in page.split("<details")[0]
    assert (
        client.get("/whatif?agreement=police-msn@v1&from=2026-11-02&to=2026-11-02").text.count(
            "is not a draft version"
        )
        == 1
    )


def test_period_is_by_event_time_with_a_default_and_clear_empty_state(
    console: Console, concern_type: EventType
) -> None:
    """Events published (and decided) a month after they happened are found by when they
    happened; an empty period says so, and where the events are."""
    stub = record_baseline(console, concern_type, 40)
    late = datetime(2026, 12, 1, 9, tzinfo=UTC)  # the broker's timestamp: a backfill
    stub.events = [dataclasses.replace(e, timestamp=late) for e in stub.events]
    console.app_state.config.event_source = stub
    write_draft(console.settings.partnership_dir)
    client = login(console.client(), "officer")
    happened = {e.occurred.date() for e in stub.events}
    assert happened and max(happened) < late.date()
    day = min(happened).isoformat()
    page = client.get(f"/whatif?agreement=police-msn@v2&from={day}&to={day}").text
    assert "would share differently" in page
    # Nothing happened in October: not a green "exactly as recorded", but where to look.
    page = client.get("/whatif?agreement=police-msn@v2&from=2026-10-01&to=2026-10-05").text
    assert "No events happened in this period" in page
    assert "would share exactly as recorded" not in page
    assert f"from={day}" in page and "replay that period" in page
    # No dates: the 30 days up to the newest decision on these events.
    page = client.get("/whatif?agreement=police-msn@v2").text
    with console.app_state.store.engine.connect() as conn:
        newest = newest_decision_day(conn, ["merseyside-police"], ["safeguarding-concern"])
    assert newest is not None and newest >= DECIDED.date()
    assert f'value="{newest.isoformat()}"' in page
    assert f'value="{(newest - timedelta(days=29)).isoformat()}"' in page
    assert "would share differently" in page


class Slow(Stub):
    def __init__(self, events: list[RecordedEvent], gate: threading.Event) -> None:
        super().__init__(events)
        self.gate = gate

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        for i, e in enumerate(self.events[:limit]):
            if i == 250:
                self.gate.wait(30)  # the test lets the rest through once it saw progress
            yield e


def _replay(
    console: Console, concern_type: EventType, source: Callable[..., Slow]
) -> tuple[str, str]:
    """The what-if page of a 300-event replay from ``source`` (held at event 250): as it
    first shows, while running, and once the replay is let through and has finished."""
    stub = record_baseline(console, concern_type, 300)
    gate = threading.Event()
    console.app_state.config.event_source = source(stub.events, gate)
    write_draft(console.settings.partnership_dir)
    client = login(console.client(), "officer")
    url = "/whatif?agreement=police-msn@v2&from=2026-11-01&to=2026-11-30"
    running = page = client.get(url).text
    gate.set()
    for _ in range(50):
        page = client.get(url).text
        if "read so far" not in page:
            break
        time.sleep(0.1)
    return running, page


def test_a_long_replay_shows_progress_then_the_result(
    console: Console, concern_type: EventType
) -> None:
    running, page = _replay(console, concern_type, Slow)
    assert "200 events read so far" in running and 'http-equiv="refresh"' in running
    assert "would share differently" in page and 'http-equiv="refresh"' not in page


def test_a_replay_stopped_at_the_cap_says_so_even_when_most_events_were_outside(
    console: Console, concern_type: EventType
) -> None:
    stub = record_baseline(console, concern_type, 30)
    ref = write_draft(console.settings.partnership_dir)
    agreements = load_agreements(console.settings.partnership_dir / "agreements")
    draft = next(a for a in agreements if a.ref == ref)
    # Older events published first: the reader's cap is reached before the period's.
    old = [
        dataclasses.replace(e, event={**e.event, "envelope": {**e.event["envelope"],
                            "occurred_at": datetime(2025, 1, 1, tzinfo=UTC)}})
        for e in stub.events[:20]
    ]  # fmt: skip
    stub.events = old + stub.events
    day = date(2026, 11, 2)
    with console.app_state.store.engine.connect() as conn:
        result = run_whatif(
            draft, agreements, stub, lambda ids: events_decided(conn, ids), day, day, limit=25
        )
    assert result.outside == 20 and result.events_read == 6
    assert result.truncated  # 26 read, the cap was 25: not a complete replay


class Measured(Slow):
    """A source that knows its size (as the broker reader does from end offsets)."""

    def __init__(self, events: list[RecordedEvent], gate: threading.Event) -> None:
        super().__init__(events, gate)
        self.done = 0

    def position(self) -> tuple[int, int | None]:
        return self.done, 2 * len(self.events)  # offsets: twice as many as events decoded

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        for e in super().read(topics, since, until, limit):
            self.done += 2
            yield e


def test_progress_is_a_percentage_of_the_recorded_events_when_the_total_is_known(
    console: Console, concern_type: EventType
) -> None:
    running, page = _replay(console, concern_type, Measured)
    # 200 of 300 events read: 400 of 600 offsets, 67%; the bar says so too.
    assert "200 events read so far, 67% of the recorded events" in running
    assert '<progress aria-label="recorded events read" max="100" value="66.7">' in running
    assert "would share differently" in page
