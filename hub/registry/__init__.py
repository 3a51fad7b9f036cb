"""Embedded schema registry speaking the Confluent Schema Registry REST API (Avro only)."""

from hub.registry.app import create_app
from hub.registry.server import RegistryServer
from hub.registry.store import SchemaStore

__all__ = ["RegistryServer", "SchemaStore", "create_app"]
