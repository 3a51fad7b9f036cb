"""Every reference agreement, on schema-valid sample events: the recipient schema derived from
its plan parses, and every output the transform produces encodes under it. This is what the
processor does for each disclosure, minus Kafka."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import fastavro
import pytest

from connectors.synthetic.samples import sample_events
from hub.agreements import Agreement, load_agreements
from hub.catalogue import Catalogue
from hub.policy import PolicyEngine
from hub.privacy import Transformer, derive_output_schema
from hub.privacy.keys import LocalKeyProvider
from tests.conftest import ROOT

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


REFERENCE = sorted(load_agreements(ROOT / "partnership" / "agreements"), key=lambda a: a.ref)


@pytest.mark.parametrize("agreement", REFERENCE, ids=[a.ref for a in REFERENCE])
def test_reference_agreement_outputs_encode(
    agreement: Agreement, catalogue: Catalogue, keys: LocalKeyProvider
) -> None:
    engine = PolicyEngine([agreement])
    transformer = Transformer(keys)
    shared = 0
    for slug in agreement.event_types:
        event_type = catalogue.get(slug)
        assert event_type is not None
        plan = engine.plan(agreement, event_type)
        assert not isinstance(plan, str), plan
        schema = fastavro.parse_schema(
            derive_output_schema(plan, event_type, agreement.recipients[0])
        )
        if not agreement.providers:
            # Hub-raised events (linkage alerts): no partner provides them, so the plan is
            # applied to samples directly; the analytics decide the rest (tests/analytics).
            for event in sample_events(event_type, "hub-analytics", 50, seed=1):
                fastavro.schemaless_writer(
                    io.BytesIO(), schema, transformer.apply(plan, event, event_type)
                )
                shared += 1
            continue
        provider = agreement.providers[0]
        for event in sample_events(event_type, provider, 150, seed=len(agreement.ref)):
            for decision in engine.decide(event, event_type, provider, NOW):
                if decision.shared and decision.plan is not None:
                    output = transformer.apply(decision.plan, event, event_type)
                    fastavro.schemaless_writer(io.BytesIO(), schema, output)
                    shared += 1
    assert shared > 0, f"{agreement.ref} shared nothing from 150 samples: check its condition"
