"""Stateful multi-agency analytics: linkage alerts across partners and the VRP's anonymised
violence aggregates (the Cardiff Model).

The rule logic (``linkage``, ``violence``, ``suppression``, ``tables``) is pure and testable
without a broker; ``app`` is the faust-streaming edge and ``runner`` starts it as a process.
Importing this package does nothing.
"""
