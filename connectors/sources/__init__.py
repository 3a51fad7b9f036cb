"""Source connectors: publish a partner's events to its partner topics."""

from connectors.sources.publisher import PartnerPublisher

__all__ = ["PartnerPublisher"]
