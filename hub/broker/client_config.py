"""Moved to :mod:`hub.kafka.config` (the runtime kit); kept so older imports still work."""

from hub.kafka.config import admin_config, consumer_config, producer_config

__all__ = ["admin_config", "consumer_config", "producer_config"]
