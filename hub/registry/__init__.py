"""Embedded schema registry speaking the Confluent Schema Registry REST API (Avro only).

The exports are imported when first read (hub/lazy.py): ``hub schemas check`` and whatever
imports ``hub.registry.compatibility`` do not load the server's FastAPI and SQLAlchemy."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.registry.app import create_app
    from hub.registry.server import RegistryServer
    from hub.registry.store import SchemaStore

__all__ = ["RegistryServer", "SchemaStore", "create_app"]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "RegistryServer": "hub.registry.server",
            "SchemaStore": "hub.registry.store",
            "create_app": "hub.registry.app",
        },
    )
