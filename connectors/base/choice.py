"""The one check shared by configuration models: of two alternative settings, exactly one."""

from __future__ import annotations

from pydantic import BaseModel


def exactly_one(model: BaseModel, *names: str) -> None:
    """Raise ``ValueError`` unless exactly one of the fields ``names`` is set: giving both
    would leave which one wins to the code, giving neither leaves the setting out."""
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != 1:
        said = f"{' and '.join(given)} both given" if given else "none given"
        raise ValueError(f"give exactly one of {' or '.join(map(repr, names))} ({said})")
