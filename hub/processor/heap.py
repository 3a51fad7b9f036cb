"""When the processor moves its long-lived objects out of the garbage collector's reach.

A full (generation 2) collection walks every object the collector tracks. After start-up
the processor holds some 150,000 (modules, the catalogue, compiled agreements, schemas),
and under load a full collection took 100-160 ms here, every few seconds: a pause every
record in flight waits out. Once the first batch has been decided (schemas fetched, plans
compiled), ``gc.freeze()`` moves what is alive out of reach; a full collection then took
about 10 ms. Frozen objects are still freed by reference counting; only cyclic garbage
among them would stay, so a reload of the rules unfreezes first (the next batch freezes
again), and so does closing the processor (a process running several in turn, as the tests
do, gets its collector back whole).
"""

from __future__ import annotations

import gc


class HeapPolicy:
    def __init__(self, *, freeze: bool = True) -> None:
        self._enabled = freeze
        self.frozen = False

    def settled(self) -> None:
        """After a batch: freeze once, when the long-lived objects exist."""
        if self._enabled and not self.frozen:
            gc.collect()  # leave nothing collectable behind in the frozen set
            gc.freeze()
            self.frozen = True

    def thaw(self) -> None:
        """Let the collector reach everything again: on a reload (the old rules become
        garbage) and on close."""
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
