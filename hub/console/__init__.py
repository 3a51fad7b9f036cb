"""The information-governance console: who got what, under which agreement, and why."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.console.app import create_app
    from hub.console.server import ConsoleHandle, create_demo_officer, start_console
    from hub.console.state import ConsoleConfig

__all__ = ["ConsoleConfig", "ConsoleHandle", "create_app", "create_demo_officer", "start_console"]

# Imported on first use, not with the package: `hub agreements whatif` imports
# hub.console.whatif, and the whole web application with it cost seconds of its start.
_HOMES = {
    "create_app": "hub.console.app",
    "ConsoleHandle": "hub.console.server",
    "create_demo_officer": "hub.console.server",
    "start_console": "hub.console.server",
    "ConsoleConfig": "hub.console.state",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
