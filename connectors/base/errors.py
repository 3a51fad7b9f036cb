"""Connector errors, on the hub's error tree (``hub.errors``).

    HubError
    └── ConnectorError
        ├── ConnectorConfigError (ConfigError, Terminal)   the YAML or an env var is wrong
        ├── SourceUnavailable (Retryable)                  the partner's database/folder is away
        ├── RecordRejected (hub.errors.Rejected)         one input cannot become an event
        │   ├── MalformedInput      code "malformed"       unreadable row, bad JSON, wrong arity
        │   ├── MissingColumn       code "missing-column"  a required column is absent
        │   ├── MissingValue        code "missing-value"   a required cell is empty
        │   ├── WrongType           code "wrong-type"      a value does not fit its field
        │   ├── SchemaInvalid       code "schema-invalid"  the mapped event fails the schema
        │   ├── DuplicateFile       code "duplicate-file"  same content already processed
        │   └── Unauthorised        code "unauthorised"    a web hook call with a bad token
        └── DeliveryFailed (SinkRejected)                  a recipient refused one disclosure

Retry (with backoff) or reject is chosen by the ``Retryable`` / ``Terminal`` mixins,
never by reading messages. ``hub.errors.SinkUnavailable`` and ``BrokerUnavailable`` are the
retryable errors sinks and publishers raise.
"""

from __future__ import annotations

from hub.errors import ConfigError, HubError, Rejected, Retryable, SinkRejected


class ConnectorError(HubError):
    """Root of the connector errors."""


class ConnectorConfigError(ConnectorError, ConfigError):
    """The connector configuration (YAML, mapping or an environment variable) is invalid."""


class SourceUnavailable(ConnectorError, Retryable):
    """The partner system the source reads from did not answer; try again later."""


class RecordRejected(ConnectorError, Rejected):
    """One input (a row, a file, a request) cannot be published; it goes to the reject output.

    ``code``, ``fix`` and ``field`` as on every ``hub.errors.Rejected``.
    """


class MalformedInput(RecordRejected, code="malformed"): ...


class MissingColumn(RecordRejected, code="missing-column"): ...


class MissingValue(RecordRejected, code="missing-value"): ...


class WrongType(RecordRejected, code="wrong-type"): ...


class SchemaInvalid(RecordRejected, code="schema-invalid"): ...


class DuplicateFile(RecordRejected, code="duplicate-file"): ...


class Unauthorised(RecordRejected, code="unauthorised"): ...


class DeliveryFailed(ConnectorError, SinkRejected):
    """The recipient system refused one disclosure for good (e.g. HTTP 400): a failed receipt."""
