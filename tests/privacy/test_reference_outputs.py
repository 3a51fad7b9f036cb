"""Every reference agreement, on schema-valid sample events: the recipient schema derived from
its plan parses, and every output the transform produces encodes under it. This is what the
processor does for each disclosure, minus Kafka."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import fastavro
import pytest

from connectors.synthetic.samples import sample_events
from hub.agreements import Agreement
from hub.catalogue import Catalogue
from hub.policy import PolicyEngine
from hub.privacy import Transformer, derive_output_schema
from hub.privacy.keys import LocalKeyProvider

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.mark.parametrize("index", range(13))
def test_reference_agreement_outputs_encode(
    index: int,
    catalogue: Catalogue,
    reference_agreements: list[Agreement],
    keys: LocalKeyProvider,
) -> None:
    agreements = sorted(reference_agreements, key=lambda a: a.ref)
    if index >= len(agreements):
        pytest.skip("fewer reference agreements")
    agreement = agreements[index]
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
        for event in sample_events(event_type, agreement.providers[0], 150, seed=index):
            for decision in engine.decide(event, event_type, agreement.providers[0], NOW):
                if decision.shared and decision.plan is not None:
                    output = transformer.apply(decision.plan, event, event_type)
                    fastavro.schemaless_writer(io.BytesIO(), schema, output)
                    shared += 1
    assert shared > 0, f"{agreement.ref} shared nothing from 150 samples: check its condition"
