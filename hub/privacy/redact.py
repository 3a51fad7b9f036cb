"""Redact free text: remove every name, address, contact detail, date and identifier in it,
whoever it belongs to -- the subject, other victims, family, suspects, officers.

It fails closed (hub/privacy/redaction/): a word that might be a name is removed unless it is
known to be a common word; the event's own values are removed wherever they appear; a text
that cannot be analysed is removed whole. Over-redaction is a nuisance, under-redaction a
breach. Measured on a labelled corpus by bench/redaction.py (docs/governance).

If the redaction model is missing or is not the vetted one, ``RedactionUnavailable``
(a ``ConfigError``) is raised, and the transform withholds the disclosure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from hub.privacy.redaction import REDACTED, RedactionUnavailable
from hub.privacy.redaction import redact as _redact

__all__ = ["REDACTED", "RedactionUnavailable", "redact"]

log = logging.getLogger(__name__)


def redact(text: str | None, identifiers: Iterable[str] = ()) -> str | None:
    if text is None:
        return None
    try:
        return _redact(text, identifiers)
    except RedactionUnavailable:
        raise
    except Exception as exc:  # any failure of analysis: remove the whole text, never pass it
        log.warning("redaction failed (%s); the whole text was removed", type(exc).__name__)
        return REDACTED
