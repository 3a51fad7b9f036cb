"""Golden cases: tests/policy/cases/<case>/{event.json, agreement.yaml, expected.json}.

Each case runs the pure engine and the privacy transform and compares every decision and
output record. Token values are key-dependent, so expected outputs write ``<token:DOMAIN>``
and the test checks the token's shape and domain instead.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.agreements import Agreement
from hub.catalogue import EventType
from hub.catalogue.json_codec import event_from_json
from hub.policy import PolicyEngine
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider

CASES = Path(__file__).parent / "cases"
TOKEN = re.compile(r"^tok\.(?P<domain>[a-z0-9-]+)\.[a-z0-9]+\.[a-z2-7]{40}$")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _match(expected: Any, actual: Any, where: str) -> None:
    if isinstance(expected, str) and expected.startswith("<token:"):
        domain = expected[len("<token:") : -1]
        m = TOKEN.match(actual or "")
        assert m and m.group("domain") == domain, f"{where}: {actual!r} is not a {domain} token"
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a record, got {actual!r}"
        assert set(actual) == set(expected), (
            f"{where}: fields {sorted(actual)} != {sorted(expected)}"
        )
        for k in expected:
            _match(expected[k], actual[k], f"{where}.{k}")
        return
    assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case(case: str, concern_type: EventType, keys: LocalKeyProvider) -> None:
    folder = CASES / case
    expected = json.loads((folder / "expected.json").read_text())
    agreements = [
        Agreement.model_validate(doc)
        for doc in yaml.safe_load_all((folder / "agreement.yaml").read_text())
    ]
    event = event_from_json(concern_type, json.loads((folder / "event.json").read_text()))
    engine = PolicyEngine(agreements)
    decisions = engine.decide(
        event, concern_type, expected["provider"], datetime.fromisoformat(expected["now"])
    )
    assert [d.recipient for d in decisions] == [e["recipient"] for e in expected["decisions"]]
    transformer = Transformer(keys)
    for d, want in zip(decisions, expected["decisions"], strict=True):
        assert d.outcome.value == want["outcome"], f"{d.recipient}: {d.reason}"
        assert f"{d.agreement_id}@v{d.agreement_version}" == want["agreement"]
        if "reason_contains" in want:
            assert want["reason_contains"] in d.reason
        if d.shared:
            assert d.plan is not None and d.disclosure_id
            output = _jsonable(transformer.apply(d.plan, event, concern_type))
            _match(want["output"], output, d.recipient)
        else:
            assert d.plan is None and d.disclosure_id is None


def test_engine_is_deterministic(
    concern_type: EventType, reference_agreements: list[Agreement]
) -> None:
    event = event_from_json(
        concern_type,
        json.loads((CASES / "county-lines-child-liverpool" / "event.json").read_text()),
    )
    now = datetime.fromisoformat("2026-11-23T12:00:00+00:00")
    first = PolicyEngine(reference_agreements).decide(event, concern_type, "merseyside-police", now)
    again = PolicyEngine(list(reversed(reference_agreements))).decide(
        event, concern_type, "merseyside-police", now
    )
    assert first == again
