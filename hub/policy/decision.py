"""Decisions: the engine's output, one per candidate recipient of an event."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload

from hub.policy.plan import RecordPlan

# Fixed namespace so disclosure ids are the same in every process and every run.
_DISCLOSURE_NS = uuid.UUID("6c1f3a52-2d0e-4f57-9a51-5e0f3f3b1d11")


class Outcome(StrEnum):
    SHARED = "shared"
    WITHHELD = "withheld"


_NS_BYTES = _DISCLOSURE_NS.bytes


# The variant nibble (RFC 4122: binary 10xx) for each hex digit of the hash.
_VARIANT = {f"{i:x}": f"{(i & 0x3) | 0x8:x}" for i in range(16)}


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(_DISCLOSURE_NS, name))`` without building UUID objects (RFC 4122
    version 5: SHA-1 of namespace and name, version and variant bits set, here on the hex
    text): two ids per decision made uuid5 a visible share of the processor's time."""
    h = hashlib.sha1(_NS_BYTES + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def disclosure_id(
    event_id: str,
    recipient: str,
    agreement_id: str,
    version: int,
    *,
    provider: str = "",
    content: str = "",
) -> str:
    """The idempotency key of one disclosure: (provider, event, content, recipient, agreement
    version). ``content`` is the event's content key (``content_key``); empty only where the
    event id itself is derived from the content (the analytics' alert ids), which keeps the
    ids such decisions had before the provider and content were part of the identity."""
    if not content:
        return _uuid5(f"{event_id}|{recipient}|{agreement_id}|{version}")
    return _uuid5(
        f"disclosure|{provider}|{event_id}|{content}|{recipient}|{agreement_id}|{version}"
    )


def decision_id(
    event_id: str,
    recipient: str,
    *,
    provider: str = "",
    content: str = "",
    agreement_id: str | None = None,
    agreement_version: int | None = None,
) -> str:
    """One decision per (provider, event, content, candidate recipient, governing agreement
    version): the audit's idempotency key. A partner reusing an event id with other content
    gets another id (never mistaken for a redelivery), and so does an event decided again
    under another agreement version (a batch redelivered after an agreement reload), whose
    output is then a second disclosure with a decision of its own. See ``disclosure_id`` for
    an empty ``content``."""
    if not content:
        return _uuid5(f"decision|{event_id}|{recipient}")
    ref = f"{agreement_id}@{agreement_version}" if agreement_id else ""
    return _uuid5(f"decision|{provider}|{event_id}|{content}|{recipient}|{ref}")


def content_key(digest: str | None, revision: int | None = None) -> str:
    """What identifies one version of an event's content: the partner's declared revision
    when it sends one (issue 18), else the digest of the decoded event."""
    if revision is not None:
        return f"r{revision}"
    return digest or ""


_T = TypeVar("_T")


class _once(Generic[_T]):
    """``functools.cached_property`` without its lock: Python 3.11 takes an RLock on the
    first read of each instance's value, and with two ids per decision that showed in
    profiles. A Decision is read by one thread."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self._fn = fn
        self._name = fn.__name__

    @overload
    def __get__(self, obj: None, owner: type) -> _once[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> _T: ...
    def __get__(self, obj: object | None, owner: type) -> _once[_T] | _T:
        if obj is None:
            return self
        value = self._fn(obj)
        obj.__dict__[self._name] = value  # later reads find it there, past this descriptor
        return value


@dataclass(frozen=True)
class Decision:
    event_id: str
    event_type: str
    provider: str
    recipient: str
    outcome: Outcome
    reason: str
    agreement_id: str | None = None
    agreement_version: int | None = None
    plan: RecordPlan | None = field(default=None, repr=False, compare=False)
    # The content key (``content_key``): set by the processor from the decoded event, so the
    # pure engine needs no digest. Part of both ids.
    content: str = ""

    @property
    def shared(self) -> bool:
        return self.outcome is Outcome.SHARED

    def with_content(self, content: str) -> Decision:
        """This decision, about the given content (the processor's digest of the event). A
        copy of the fields without ``dataclasses.replace``'s ``__init__`` call, which cost
        as much as deciding (one per decision); the cached ids are not copied."""
        new = object.__new__(Decision)
        fields = new.__dict__
        fields.update(self.__dict__)
        fields.pop("decision_id", None)
        fields.pop("disclosure_id", None)
        fields["content"] = content
        return new

    # Cached: the processor reads each id twice (output header and audit record).
    @_once
    def decision_id(self) -> str:
        return decision_id(
            self.event_id,
            self.recipient,
            provider=self.provider,
            content=self.content,
            agreement_id=self.agreement_id,
            agreement_version=self.agreement_version,
        )

    @_once
    def disclosure_id(self) -> str | None:
        if not self.shared or self.agreement_id is None or self.agreement_version is None:
            return None
        return disclosure_id(
            self.event_id,
            self.recipient,
            self.agreement_id,
            self.agreement_version,
            provider=self.provider,
            content=self.content,
        )
