"""Source connectors: publish a partner's events to its partner topics.

Each module registers its kind (connectors/base/plugins.py); the publisher they share is
:class:`connectors.base.publisher.PartnerPublisher`.
"""
