"""Compiled stream plans and field programs against the pure engine and the transformer.

``PolicyEngine.decide`` and ``Transformer.apply_with_notes`` are the specification; the
processor decides through ``hub.policy.compiled`` and transforms through
``hub.privacy.program``. For every reference agreement and every stream it covers,
generated events (the schema-driven sample generator, seeded by hypothesis, with subjects
of every age) at generated moments (before, during and after agreements are in force) must
give the same decisions, the same ids and the same output records or the same error.
"""

from __future__ import annotations

import base64
import copy
import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from connectors.synthetic.samples import SampleGenerator
from hub.agreements import Agreement, load_agreements
from hub.catalogue import EventType, load_catalogue
from hub.catalogue.json_codec import event_from_json
from hub.policy import PolicyEngine
from hub.policy.compiled import CompiledStreams, decide
from hub.policy.decision import content_key
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.program import FieldProgram, apply_with_notes
from hub.privacy.transform import Transformed, TransformError
from tests.privacy.strategies import people

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = load_agreements(ROOT / "partnership" / "agreements")
CATALOGUE = load_catalogue(ROOT / "schemas" / "avro")
CASES = Path(__file__).parent / "cases"
STREAMS = sorted(
    {(p, t, a.id) for a in AGREEMENTS for p in a.providers for t in a.event_types},
)
# One of each per test session: stream plans are recompiled as the drawn moments move
# across days and signatures, which is part of what is tested.
SPEC = PolicyEngine(AGREEMENTS)
COMPILED = CompiledStreams(PolicyEngine(AGREEMENTS))

# Fixed keys per domain, as in tests/conftest.py; module-wide, as hypothesis reruns a test
# body many times within one fixture.
KEYS = LocalKeyProvider(
    Path(tempfile.mkdtemp(prefix="hub-compiled-keys-")),
    {
        d: SecretStr(base64.b64encode(bytes([i]) * 32).decode())
        for i, d in enumerate(["msn", "mash", "research"], 1)
    },
)
TRANSFORMER = Transformer(KEYS)

moments = st.datetimes(
    min_value=datetime(2024, 6, 1), max_value=datetime(2028, 6, 1), timezones=st.just(UTC)
)


def _transform(t: Transformer, plan: Any, event: Any, et: EventType, compiled: bool) -> Any:
    try:
        if compiled:
            return apply_with_notes(t, plan, event, et)
        return t.apply_with_notes(plan, event, et)
    except TransformError as exc:
        return ("error", str(exc))


def _same(event: dict[str, Any], et: EventType, provider: str, now: datetime, t: Any) -> int:
    want = SPEC.decide(event, et, provider, now)
    got = COMPILED.decide(event, et, provider, now)
    assert got == want
    content = content_key("d" * 64, 1)
    assert [d.with_content(content).decision_id for d in got] == [
        d.with_content(content).decision_id for d in want
    ]
    assert [d.with_content(content).disclosure_id for d in got] == [
        d.with_content(content).disclosure_id for d in want
    ]
    shared = 0
    for d in want:
        if d.shared:
            assert d.plan is not None
            spec = _transform(t, d.plan, event, et, compiled=False)
            assert _transform(t, d.plan, event, et, compiled=True) == spec
            shared += isinstance(spec, Transformed)
    return shared


def _subject_aged(event: dict[str, Any], et: EventType, age_days: int, now: datetime) -> None:
    """Put the subject's date of birth ``age_days`` before the event, for age conditions."""
    persons = et.person_records()
    when = next((event.get(p) for p in et.paths_with_tag("event-time") if "." not in p), None)
    if not persons or not isinstance(when, datetime):
        return
    subject = event.get(persons[0].name)
    for child in persons[0].children if isinstance(subject, dict) else ():
        if "dob" in child.tags:
            subject[child.name] = when.date() - timedelta(days=age_days)


@pytest.mark.parametrize(("provider", "slug", "agreement_id"), STREAMS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    now=moments,
    age_days=st.integers(0, 30 * 365),
    start=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
)
def test_compiled_decides_and_transforms_as_the_engine(
    provider: str,
    slug: str,
    agreement_id: str,
    seed: int,
    now: datetime,
    age_days: int,
    start: date,
) -> None:
    et = CATALOGUE.get(slug)
    assert et is not None, f"{agreement_id} names unknown event type {slug}"
    gen = SampleGenerator(
        et, provider, seed=seed, start=datetime(start.year, start.month, start.day, tzinfo=UTC)
    )
    t = TRANSFORMER
    for event in gen.events(3):
        _subject_aged(event, et, age_days, now)
        _same(event, et, provider, now, t)
        # The event at its own time too: most agreements are in force then.
        when = next((v for v in event.values() if isinstance(v, datetime)), now)
        _same(event, et, provider, when, t)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=people(), now=moments, seed=st.integers(0, 2**16))
def test_compiled_on_generated_people(subject: dict[str, Any], now: datetime, seed: int) -> None:
    """Concerns about the people the privacy strategies draw (noisy names, NHS numbers,
    PNC ids, postcodes), through every agreement on police safeguarding concerns."""
    et = CATALOGUE.get("safeguarding-concern")
    assert et is not None
    event = SampleGenerator(et, "merseyside-police", seed=seed).next_event()
    person = et.person_records()[0].name
    event[person] = {**(event.get(person) or {}), **subject}
    _same(event, et, "merseyside-police", now, TRANSFORMER)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_cases_through_the_compiled_path(case: str, keys: LocalKeyProvider) -> None:
    """The golden cases' own agreements (drafts, expired, conditions that do not compile or
    fail at run time) decide the same through a compiled stream."""
    folder = CASES / case
    expected = json.loads((folder / "expected.json").read_text())
    agreements = [
        Agreement.model_validate(doc)
        for doc in yaml.safe_load_all((folder / "agreement.yaml").read_text())
    ]
    et = CATALOGUE.get("safeguarding-concern")
    assert et is not None
    event = event_from_json(et, json.loads((folder / "event.json").read_text()))
    now = datetime.fromisoformat(expected["now"])
    want = PolicyEngine(agreements).decide(event, et, expected["provider"], now)
    got = decide(PolicyEngine(agreements), event, et, expected["provider"], now)
    assert got == want
    t = Transformer(keys)
    for d in want:
        if d.shared:
            assert d.plan is not None
            assert FieldProgram(d.plan, t).run(event, et) == t.apply_with_notes(d.plan, event, et)


def test_every_reference_stream_shares_something() -> None:
    """The property test is not vacuous: generated events are shared on most streams."""
    reached = set()
    for provider, slug, agreement_id in STREAMS:
        et = CATALOGUE.get(slug)
        assert et is not None
        for event in SampleGenerator(et, provider, seed=1).events(40):
            when = next((v for v in event.values() if isinstance(v, datetime)), None)
            for d in SPEC.decide(event, et, provider, when or datetime.now(UTC)):
                if d.shared and d.agreement_id == agreement_id:
                    reached.add(agreement_id)
    assert len(reached) >= len({s[2] for s in STREAMS}) // 2, sorted(reached)


def test_stream_plans_are_kept_per_rules_and_event_type_object() -> None:
    """Interleaved days (a what-if over a year) and two writer schemas of one stream (each
    with its own event type object) reuse their plans instead of recompiling each turn;
    a plan is never reused across days, whose rules may differ."""
    et = CATALOGUE.get("safeguarding-concern")
    assert et is not None
    other = copy.deepcopy(et)
    streams = CompiledStreams(PolicyEngine(AGREEMENTS))
    day1, day2 = datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2027, 3, 1, 12, tzinfo=UTC)
    first = streams.stream("merseyside-police", et, day1)
    assert streams.stream("merseyside-police", other, day1) is not first
    assert streams.stream("merseyside-police", et, day2) is not first
    assert streams.stream("merseyside-police", et, day1) is first
    assert streams.stream("merseyside-police", other, day1).event_type is other


def test_absent_and_null_fields_are_told_apart() -> None:
    """A condition may test presence (``has``): an event without the field and one with a
    null there must not share a memoised verdict."""
    et = CATALOGUE.get("safeguarding-concern")
    assert et is not None
    base = next(
        a
        for a in AGREEMENTS
        if et.slug in a.event_types and a.condition and "event.borough" in a.condition
    )
    agreement = base.model_copy(update={"condition": "!has(event.borough)"})
    signed = agreement.signed_at()
    assert signed is not None
    when = max(signed, datetime.combine(agreement.effective_from, datetime.min.time(), UTC))
    when += timedelta(days=1)
    assert agreement.not_in_force_reason(when) is None
    spec, streams = PolicyEngine([agreement]), CompiledStreams(PolicyEngine([agreement]))
    provider = agreement.providers[0]
    event = SampleGenerator(et, provider, seed=5).next_event()
    with_null = {**event, "borough": None}
    without = {k: v for k, v in event.items() if k != "borough"}
    for e in (with_null, without, with_null, without):
        assert streams.decide(e, et, provider, when) == spec.decide(e, et, provider, when)
    assert {d.outcome for d in spec.decide(with_null, et, provider, when)} != {
        d.outcome for d in spec.decide(without, et, provider, when)
    }
