"""The Confluent wire format and the registry-backed schema cache: what every component that
reads or writes partner and recipient records needs (the processor, the analytics, the
console's what-if), without importing the processor."""

from hub.codec.schemas import OutputSchema, OutputSchemaRejected, SchemaCache, WriterSchema

__all__ = ["OutputSchema", "OutputSchemaRejected", "SchemaCache", "WriterSchema"]
