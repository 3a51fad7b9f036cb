"""The information-governance console: who got what, under which agreement, and why."""

from hub.console.app import create_app
from hub.console.server import ConsoleHandle, create_demo_officer, start_console
from hub.console.state import ConsoleConfig

__all__ = ["ConsoleConfig", "ConsoleHandle", "create_app", "create_demo_officer", "start_console"]
