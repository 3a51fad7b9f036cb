"""`hub registry serve`: arguments, serving with the real client, Ctrl-C, ids across restarts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from hub.cli import registry as registry_cli
from tests.cli.command import parse

PING = json.dumps({"type": "record", "name": "Ping", "fields": [{"name": "n", "type": "int"}]})
# Builds the parser the way hub.cli.main will, without depending on main's wiring.
RUNNER = (
    "import argparse, sys\n"
    "from hub.cli import registry\n"
    "parser = argparse.ArgumentParser(prog='hub')\n"
    "registry.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)


def test_arguments_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = parse(["registry", "serve"])
    assert (args.host, args.port, args.db) == ("127.0.0.1", 8081, None)
    assert args.handler is registry_cli.handle_serve
    args = parse(["registry", "serve", "--host", "0.0.0.0", "--port", "0", "--db", "sqlite://"])
    assert (args.host, args.port, args.db) == ("0.0.0.0", 0, "sqlite://")
    assert registry_cli.database_url("sqlite://") == "sqlite://"
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "state"))
    assert registry_cli.database_url(None) == f"sqlite:///{tmp_path / 'state' / 'registry.db'}"
    assert (tmp_path / "state").is_dir()
    with pytest.raises(SystemExit):
        parse(["registry"])  # a subcommand is required


def test_serve_until_stopped(tmp_path: Path) -> None:
    stop, lines = threading.Event(), list[str]()
    ready = threading.Event()

    def announce(line: str) -> None:
        lines.append(line)
        ready.set()

    db = f"sqlite:///{tmp_path / 'registry.db'}"
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(registry_cli.serve("127.0.0.1", 0, db, stop, announce))
    )
    worker.start()
    try:
        assert ready.wait(10)
        url = lines[0].split()[4]
        with SchemaRegistryClient({"url": url}) as client:
            assert client.register_schema("ping-value", Schema(PING, "AVRO")) == 1
            assert client.get_compatibility() == "BACKWARD"
    finally:
        stop.set()
        worker.join(10)
    assert result == [0]
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


def _start(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUNNER,
            *("registry", "serve", "--port", "0"),
            "--data-dir",
            data_dir,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on http://127.0.0.1:" in line, proc.stderr.read() if proc.stderr else ""
    return proc, line.split()[4]


def test_ctrl_c_stops_cleanly_and_ids_survive_a_restart(tmp_path: Path) -> None:
    proc, url = _start(tmp_path)
    try:
        with SchemaRegistryClient({"url": url}) as client:
            first_id = client.register_schema("ping-value", Schema(PING, "AVRO"))
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
    assert (tmp_path / "registry.db").is_file()

    proc, url = _start(tmp_path)
    try:
        with SchemaRegistryClient({"url": url}) as client:
            assert client.get_schema(first_id).schema_str == PING
            assert client.get_versions("ping-value") == [1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
