"""The Kafka edge of the hub: batching consumer loop, producers, dead letters, offsets."""

from hub.processor.build import build_processor
from hub.processor.processor import PARTNER_TOPICS, Processor, Stats

__all__ = ["PARTNER_TOPICS", "Processor", "Stats", "build_processor"]
