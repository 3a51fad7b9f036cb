"""The information-governance console: who got what, under which agreement, and why.

The exports are imported when first read (hub/lazy.py): ``hub agreements whatif`` imports
hub.console.whatif, and the whole web application came with it, seconds of its start."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.console.app import create_app
    from hub.console.server import ConsoleHandle, create_demo_officer, start_console
    from hub.console.state import ConsoleConfig

__all__ = ["ConsoleConfig", "ConsoleHandle", "create_app", "create_demo_officer", "start_console"]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "ConsoleConfig": "hub.console.state",
            "ConsoleHandle": "hub.console.server",
            "create_app": "hub.console.app",
            "create_demo_officer": "hub.console.server",
            "start_console": "hub.console.server",
        },
    )
