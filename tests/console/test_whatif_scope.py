"""The what-if at scale (issue 17): it decides only the draft's recipients, and looks the
audit up a chunk ahead on a thread. Both must change nothing in what it reports.

- An engine of the agreements naming the draft's recipients (``naming``) decides those
  recipients exactly as an engine of every agreement: for every reference agreement drafted
  as a next version, on generated events at generated moments.
- ``run_whatif`` gives the figures a plain per-event comparison through engines of every
  agreement gives (the specification, written out here), against both baselines.
- A look-up that fails ends the what-if with its error; look-ups run one at a time, in
  order (the caller's connection is never used by two threads at once).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.synthetic.police import PoliceFeed
from connectors.synthetic.samples import SampleGenerator
from hub.agreements import Agreement, load_agreements
from hub.agreements.models import Status
from hub.audit.queries import events_decided
from hub.audit.records import AuditRecord
from hub.audit.store import AuditStore
from hub.catalogue import EventType, load_catalogue
from hub.console import whatif
from hub.console.whatif import RecordedEvent, as_in_force, naming, run_whatif
from hub.policy import PolicyEngine

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = load_agreements(ROOT / "partnership" / "agreements")
CATALOGUE = load_catalogue(ROOT / "schemas" / "avro")
DRAFTS = sorted({a.id for a in AGREEMENTS})
PROVIDER = "merseyside-police"


def drafted(agreement_id: str, **changes: Any) -> Agreement:
    newest = max((a for a in AGREEMENTS if a.id == agreement_id), key=lambda a: a.version)
    return newest.model_copy(
        update={"version": newest.version + 1, "status": Status.DRAFT, **changes}
    )


def concern_type() -> EventType:
    et = CATALOGUE.get("safeguarding-concern")
    assert et is not None
    return et


@pytest.mark.parametrize("agreement_id", DRAFTS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    now=st.datetimes(datetime(2024, 6, 1), datetime(2029, 6, 1), timezones=st.just(UTC)),
)
def test_an_engine_of_the_agreements_naming_the_recipients_decides_them_as_all_do(
    agreement_id: str, seed: int, now: datetime
) -> None:
    draft = as_in_force(drafted(agreement_id))
    others = [a for a in AGREEMENTS if a.id != draft.id]
    full = PolicyEngine([*others, draft])
    scoped = PolicyEngine([*naming(others, draft.recipients), draft])
    plain = PolicyEngine(AGREEMENTS)  # the agreements-on-disk baseline, scoped the same way
    plain_scoped = PolicyEngine(naming(AGREEMENTS, draft.recipients))
    for provider in draft.providers:
        for slug in draft.event_types:
            et = CATALOGUE.get(slug)
            assert et is not None
            for event in SampleGenerator(et, provider, seed=seed).events(3):
                for a, b in ((full, scoped), (plain, plain_scoped)):
                    want = [d for d in a.decide(event, et, provider, now)
                            if d.recipient in draft.recipients]  # fmt: skip
                    got = b.decide(event, et, provider, now)
                    assert got == want
                    assert [d.plan for d in got] == [d.plan for d in want]


class Listed:
    def __init__(self, events: list[RecordedEvent]) -> None:
        self.events = events

    def read(
        self, topics: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Iterator[RecordedEvent]:
        return iter(self.events[:limit])


def recorded_events(n: int) -> list[RecordedEvent]:
    et = concern_type()
    events = PoliceFeed(seed=11, start=datetime(2026, 3, 1, tzinfo=UTC)).events(n)
    return [RecordedEvent(PROVIDER, et, e, e["envelope"]["occurred_at"]) for e in events]


def specification(
    draft: Agreement, events: list[RecordedEvent], when: dict[str, datetime]
) -> dict[str, tuple[int, int, int, int]]:
    """Per draft recipient (before, after, added, removed), engines of every agreement."""
    baseline = PolicyEngine(AGREEMENTS)
    under = PolicyEngine([*(a for a in AGREEMENTS if a.id != draft.id), as_in_force(draft)])
    out: dict[str, list[int]] = {r: [0, 0, 0, 0] for r in draft.recipients}
    for item in events:
        at = when[item.event_type.event_id(item.event)]
        old = {d.recipient: d.shared for d in baseline.decide(item.event, item.event_type,
                                                              PROVIDER, at)}  # fmt: skip
        new = {d.recipient: d.shared for d in under.decide(item.event, item.event_type,
                                                           PROVIDER, at)}  # fmt: skip
        for r, counts in out.items():
            was, now = old.get(r, False), new.get(r, False)
            counts[0] += was
            counts[1] += now
            counts[2] += now and not was
            counts[3] += was and not now
    return {r: (c[0], c[1], c[2], c[3]) for r, c in out.items()}


def figures(result: whatif.WhatIfResult) -> dict[str, tuple[int, int, int, int]]:
    return {r: (d.before, d.after, d.added, d.removed) for r, d in result.recipients.items()}


# A draft that widens the condition, a draft that names a recipient no agreement names yet,
# and one that adds a recipient another agreement already serves.
CHANGES: list[dict[str, Any]] = [
    {"condition": 'event.concern_category in ["CCE", "CSE", "DOMESTIC_ABUSE"]'},
    {"recipients": ("modern-slavery-network", "knowsley-mash")},
]


@pytest.mark.parametrize("changes", CHANGES)
def test_against_the_agreements_the_figures_are_the_specifications(
    changes: dict[str, Any],
) -> None:
    events = recorded_events(300)
    draft = drafted("police-msn", **changes)
    day = date(1970, 1, 1), date(2999, 12, 31)
    result = run_whatif(draft, AGREEMENTS, Listed(events), None, *day)
    when = {e.event_type.event_id(e.event): e.occurred for e in events}
    assert figures(result) == specification(draft, events, when)
    assert result.compared == len(events) and result.not_in_audit == 0
    assert result.changed


def audit_of(store: AuditStore, events: list[RecordedEvent], at: datetime) -> None:
    """The events decided under the agreements on disk at ``at``, as the processor records
    them (fields from the plan)."""
    engine = PolicyEngine(AGREEMENTS)
    rows = []
    for item in events:
        for d in engine.decide(item.event, item.event_type, PROVIDER, at):
            rows.append(
                AuditRecord.of_decision(
                    d, legal_basis=None, gateways=(), decided_at=at.isoformat(),
                    instance="p0", source=("t", 0, 0),
                    fields=d.plan.audit_fields() if d.plan is not None else None,
                )
            )  # fmt: skip
    store.write_decisions(rows)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    yield s
    s.close()


@pytest.mark.parametrize("changes", CHANGES)
def test_against_the_audit_the_figures_are_the_specifications_over_several_chunks(
    store: AuditStore, monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]
) -> None:
    monkeypatch.setattr(whatif, "CHUNK", 64)  # several look-ups ahead, and a partial last
    events = recorded_events(300)
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    audit_of(store, events[:250], at)  # the last 50 were never decided
    draft = drafted("police-msn", **changes)
    with store.engine.connect() as conn:
        result = run_whatif(
            draft, AGREEMENTS, Listed(events), lambda ids: events_decided(conn, ids),
            date(1970, 1, 1), date(2999, 12, 31),
        )  # fmt: skip
    when = {e.event_type.event_id(e.event): at for e in events[:250]}
    assert figures(result) == specification(draft, events[:250], when)
    assert (result.compared, result.not_in_audit, result.events_read) == (250, 50, 300)
    # The recorded decision an example opens in the explorer is the stored one.
    stored = {d["decision_id"] for d in store.all_decisions()}
    assert result.examples and all(e.decision_id in stored for e in result.examples)


def test_a_look_up_that_fails_ends_the_whatif_with_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(whatif, "CHUNK", 10)
    calls: list[int] = []

    def recorded(ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        calls.append(len(ids))
        if len(calls) == 3:
            raise RuntimeError("the audit store went away")
        return {}

    with pytest.raises(RuntimeError, match="went away"):
        run_whatif(
            drafted("police-msn"), AGREEMENTS, Listed(recorded_events(100)), recorded,
            date(1970, 1, 1), date(2999, 12, 31),
        )  # fmt: skip
    assert len(calls) <= 4  # stopped, not read to the end


def test_look_ups_run_one_at_a_time_in_order_off_the_callers_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(whatif, "CHUNK", 10)
    events = recorded_events(95)
    running, most = [0], [0]
    seen: list[str] = []
    threads: set[int] = set()
    lock = threading.Lock()

    def recorded(ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threads.add(threading.get_ident())
        seen.extend(ids)
        threading.Event().wait(0.01)  # long enough for an overlap to show
        with lock:
            running[0] -= 1
        return {}

    result = run_whatif(
        drafted("police-msn"), AGREEMENTS, Listed(events), recorded,
        date(1970, 1, 1), date(2999, 12, 31),
    )  # fmt: skip
    assert most[0] == 1
    assert seen == [e.event_type.event_id(e.event) for e in events]
    assert threading.get_ident() not in threads
    assert result.not_in_audit == 95 and result.events_read == 95


def test_the_audit_look_up_reads_more_ids_than_one_query_holds(store: AuditStore) -> None:
    """More ids than one IN list takes (2,000): every decision found, each event's fields
    parsed, the same fields text parsed once."""
    events = recorded_events(30)
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    audit_of(store, events, at)
    ids = [e.event_type.event_id(e.event) for e in events]
    asked = [f"unknown-{i}" for i in range(2500)] + ids
    with store.engine.connect() as conn:
        found = events_decided(conn, asked)
    assert set(found) == set(ids)
    assert sum(len(v) for v in found.values()) == store.count_decisions()
    shared = [d["fields"] for v in found.values() for d in v if d["outcome"] == "shared"]
    assert shared and all(isinstance(f, dict) and f for f in shared)
    by_text = {repr(sorted(f.items())): f for f in shared}
    assert all(f is by_text[repr(sorted(f.items()))] for f in shared)
    assert {d["decided_at"] for v in found.values() for d in v} == {at.isoformat()}


def test_a_baseline_decided_before_the_draft_is_decided_at_that_time(
    store: AuditStore,
) -> None:
    """The draft decides each event at its recorded decision's time: police-msn v1 ended
    on 2028-12-31, so decisions recorded after it shared nothing; the draft, in force at any
    time, shares again: every exploitation concern is newly shared."""
    events = recorded_events(120)
    at = datetime(2029, 2, 1, tzinfo=UTC)
    audit_of(store, events, at)
    with store.engine.connect() as conn:
        result = run_whatif(
            drafted("police-msn"), AGREEMENTS, Listed(events),
            lambda ids: events_decided(conn, ids), date(1970, 1, 1), date(2999, 12, 31),
        )  # fmt: skip
    msn = result.recipients["modern-slavery-network"]
    assert msn.before == 0 and msn.after == msn.added > 0
    assert msn.after == sum(
        e.event["concern_category"] in ("CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY")
        for e in events
    )


def test_the_collector_is_set_aside_while_it_runs_and_given_back_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gc.freeze while a what-if runs (its full passes walked everything loaded, 10-20% of
    the CPU), gc.unfreeze when it ends, also when it fails."""
    monkeypatch.setattr(whatif, "PROGRESS_EVERY", 10)
    during: list[int] = []

    def progress(_p: whatif.Progress) -> None:
        during.append(gc.get_freeze_count())

    span = date(1970, 1, 1), date(2999, 12, 31)
    draft, events = drafted("police-msn"), recorded_events(40)
    run_whatif(draft, AGREEMENTS, Listed(events), None, *span, progress=progress)
    assert during and min(during) > 0
    assert gc.get_freeze_count() == 0

    def failing(ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        raise RuntimeError("the audit store went away")

    with pytest.raises(RuntimeError):
        run_whatif(draft, AGREEMENTS, Listed(events), failing, *span)
    assert gc.get_freeze_count() == 0


def test_the_examples_do_not_depend_on_the_order_the_events_were_read_in() -> None:
    """The broker's partitions interleave differently from one read to the next: the
    examples are the earliest by event time (then event id), not the first read."""
    events = recorded_events(200)
    span = date(1970, 1, 1), date(2999, 12, 31)
    base = drafted("police-msn")
    draft = drafted(
        "police-msn",
        condition='event.concern_category in ["CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY", '
        '"DOMESTIC_ABUSE"]',
        fields=tuple(f for f in base.fields if f.id != "borough"),
    )
    forward = run_whatif(draft, AGREEMENTS, Listed(events), None, *span)
    backward = run_whatif(draft, AGREEMENTS, Listed(events[::-1]), None, *span)
    assert forward.examples == backward.examples
    assert figures(forward) == figures(backward)
    for change in ("added", "fields"):
        shown = forward.examples_for("modern-slavery-network", change)
        assert len(shown) == whatif.EXAMPLES
        times = [e.occurred for e in shown if e.occurred is not None]
        assert len(times) == len(shown) and times == sorted(times)
    first_added = min(
        e.occurred
        for e in events
        if e.event["concern_category"] == "DOMESTIC_ABUSE"  # what the draft newly shares
    )
    assert forward.examples_for("modern-slavery-network", "added")[0].occurred == first_added
