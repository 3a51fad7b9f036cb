"""Sample events used to check agreement conditions against real-shaped data.

Here, with the demo, rather than in hub/agreements: the generators live with the connectors
(connectors/synthetic), and the agreements package imports nothing from the connectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.catalogue.schemas import EventType

SAMPLES_PER_TYPE = 200


def sample_events(event_type: EventType) -> Sequence[Mapping[str, Any]]:
    """Seeded, schema-valid events of ``event_type`` (synthetic: no real person)."""
    # Imported here: the generators live with the connectors, and importing hub stays cheap.
    from connectors.synthetic import samples

    generic = samples.sample_events(event_type, "sample-partner", SAMPLES_PER_TYPE, seed=11)
    if event_type.slug == "safeguarding-concern":
        # The police feed has the realistic mix (ages, boroughs, risk) conditions select on.
        from connectors.synthetic.police import PoliceFeed

        return [*PoliceFeed(seed=11).events(SAMPLES_PER_TYPE), *generic]
    return generic
