"""Every command a newcomer is shown (README "Connect your own system", docs/partners/
connect.md) parses with the real parser and is run by a test, so the page cannot drift from
the commands. A command added to the pages fails here until a test runs it."""

from __future__ import annotations

import re
import shlex

import pytest

from hub.config import project_root
from tests.deploy.test_guide import _commands, _parser

ROOT = project_root()

# Which test runs each command the pages show, and the text in it that runs it.
EXERCISED = {
    ("sandbox",): ("tests/sandbox/conftest.py", '"hub.cli.main", "sandbox"'),
    ("partner", "publish"): ("tests/sandbox/test_sandbox.py", '("partner", "publish"'),
    ("partner", "check-record"): ("tests/sandbox/test_sandbox.py", '"partner", "check-record"'),
    ("deadletter", "list"): ("tests/sandbox/test_kafkajs.py", '"deadletter", "list"'),
    ("deadletter", "skip"): ("tests/processor/test_skip.py", '"deadletter", "skip"'),
    ("connector", "check"): ("tests/connectors/test_cli.py", '"connector", "check"'),
    ("connector", "run"): ("tests/integration/services.py", '"connector", "run"'),
    ("deploy", "apply"): ("tests/deploy/test_cli.py", 'run(["deploy", "apply"])'),
    ("audit", "conflicts"): ("tests/audit/test_derived.py", "handle_conflicts("),
}


def _pages() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Connect your own system", 1)[1].split("\n## ", 1)[0]
    return {
        "README.md#connect-your-own-system": section,
        "docs/partners/connect.md": (ROOT / "docs" / "partners" / "connect.md").read_text(),
    }


def _shown() -> list[tuple[str, str, bool]]:
    out = []
    for page, text in _pages().items():
        # The pages write `.venv/bin/hub`: the same command.
        text = text.replace(".venv/bin/hub ", "hub ")
        out += [(page, cmd, complete) for cmd, complete in _commands(text)]
    return out


def _path(argv: list[str]) -> tuple[str, ...]:
    words = [w for w in argv if not w.startswith("-")]
    two = tuple(words[:2])
    return two if two in EXERCISED else tuple(words[:1])


@pytest.mark.parametrize(("page", "command", "complete"), _shown())
def test_shown_command_parses_and_is_run_by_a_test(page: str, command: str, complete: bool) -> None:
    argv = shlex.split(command)[1:]
    if complete:
        try:
            _parser().parse_args(argv)
        except SystemExit as exc:  # pragma: no cover - the assertion says which
            pytest.fail(f"{page}: `{command}` does not parse ({exc})")
    path = _path(argv)
    assert path in EXERCISED, f"{page}: `{command}`: no test runs `hub {' '.join(path)}`"
    file, evidence = EXERCISED[path]
    assert evidence in (ROOT / file).read_text(), f"{file} no longer runs `hub {' '.join(path)}`"


def test_the_pages_show_the_newcomers_path() -> None:
    shown = {_path(shlex.split(cmd)[1:]) for _, cmd, _ in _shown()}
    assert {("sandbox",), ("partner", "publish"), ("partner", "check-record")} <= shown


def test_node_example_options_exist() -> None:
    """The Node.js command of connect.md uses only options publish.mjs reads."""
    script = (ROOT / "tests" / "node" / "publish.mjs").read_text()
    known = set(re.findall(r'^\s+"?([a-z-]+)"?: \{ type:', script, re.MULTILINE))
    text = _pages()["docs/partners/connect.md"].replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("node tests/node/publish.mjs")]
    used = {w[2:] for w in shlex.split(line) if w.startswith("--")}
    assert used and used <= known, used - known
