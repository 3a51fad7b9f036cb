"""Agreement conditions in CEL (Common Expression Language); never Python eval."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cel


class ConditionError(Exception):
    """The condition could not be compiled or evaluated; the engine withholds."""


_EVENT_REF = re.compile(r"\bevent\b")
_EVENT_FIELD = re.compile(r"\bevent\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def referenced_fields(source: str) -> frozenset[str] | None:
    """The top-level event fields a condition reads, or None when it may read the whole
    event (``event`` used other than as ``event.<field>``, even in a string literal).

    Converting a whole decoded event into CEL values cost more than evaluating the
    condition; giving CEL only the fields named keeps the result the same (an absent
    field is absent either way) at a fraction of the cost.
    """
    uses = len(_EVENT_REF.findall(source))
    fields = _EVENT_FIELD.findall(source)
    return frozenset(fields) if uses == len(fields) else None


@dataclass(frozen=True)
class Condition:
    source: str
    _program: Any
    # None: give the condition the whole event.
    event_fields: frozenset[str] | None = None

    def holds(self, activation: Any) -> bool:
        """``activation``: a ``cel.Context`` (built once per event) or a plain dict."""
        try:
            result = self._program.execute(activation)
        except Exception as exc:  # the CEL runtime raises TypeError/KeyError/RuntimeError
            raise ConditionError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(result, bool):
            raise ConditionError(f"condition returned {type(result).__name__}, not a boolean")
        return result


def compile_condition(source: str | None) -> Condition | None:
    if source is None or not source.strip():
        return None
    try:
        return Condition(source, cel.compile(source), referenced_fields(source))
    except ValueError as exc:
        raise ConditionError(str(exc).splitlines()[0]) from exc
