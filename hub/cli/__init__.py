"""The ``hub`` command: one module per command, each a thin call into the library."""
