"""The Kafka edge of the hub: batching consumer loop, producers, dead letters, offsets.

The exports are imported when first read (hub/lazy.py): ``import hub.processor.processor``
does not load what only building one needs (the audit store's SQLAlchemy)."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.processor.build import build_processor
    from hub.processor.processor import PARTNER_TOPICS, Processor, Stats

__all__ = [
    "PARTNER_TOPICS",
    "Processor",
    "Stats",
    "build_processor",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "PARTNER_TOPICS": "hub.processor.processor",
            "Processor": "hub.processor.processor",
            "Stats": "hub.processor.processor",
            "build_processor": "hub.processor.build",
        },
    )
