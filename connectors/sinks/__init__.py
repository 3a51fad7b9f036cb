"""Sink connectors: write a recipient's stream into the recipient's own system."""

from connectors.sinks.sqlite_case_system import SqliteCaseSystemSink

__all__ = ["SqliteCaseSystemSink"]
