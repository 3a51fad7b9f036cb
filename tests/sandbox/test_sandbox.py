"""The newcomer's path of README "Connect your own system" and docs/partners/connect.md, on a
real sandbox: it says where everything is, the registry holds every catalogue schema, a key
dropped in the folder is registered, an event published with it reaches its recipients and
shows in the IG console, and the dry run of that record says the same as the processor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hub.catalogue.schemas import load_catalogue
from hub.config import load_settings, project_root
from hub.deploy.load import load_topology
from tests.sandbox.conftest import RunningSandbox
from tests.sandbox.helpers import console_decisions, console_session, wait_delivered

pytestmark = pytest.mark.integration
ROOT = project_root()


def hub(sandbox: RunningSandbox, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", *args],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.stdout


def test_it_says_where_everything_is(sandbox: RunningSandbox) -> None:
    status = sandbox.status()
    assert status["bootstrap"] == sandbox.bootstrap
    assert status["registry_url"] == sandbox.registry
    topology = load_topology(load_settings().partnership_dir, ROOT / "schemas" / "avro")
    assert set(status["outputs"]) == set(topology.recipients)
    for recipient, output in status["outputs"].items():
        assert f"{recipient}  " in sandbox.text() or output in sandbox.text()
    guide = httpx.get(f"{sandbox.api}/partners/merseyside-police", timeout=10).text
    assert guide in sandbox.text()  # --partner printed the same guide
    for topic in topology.partner_topics("merseyside-police"):
        assert topic in guide
    # Every sink says it started, on its own output.
    logs = sandbox.root / "logs"
    for recipient in topology.recipients:
        assert "running; SIGTERM" in (logs / f"sink-{recipient}.log").read_text()


def test_registry_holds_every_catalogue_schema(sandbox: RunningSandbox) -> None:
    topology = load_topology(load_settings().partnership_dir, ROOT / "schemas" / "avro")
    catalogue = load_catalogue(ROOT / "schemas" / "avro")
    subjects = set(httpx.get(f"{sandbox.registry}/subjects/", timeout=10).json())
    for topic in topology.partner_topics():
        assert f"{topic}-value" in subjects
    slug = "safeguarding-concern"
    latest = httpx.get(
        f"{sandbox.registry}/subjects/partner.merseyside-police.{slug}.v1-value/versions/latest",
        timeout=10,
    ).json()
    event_type = catalogue.get(slug)
    assert event_type is not None
    standalone = ROOT / "schemas" / "avro" / "standalone" / f"{slug}.avsc"
    assert json.loads(latest["schema"]) == json.loads(standalone.read_text())


def test_register_a_key_publish_and_see_it(sandbox: RunningSandbox, tmp_path: Path) -> None:
    # 1. Register a key: the two openssl commands of the docs, the .pub into the folder.
    private = tmp_path / "merseyside-police.k1.key"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)], check=True
    )
    subprocess.run(
        [
            "openssl",
            "pkey",
            "-in",
            str(private),
            "-pubout",
            "-out",
            str(sandbox.keys / "merseyside-police.k1.pub"),
        ],
        check=True,
    )
    sandbox.wait_for_output("partner key registered: merseyside-police/k1")
    # 2. Publish with it (the Python SDK), keeping the record for a dry run.
    record = tmp_path / "record.json"
    published = hub(
        sandbox,
        *("partner", "publish", "--partner", "merseyside-police"),
        *("--event-type", "safeguarding-concern", "--signing-key", str(private)),
        *("--dump", str(record)),
    )
    event_id = published.split(" event ")[1].split()[0]
    # 3. The dry run, from the command line and from the sandbox's endpoint, agree.
    cli = json.loads(hub(sandbox, "partner", "check-record", str(record), "--json"))
    api = httpx.post(f"{sandbox.api}/check-record", content=record.read_bytes(), timeout=30).json()
    assert cli == api
    assert cli["verdict"] == "accepted"
    shared = sorted(d["recipient"] for d in cli["decisions"] if d["outcome"] == "shared")
    assert shared, cli  # the sample event is one an agreement shares
    # 4. It reaches those recipients' outputs and the console shows every decision.
    wait_delivered(sandbox.status()["outputs"], shared, event_id)
    console = console_session(sandbox.console, sandbox.console_user, sandbox.console_password)
    try:
        decisions = console_decisions(console, event_id, len(cli["decisions"]))
    finally:
        console.close()
    assert sorted(d["recipient"] for d in decisions if d["outcome"] == "shared") == shared
    assert len(decisions) == len(cli["decisions"])


def test_it_watches_the_agreements(sandbox: RunningSandbox) -> None:
    """A broken agreement file is reported and changes nothing; once fixed, the agreements
    are applied again (topics, schemas, sinks) and the processor carries on."""
    agreement = next((sandbox.partnership / "agreements").rglob("v1.yaml"))
    original = agreement.read_text()
    agreement.write_text(original + "\nbroken: [\n")
    try:
        sandbox.wait_for_output("agreements do not load; the processor keeps the rules in force")
    finally:
        agreement.write_text(original)
    sandbox.wait_for_output("agreements applied: ", timeout=60)
    assert "new sinks: none" in sandbox.text()
    assert sandbox.proc.poll() is None
