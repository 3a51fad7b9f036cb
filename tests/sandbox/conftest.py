"""One real ``hub sandbox`` for the package's integration tests, started as a newcomer would
(the command line, ports chosen freely), stopped with Ctrl-C by tests/sandbox/test_stop.py."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.config import project_root

# Small, so the hostile "oversize" record need not be a megabyte (the processor's check is
# the same at any limit).
MAX_RECORD_BYTES = 4096
STARTUP_SECONDS = 240


@dataclass
class RunningSandbox:
    proc: subprocess.Popen[bytes]
    output: Path
    root: Path
    partnership: Path
    bootstrap: str
    registry: str
    console: str
    console_user: str
    console_password: str
    api: str
    keys: Path
    env: dict[str, str]

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for_output(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert self.proc.poll() is None, f"sandbox exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.text()}"
            time.sleep(0.2)

    def status(self) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(self.api, timeout=10).json()
        return found


def _field(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the sandbox's output:\n{text}"
    return found.group(1)


def descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (from /proc), zombies excluded."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home = tmp_path_factory.mktemp("sandbox")
    output = home / "sandbox.out"
    # A copy of the reference partnership: the tests change its agreements.
    partnership = home / "partnership"
    shutil.copytree(project_root() / "partnership", partnership)
    env = {
        **os.environ,
        "HUB_PARTNERSHIP_DIR": str(partnership),
        "HUB_DATA_DIR": str(home / "data"),
        "HUB_MAX_RECORD_BYTES": str(MAX_RECORD_BYTES),
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, "-m", "hub.cli.main", "sandbox", "--dir", str(home / "sb")]
    argv += ["--broker-port", "0", "--registry-port", "0", "--console-port", "0"]
    argv += ["--api-port", "0", "--partner", "merseyside-police"]
    with open(output, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "press Ctrl-C" not in output.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the sandbox did not start:\n{output.read_text(errors='replace')}")
            time.sleep(0.25)
        text = output.read_text()
        running = RunningSandbox(
            proc=proc,
            output=output,
            root=home / "sb",
            partnership=partnership,
            bootstrap=_field(text, r"Kafka bootstrap: +(\S+)"),
            registry=_field(text, r"schema registry: +(\S+)"),
            console=_field(text, r"IG console: +(\S+)"),
            console_user=_field(text, r"\(user (\S+),"),
            console_password=_field(text, r"password (\S+);"),
            api=_field(text, r"POST (\S+)/check-record"),
            keys=Path(_field(text, r"drop public keys in: (\S+)/<partner>")),
            # The variables the sandbox's "export" line gives for other hub commands.
            env={
                **env,
                "HUB_BOOTSTRAP_SERVERS": _field(text, r"export HUB_BOOTSTRAP_SERVERS=(\S+)"),
                "HUB_SCHEMA_REGISTRY_URL": _field(text, r" HUB_SCHEMA_REGISTRY_URL=(\S+)"),
                "HUB_DATA_DIR": _field(text, r" HUB_DATA_DIR=(\S+)"),
            },
        )
        yield running
    finally:
        if proc.poll() is None:  # test_stop did not run (or failed): leave nothing behind
            left = descendants(proc.pid)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            for pid in left:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
