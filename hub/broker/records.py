"""Moved to :mod:`hub.kafka.records` (the runtime kit); kept so older imports still work."""

from hub.kafka.records import Headers, coordinates, header, headers_bytes, next_batch

__all__ = ["Headers", "coordinates", "header", "headers_bytes", "next_batch"]
