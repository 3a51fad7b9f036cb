"""Agreement conditions in CEL (Common Expression Language); never Python eval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cel


class ConditionError(Exception):
    """The condition could not be compiled or evaluated; the engine withholds."""


@dataclass(frozen=True)
class Condition:
    source: str
    _program: Any

    def holds(self, activation: dict[str, Any]) -> bool:
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
        return Condition(source, cel.compile(source))
    except ValueError as exc:
        raise ConditionError(str(exc).splitlines()[0]) from exc
