"""The hub's error tree.

    HubError
    ├── ConfigError (Terminal)              settings or partnership files are wrong
    ├── BrokerError                         the broker could not be started or reached
    │   ├── BrokerStartError (Terminal)
    │   └── BrokerUnavailable (Retryable)
    ├── RegistryError                       schema registry trouble
    │   ├── SchemaNotFound (Terminal)
    │   └── RegistryUnavailable (Retryable)
    ├── AgreementError (Terminal)           an agreement file is invalid
    ├── Rejected (Terminal)                 one input cannot be processed: code, fix, field
    │   ├── InputRejected                   a record on a partner topic: dead-letter it
    │   │   ├── MalformedRecord             not Confluent wire format, or not decodable
    │   │   ├── UnknownSchema               schema id unknown to the registry
    │   │   ├── PartnerMismatch             event claims a partner other than the topic owner
    │   │   ├── Unsigned                    no signature headers
    │   │   ├── BadSignature                the signature does not verify
    │   │   ├── UnknownSigner               the key id is not a registered partner key
    │   │   └── EventIdReused               an event id seen before, now with other content
    │   └── RecordRejected                  (connectors.base.errors) a row, file or request
    ├── KeyMaterialError (Terminal)         pseudonymisation key missing or unreadable
    └── SinkError
        ├── SinkUnavailable (Retryable)
        └── SinkRejected (Terminal)

Whether to retry or dead-letter is decided by the ``Retryable`` / ``Terminal`` mixins,
never by parsing messages. Both derive from ``Exception``, so code says
``except Retryable:`` rather than catching everything and testing ``isinstance``. Foreign
errors (the registry client's, librdkafka's) are translated into this tree once, in
``hub.translate``.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Root of every error the hub raises on purpose."""


class Retryable(Exception):
    """Mixin: the operation may succeed if tried again later (transient infrastructure)."""


class Terminal(Exception):
    """Mixin: trying again will fail the same way; report it, dead-letter it or stop."""


class ConfigError(HubError, Terminal):
    """Settings or partnership configuration are invalid."""


class BrokerError(HubError):
    """The Kafka broker could not be started or reached."""


class BrokerStartError(BrokerError, Terminal):
    """The embedded broker process did not start."""


class BrokerUnavailable(BrokerError, Retryable):
    """The broker did not answer in time."""


class RegistryError(HubError):
    """Schema registry trouble."""


class SchemaNotFound(RegistryError, Terminal):
    """No schema with that id or subject exists."""


class RegistryUnavailable(RegistryError, Retryable):
    """The schema registry did not answer."""


class AgreementError(HubError, Terminal):
    """An agreement file is invalid; the message names the file and what to fix."""


class Rejected(HubError, Terminal):
    """One input (a record, a row, a file, a request) cannot be processed.

    ``code`` is a stable, machine-readable reason (dead letter headers, reject outputs,
    metrics labels); ``fix`` tells the sender what to change; ``field`` names the event
    field or source column concerned, when there is one. Messages never carry the
    offending value when it could be personal data: only where it is and what is wrong.
    """

    code = "rejected"

    def __init__(self, message: str, *, fix: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix
        self.field = field

    def __init_subclass__(cls, *, code: str | None = None, **kwargs: Any) -> None:
        """``class MalformedRecord(InputRejected, code="malformed")``: the code stands next
        to the name, so the reasons read as one table (a subclass may also set ``code``)."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code


class InputRejected(Rejected):
    """One record on a partner topic cannot be processed and goes to the dead letter topic."""


class MalformedRecord(InputRejected, code="malformed"): ...


class UnknownSchema(InputRejected, code="unknown-schema"): ...


class PartnerMismatch(InputRejected, code="partner-mismatch"): ...


class Unsigned(InputRejected, code="unsigned"): ...


class BadSignature(InputRejected, code="bad-signature"): ...


class UnknownSigner(InputRejected, code="unknown-signer"): ...


class EventIdReused(InputRejected, code="event-id-reused"):
    """The provider sent this event id before with other content: never a silent second
    disclosure (the recipients and the audit would disagree about what was shared)."""

    FIX = (
        "give a new event a new event id; to correct an event already sent, send it as a "
        "declared revision of that event (see docs/partners/connect.md)"
    )

    def __init__(self, message: str, *, fix: str = FIX, field: str | None = None) -> None:
        super().__init__(message, fix=fix, field=field or "envelope.event_id")


class KeyMaterialError(HubError, Terminal):
    """A pseudonymisation key is missing, unreadable or too weak."""


class SinkError(HubError):
    """A sink could not write a disclosure."""


class SinkUnavailable(SinkError, Retryable):
    """The recipient system is temporarily unavailable."""


class SinkRejected(SinkError, Terminal):
    """The recipient system refused the record."""
