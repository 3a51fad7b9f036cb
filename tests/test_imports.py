"""What importing one module loads (issue 17).

A package ``__init__`` that imported all its submodules made every ``import pkg.small``
pay for the largest of them: ``import hub.audit.records`` (the processor, the sinks,
``hub partner check-record``) loaded SQLAlchemy and alembic through the audit store,
``hub.registry.compatibility`` loaded the registry's FastAPI app, ``configure_logging``
loaded prometheus_client. Those packages now re-export lazily (hub/lazy.py): each export is
imported when first read. These checks hold both halves: the small modules stay small (each
in a fresh interpreter, since this one has long imported everything), and every name the
packages exported before is still there, with the type mypy sees.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The packages whose __init__ re-exports lazily.
LAZY_PACKAGES = (
    "hub.audit",
    "hub.registry",
    "hub.telemetry",
    "hub.deploy",
    "connectors.base",
    "hub.processor",
    "hub.policy",
    "hub.privacy",
    "hub.codec",
)

WEB = ("fastapi", "starlette", "uvicorn")
STORE = ("sqlalchemy", "alembic", "hub.audit.store")


def _loaded_by(code: str) -> list[str]:
    """The modules a fresh interpreter imports to run ``code``, beyond its own start."""
    probe = (
        "import json, sys\n"
        "_before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - _before)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return loaded


def _offenders(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted({n for n in names for m in loaded if m == n or m.startswith(f"{n}.")})


# module -> what importing it must not load, and why it has no need of it.
SMALL_IMPORTS = {
    # the audit record types: the processor, the sinks and check-record build them
    "hub.audit.records": (*STORE, *WEB, "confluent_kafka"),
    # `hub schemas check`'s compatibility rules: pure functions over Avro documents
    "hub.registry.compatibility": (*WEB, "sqlalchemy", "hub.registry.store"),
    # what every command's configure_logging imports
    "hub.telemetry.logs": ("prometheus_client", "hub.telemetry.metrics"),
    # a recipient's sink loop: the broker and the registry client, not the audit store
    "connectors.base.sink": (*STORE, *WEB),
    # a plug-in's configuration: no broker client, no runtime
    "connectors.base.config": ("confluent_kafka", "connectors.base.runtime", *STORE),
    # `hub process`: what the processor runs on (the ingester's store only with --ingest)
    "hub.processor.processor": (
        *WEB,
        "sqlalchemy",
        "alembic",
        "hub.audit.store",
        "hub.audit.ingest",
        "hub.processor.build",
    ),
    # what the connectors, the codec and the tokens read: no CEL engine, no processor
    "hub.policy.facts": ("cel", "hub.policy.engine", "confluent_kafka"),
    "hub.policy.plan": ("cel", "hub.policy.engine", "confluent_kafka"),
    "hub.codec.wire": ("cel", "confluent_kafka", "hub.processor"),
    "hub.privacy.token": ("cel", "hub.privacy.transform", "confluent_kafka"),
    "hub.processor.build": (*WEB, "alembic", "hub.audit.store", "hub.audit.ingest"),
    "hub.cli.process_service": (*WEB, "alembic", "hub.audit.store", "hub.audit.ingest"),
    # the deployment plan: the admin client only when applying it
    "hub.deploy.render": ("confluent_kafka", "hub.deploy.apply"),
}


@pytest.mark.parametrize("module", sorted(SMALL_IMPORTS))
def test_importing_a_module_loads_only_what_it_uses(module: str) -> None:
    banned = SMALL_IMPORTS[module]
    loaded = _loaded_by(f"import {module}")
    assert module in loaded
    offenders = _offenders(loaded, banned)
    assert not offenders, (
        f"import {module} loaded {offenders}: a package __init__ (or a module-level import) "
        "on its way imports more than it needs; re-export lazily (hub/lazy.py) or import "
        "inside the function that needs it"
    )


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_a_lazy_package_imports_none_of_its_submodules(package: str) -> None:
    loaded = _loaded_by(f"import {package}")
    submodules = [m for m in loaded if m.startswith(f"{package}.")]
    assert not submodules, f"import {package} imported {submodules}"


def _lazy_map(package: str) -> dict[str, str]:
    """The ``{name: module}`` literal the package passes to ``lazy_exports``."""
    init = ROOT / Path(*package.split(".")) / "__init__.py"
    for node in ast.walk(ast.parse(init.read_text(), str(init))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "lazy_exports"
        ):
            mapping: dict[str, str] = ast.literal_eval(node.args[1])
            return mapping
    raise AssertionError(f"{init} calls no lazy_exports")


def _type_checking_imports(package: str) -> dict[str, str]:
    """``{name: module}`` of the imports under ``if TYPE_CHECKING:`` (what mypy sees)."""
    init = ROOT / Path(*package.split(".")) / "__init__.py"
    out: dict[str, str] = {}
    for node in ast.parse(init.read_text(), str(init)).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.unparse(stmt)
                out.update({alias.name: stmt.module for alias in stmt.names})
    return out


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_the_lazy_exports_are_what_mypy_sees_and_all_names(package: str) -> None:
    """The runtime map, the TYPE_CHECKING imports and ``__all__`` list the same names from
    the same modules: a name mypy accepts is one the package gives at run time."""
    mapping = _lazy_map(package)
    assert mapping == _type_checking_imports(package)
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(mapping)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_exported_name_is_the_defining_modules_object(package: str) -> None:
    module = importlib.import_module(package)
    for name, source in _lazy_map(package).items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name
    assert set(module.__all__) <= set(dir(module))
    star: dict[str, object] = {}
    exec(f"from {package} import *", star)
    assert set(module.__all__) <= set(star)


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    import hub.audit

    with pytest.raises(AttributeError, match=r"'hub\.audit' has no attribute 'AuditStor'"):
        getattr(hub.audit, "AuditStor")  # noqa: B009 - mypy would (rightly) reject the typo
    # `from package import submodule` falls back to importing it, as for any package
    # (the console's routes import hub.audit's queries and revisions so).
    loaded = _loaded_by("from hub.audit import queries\nassert queries.__name__")
    assert "hub.audit.queries" in loaded


def test_a_first_read_imports_its_module_in_a_fresh_interpreter() -> None:
    loaded = _loaded_by(
        "import hub.registry\n"
        "assert 'sqlalchemy' not in sys.modules\n"
        "store = hub.registry.SchemaStore\n"
        "assert hub.registry.__dict__['SchemaStore'] is store  # kept: read once\n"
    )
    assert "hub.registry.store" in loaded and "sqlalchemy" in loaded
