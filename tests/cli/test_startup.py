"""Start-up of the ``hub`` command (issue 17): parsing loads argparse and ``hub.cli`` alone,
and each command loads its own libraries when it runs. Every `hub` process used to import
every command's stack (the console's web server, the audit store's database layer, faust,
reportlab...) before parsing: 1.5 s or more, paid again by each restarted service.

Each check runs in a fresh interpreter, since this one has long imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What no command that does not serve the console, the registry or analytics may load.
WEB_AND_REPORTS = ("fastapi", "starlette", "uvicorn", "jinja2", "hub.console", "reportlab")
# ... and what a command that touches neither the broker nor the audit store may not load.
HEAVY = (
    *WEB_AND_REPORTS,
    "faust",
    "sqlalchemy",
    "alembic",
    "confluent_kafka",
    "hub.audit",
    "hub.registry",
    "hub.processor",
    "rich",
)

# One command line per command, the services first: parsing them must load nothing more.
COMMAND_LINES = [
    ["process", "--ingest"],
    ["audit", "ingest", "--until-idle", "5"],
    ["connector", "run", "connector.yaml"],
    ["analytics", "run"],
    ["partner", "check-record", "record.json"],
    ["agreements", "whatif", "draft.yaml", "--json"],
    ["agreements", "redact-check", "some-agreement", "narrative"],
    ["audit", "verify-export", "archive.zip"],
    ["deploy", "render", "--output", "out"],
    ["console", "user", "list"],
    ["registry", "serve"],
    ["deadletter", "skip", "--topic", "t", "--partition", "0", "--offset", "1"],
    ["schemas", "check"],
    ["demo", "--json"],
    ["sandbox"],
    ["broker"],
]


def _run(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The modules a fresh interpreter has imported after running ``code``, beyond those
    its own start imported; ``code``'s last line of output is left for the caller."""
    probe = (
        "import json, sys\n"
        "_before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - _before)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return loaded


def _offenders(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted({n for n in names for m in loaded if m == n or m.startswith(f"{n}.")})


def test_parsing_any_command_line_loads_only_the_standard_library_and_hub_cli() -> None:
    loaded = _run(
        "from hub.cli.main import build_parser\n"
        "parser = build_parser()\n"
        f"for argv in {COMMAND_LINES!r}:\n"
        "    parser.parse_args(argv)\n"
    )
    allowed_hub = {"hub", "hub.errors", "hub.cli"}
    beyond = [
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names
        and m not in allowed_hub
        and not (m.startswith("hub.cli.") and m != "hub.cli.process_service")
    ]
    assert not beyond, (
        f"parsing a hub command line imported {beyond}: import them inside the command's "
        "handler (or under TYPE_CHECKING for annotations), not at the top of hub/cli modules"
    )


def test_hub_help_loads_nothing_beyond_the_parser() -> None:
    loaded = _run(
        "import contextlib, io\n"
        "from hub.cli.main import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
    )
    hub_beyond_cli = {m for m in loaded if m.startswith("hub.") and not m.startswith("hub.cli")}
    assert hub_beyond_cli <= {"hub.errors"}, hub_beyond_cli
    assert not _offenders(loaded, ("pydantic", "prometheus_client", *HEAVY))


@pytest.mark.parametrize(
    "argv",
    [["agreements", "schema"], ["agreements", "list"], ["deploy", "plan", "--json"]],
    ids=" ".join,
)
def test_a_short_command_loads_none_of_the_services_stacks(argv: list[str]) -> None:
    """Run through main() as `hub` runs it: the command's own handler, logging and the
    error handling, and nothing of what the services, the console or the store run on."""
    loaded = _run(
        "import contextlib, io\n"
        "from hub.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({argv!r}) == 0\n"
    )
    assert not _offenders(loaded, HEAVY), _offenders(loaded, HEAVY)


@pytest.mark.parametrize(
    "argv",
    [["process"], ["audit", "ingest"], ["connector", "run", "none.yaml"]],
    ids=" ".join,
)
def test_a_service_loads_what_it_runs_on_and_not_the_console(
    argv: list[str], tmp_path: Path
) -> None:
    """Each service's handler imports what it runs on, then stops on the missing broker
    setting (or configuration file) before connecting: what it has loaded by then is its
    import set. None is a web or report stack: a rolling restart waits for each service to
    consume again."""
    loaded = _run(
        "import contextlib, io\n"
        "from hub.cli.main import main\n"
        "with contextlib.redirect_stderr(io.StringIO()) as err:\n"
        f"    code = main({argv!r})\n"
        "assert code == 2, (code, err.getvalue())\n"
        "assert 'HUB_BOOTSTRAP_SERVERS' in err.getvalue() or 'none.yaml' in err.getvalue()\n",
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
            "HUB_DATA_DIR": str(tmp_path),
        },
    )
    assert "hub.kafka" in loaded  # the handler did import its service's modules
    assert not _offenders(loaded, (*WEB_AND_REPORTS, "faust")), _offenders(
        loaded, (*WEB_AND_REPORTS, "faust")
    )


def test_the_cli_copies_of_library_defaults_are_the_librarys() -> None:
    """hub/cli writes out a few library values its help text shows, rather than import the
    library to read them: they must not drift apart."""
    import hub.deploy
    from hub.audit.setup import AUDIT_SIGNER
    from hub.cli import audit, deploy

    assert audit.AUDIT_SIGNER == AUDIT_SIGNER
    for class_name, fields in deploy.OPTION_DEFAULTS.items():
        library = getattr(hub.deploy, class_name)()
        for field, value in fields.items():
            assert getattr(library, field) == value, f"{class_name}.{field}"


# A command that uses one module of a package (which it must load: the check ran that far),
# and what it must not load with it: the
# package __init__s that imported every submodule made each pay for the largest
# (tests/test_imports.py holds the modules themselves to it).
CONNECTOR_NEEDS_NONE = ("faust", "sqlalchemy", "alembic", "hub.audit.store", "hub.registry")
ONE_MODULE_OF_A_PACKAGE = [
    # hub.registry.compatibility, not the registry's server and store
    (
        ["schemas", "check"],
        "hub.registry.compatibility",
        (*WEB_AND_REPORTS, "sqlalchemy", "alembic", "confluent_kafka"),
    ),
    # hub.audit.records, not the audit store
    (
        ["partner", "check-record", "missing.json", "--registry-url", "http://127.0.0.1:9"],
        "hub.audit.records",
        (*WEB_AND_REPORTS, "alembic", "hub.audit.store", "hub.registry"),
    ),
    # connectors.base's sink and runtime, not the audit store nor the embedded registry
    *(
        (
            ["connector", command, "missing.yaml"],
            "connectors.base.sink",
            (*WEB_AND_REPORTS, *CONNECTOR_NEEDS_NONE),
        )
        for command in ("check", "run")
    ),
]


@pytest.mark.parametrize(
    ("argv", "needs", "banned"),
    ONE_MODULE_OF_A_PACKAGE,
    ids=[" ".join(argv[:2]) for argv, _, _ in ONE_MODULE_OF_A_PACKAGE],
)
def test_a_command_using_one_module_of_a_package_loads_not_the_rest(
    argv: list[str], needs: str, banned: tuple[str, ...], tmp_path: Path
) -> None:
    """Each runs its handler through main() until it stops on the missing file (or, for
    schemas check, to the end): what it has loaded by then is its import set."""
    loaded = _run(
        "import contextlib, io\n"
        "from hub.cli.main import main\n"
        "with contextlib.redirect_stderr(io.StringIO()) as err,"
        " contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        "assert code in (0, 1, 2), (code, err.getvalue())\n"
        "assert code != 2 or 'missing.' in err.getvalue(), err.getvalue()\n",
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
            "HUB_DATA_DIR": str(tmp_path),
        },
    )
    assert needs in loaded
    assert not _offenders(loaded, banned), _offenders(loaded, banned)
