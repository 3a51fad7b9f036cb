"""The partner data-sharing hub.

Importing ``hub`` does nothing: no sockets, no threads, no environment reads.
Everything starts from the ``hub`` command (``hub.cli``) or explicit calls.
"""

__version__ = "0.1.0"
