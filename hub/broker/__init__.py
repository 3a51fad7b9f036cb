"""Embedded broker for local runs and tests, client settings and topic administration."""

from hub.broker.admin import end_offsets, ensure_topics
from hub.broker.client_config import consumer_config, producer_config
from hub.broker.embedded import EmbeddedBroker

__all__ = ["EmbeddedBroker", "consumer_config", "end_offsets", "ensure_topics", "producer_config"]
