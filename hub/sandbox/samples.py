"""A sample event per partner and event type, as plain JSON any language can publish.

Picked from the synthetic partnership so that some agreement in force shares it (a
newcomer's first event should reach a recipient, not be withheld). Logical types are in
their Avro encoding (timestamps as epoch milliseconds, dates as epoch days, times as
milliseconds since midnight, UUIDs as text), which avro libraries in every language and
fastavro accept as they are.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from hub.catalogue.schemas import Catalogue
from hub.policy.engine import PolicyEngine

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plain(value: Any) -> Any:
    """``value`` with Python's date, time and UUID objects in their Avro encoding."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int((moment - _EPOCH).total_seconds() * 1000)
    if isinstance(value, date):
        return (value - _EPOCH.date()).days
    if isinstance(value, time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + (
            value.microsecond // 1000
        )
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def sample_event(
    catalogue: Catalogue, engine: PolicyEngine, partner: str, slug: str, now: datetime
) -> dict[str, Any]:
    """A synthetic ``slug`` event from ``partner`` that some agreement shares (or, when none
    of the first 200 tried is shared, the first one: withheld is also a verdict to see)."""
    from connectors.synthetic.generator import PartnershipGenerator

    event_type = catalogue.get(slug)
    if event_type is None:
        raise KeyError(f"event type {slug} is not in the catalogue")
    generator = PartnershipGenerator(catalogue, seed=11)
    first: dict[str, Any] | None = None
    for _ in range(200):
        event = generator.event(partner, slug).event
        first = first or event
        if any(d.shared for d in engine.decide(event, event_type, partner, now)):
            return plain(event)  # type: ignore[no-any-return]
    assert first is not None
    return plain(first)  # type: ignore[no-any-return]


def write_samples(
    folder: Path,
    catalogue: Catalogue,
    engine: PolicyEngine,
    streams: list[tuple[str, str]],
    now: datetime,
) -> dict[tuple[str, str], Path]:
    """``<folder>/<partner>.<event type>.json`` for each (partner, event type)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[tuple[str, str], Path] = {}
    for partner, slug in streams:
        path = folder / f"{partner}.{slug}.json"
        event = sample_event(catalogue, engine, partner, slug, now)
        path.write_text(json.dumps(event, indent=2) + "\n")
        out[(partner, slug)] = path
    return out
