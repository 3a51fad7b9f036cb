"""Lazy re-exports for a package's ``__init__`` (PEP 562 module ``__getattr__``).

A package that imports all its submodules makes every ``import pkg.small_module`` pay for
the largest of them: ``import hub.audit.records`` loaded SQLAlchemy and alembic through
``hub/audit/__init__.py`` (issue 17). A package names its exports here instead, and each is
imported the first time it is read (``from pkg import Name`` or ``pkg.Name``), then kept as
a plain attribute of the package.

Use, in a package's ``__init__``::

    if TYPE_CHECKING:  # what mypy sees: the same names, from the same modules
        from pkg.mod import Name

    __all__ = ["Name"]

    if not TYPE_CHECKING:
        __getattr__, __dir__ = lazy_exports(__name__, {"Name": "pkg.mod"})

(The helpers stay out of mypy's sight, so a name missing from the package is still an error
rather than ``Any``; tests/test_imports.py checks the two lists agree.)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``exports`` map each exported
    name to the module that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            # An AttributeError (not an import) is what lets `from pkg import submodule`
            # fall back to importing the submodule, as it does for any package.
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next read is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
