"""``with`` blocks for the hub's local services and stores, written once.

The embedded broker and the registry server start on entry and stop on exit; the schema
store is open from construction and closes on exit. Each class supplies only ``start`` and
``stop``, or ``close``.
"""

from __future__ import annotations

from typing import Self


class StartStop:
    """``with service:`` starts it and stops it, whatever the block raised."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Closing:
    """``with store:`` closes it at the end of the block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
