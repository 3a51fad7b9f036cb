"""A partner that does not use Python: KafkaJS, @kafkajs/confluent-schema-registry and Node's
crypto (tests/node/publish.mjs), publishing through the sandbox. Its events reach their
recipients; its hostile records are dead-lettered with the reasons docs/partners/connect.md
promises, and the processor goes on."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.config import project_root
from tests.sandbox.conftest import MAX_RECORD_BYTES, RunningSandbox
from tests.sandbox.helpers import wait_delivered
from tests.sandbox.test_sandbox import hub

pytestmark = pytest.mark.integration
NODE_DIR = project_root() / "tests" / "node"
PUBLISH = NODE_DIR / "publish.mjs"
TOPIC = "partner.merseyside-police.safeguarding-concern.v1"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("Node.js is not installed: apt-get install nodejs npm")
    if not (NODE_DIR / "node_modules" / "kafkajs").is_dir():
        pytest.fail("KafkaJS is not installed: make node-deps (npm ci --prefix tests/node)")
    return found


def publish(node: str, sandbox: RunningSandbox, *args: str) -> list[dict[str, str]]:
    sample = sandbox.root / "samples" / "merseyside-police.safeguarding-concern.json"
    done = subprocess.run(
        [
            node,
            str(PUBLISH),
            "--bootstrap",
            sandbox.bootstrap,
            "--registry",
            sandbox.registry,
            "--topic",
            TOPIC,
            "--event",
            str(sample),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def dev_key(sandbox: RunningSandbox) -> tuple[str, str]:
    """The development key the sandbox made for --partner merseyside-police."""
    path = sandbox.keys / "merseyside-police.dev1.key"
    assert path.exists()
    return str(path), "merseyside-police/dev1"


def dead_letters(sandbox: RunningSandbox, want: int) -> list[str]:
    deadline = time.monotonic() + 60
    while True:
        lines = hub(sandbox, "deadletter", "list").splitlines()
        rows = [line for line in lines if ": " in line and "dead letters" not in line]
        if len(rows) >= want or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def test_kafkajs_partner(node: str, sandbox: RunningSandbox, tmp_path: Path) -> None:
    key, key_id = dev_key(sandbox)
    record = tmp_path / "record.json"
    sent = publish(node, sandbox, "--signing-key", key, "--key-id", key_id, "--count", "5")
    sent += publish(node, sandbox, "--signing-key", key, "--key-id", key_id, "--dump", str(record))
    assert len(sent) == 6
    # The dry run of what Node sent: accepted, and says who gets it.
    verdict = json.loads(hub(sandbox, "partner", "check-record", str(record), "--json"))
    assert verdict["verdict"] == "accepted", verdict
    shared = [d["recipient"] for d in verdict["decisions"] if d["outcome"] == "shared"]
    assert shared
    outputs = sandbox.status()["outputs"]
    for item in sent:  # the same sample each time (new ids): the same recipients
        wait_delivered(outputs, shared, item["event_id"])

    # Hostile: a key that is not the registered one, claiming its id.
    stranger = tmp_path / "stranger.key"
    stranger.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    publish(node, sandbox, "--signing-key", str(stranger), "--key-id", key_id)
    # Hostile: the police's event on another partner's topic (correctly signed for it).
    other = sandbox.status()["partner_topics"]["liverpool-cc"][0]
    publish(node, sandbox, "--signing-key", key, "--key-id", key_id, "--send-topic", other)
    # Hostile: over the processor's record limit.
    publish(
        node,
        sandbox,
        "--signing-key",
        key,
        "--key-id",
        key_id,
        "--pad",
        f"source_reference:{2 * MAX_RECORD_BYTES}",
    )
    rows = dead_letters(sandbox, 3)
    reasons = sorted(row.split(": ", 1)[0].rsplit(None, 1)[-1] for row in rows)
    assert reasons == ["bad-signature", "malformed", "partner-mismatch"], rows
    assert any(f"{other}:" in r and "partner-mismatch" in r for r in rows), rows
    assert any(f"over the {MAX_RECORD_BYTES}-byte limit" in r for r in rows), rows
    # The processor went on: a good record after the hostile ones is still delivered.
    [after] = publish(node, sandbox, "--signing-key", key, "--key-id", key_id)
    wait_delivered(outputs, shared, after["event_id"])
