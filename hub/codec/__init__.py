"""The Confluent wire format and the registry-backed schema cache: what every component that
reads or writes partner and recipient records needs (the processor, the analytics, the
console's what-if), without importing the processor.

The exports are imported when first read (hub/lazy.py): ``hub.codec.wire`` does not load the
registry client the schema cache needs."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.codec.schemas import OutputSchema, OutputSchemaRejected, SchemaCache, WriterSchema

__all__ = [
    "OutputSchema",
    "OutputSchemaRejected",
    "SchemaCache",
    "WriterSchema",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "OutputSchema": "hub.codec.schemas",
            "OutputSchemaRejected": "hub.codec.schemas",
            "SchemaCache": "hub.codec.schemas",
            "WriterSchema": "hub.codec.schemas",
        },
    )
