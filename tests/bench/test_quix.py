"""The Quix row's bookkeeping: the application's result becomes a figure only when it did
the same work as the others, a ratio only when the disclosures match, the environment pins
the hub's own versions of the pieces, and a failure to make it is a reason, not a crash.
(The Quix application itself needs .venv-quix and a broker: bench/processor.py runs it.)"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
from pytest import MonkeyPatch

from bench import quix
from bench.extras import same_work_ratio

GOOD = {
    "consumed": 6000,
    "seconds": 4.0,
    "eps": 1500.0,
    "cpu_us_per_event": 420.5,
    "stage_us": {"verify": 80.0, "decode": 20.0, "decide_transform_audit": 150.25},
    "shared": 3210,
    "rejected": 0,
}


def test_a_complete_run_is_a_figure() -> None:
    got = quix.parse_result(json.dumps(GOOD), 6000)
    assert (got.eps, got.shared, got.cpu_us_per_event, got.note) == (1500.0, 3210, 420.5, None)
    # What the work's steps leave of the process's CPU is the framework's and the client's.
    assert got.stage_us == {
        "verify": 80.0,
        "decode": 20.0,
        "decide_transform_audit": 150.2,
        "quix_and_kafka": 170.2,
    }


@pytest.mark.parametrize(
    ("change", "n", "said"),
    [
        ({"consumed": 5999}, 6000, "consumed 5999 records, not the 6000 input"),
        ({"rejected": 2}, 6000, "rejected 2 of 6000"),
        ({"eps": "fast"}, 6000, "unreadable: ValueError"),
        ({"stage_us": None}, 6000, "unreadable: TypeError"),
    ],
)
def test_a_run_that_did_other_work_is_a_note(change: dict[str, object], n: int, said: str) -> None:
    got = quix.parse_result(json.dumps({**GOOD, **change}), n)
    assert (got.eps, got.shared, got.cpu_us_per_event) == (None, None, None)
    assert got.note is not None and said in got.note


@pytest.mark.parametrize("text", ["", "{", "[]", json.dumps({"eps": 1.0})])
def test_a_broken_result_file_is_a_note(text: str) -> None:
    got = quix.parse_result(text, 10)
    assert got.eps is None and got.note is not None and "unreadable" in got.note


def test_the_ratio_needs_the_same_disclosures() -> None:
    assert same_work_ratio(3000.0, 3210, 1500.0, 3210, "Quix") == (2.0, None)
    ratio, why = same_work_ratio(3000.0, 3210, 1500.0, 3209, "Quix")
    assert ratio is None and why is not None
    assert "Quix produced 3209" in why and "the hub 3210" in why
    assert same_work_ratio(3000.0, 3210, None, None, "Quix") == (None, None)  # its own note


def test_the_environment_pins_the_hubs_own_versions() -> None:
    wanted = quix.requirements()
    assert wanted[0] == quix.QUIXSTREAMS
    assert f"fastavro=={metadata.version('fastavro')}" in wanted  # the same codec
    assert f"pynacl=={metadata.version('pynacl')}" in wanted  # the same Ed25519
    # Never the hub's confluent-kafka: that is what quixstreams cannot have.
    assert not any(r.startswith("confluent-kafka") for r in wanted)


def test_an_environment_that_cannot_be_made_is_a_reason(
    tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    # A venv that exists but whose pip cannot install (no network, say): the reason is
    # pip's own last lines, without its warnings.
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        "#!/bin/sh\necho 'WARNING: retrying' >&2\n"
        "echo 'ERROR: No matching distribution found for quixstreams==3.28.1' >&2\nexit 1\n"
    )
    python.chmod(0o755)
    with pytest.raises(quix.QuixUnavailable) as caught:
        quix.ensure_venv(tmp_path / "venv")
    assert "No matching distribution found for quixstreams==3.28.1" in str(caught.value)
    assert "WARNING" not in str(caught.value)
    assert not (tmp_path / "venv" / ".installed").exists()  # tried again next run

    def unavailable() -> Path:
        raise caught.value

    monkeypatch.setattr(quix, "ensure_venv", unavailable)
    got = quix.quix_run(tmp_path, "127.0.0.1:1", "http://127.0.0.1:1", "t", 10)
    assert (got.eps, got.shared) == (None, None)
    assert got.note is not None
    assert got.note.startswith("Quix environment (.venv-quix) could not be made")
