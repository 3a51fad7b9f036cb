"""bench/whatif.py's pure parts: the draft it times, the events it records, how it reads a
child's figures, and how a run that read less than was recorded is refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import whatif
from bench.extras import WHATIF_KEYS, Phases
from hub.agreements.loader import load_agreement
from hub.agreements.models import Status


def test_the_draft_is_a_next_version_that_changes_what_is_shared(tmp_path: Path) -> None:
    draft = load_agreement(whatif.write_draft(tmp_path / "draft.yaml"))
    assert (draft.id, draft.version, draft.status) == ("police-msn", 2, Status.DRAFT)
    assert draft.condition is not None and "DOMESTIC_ABUSE" in draft.condition
    assert "borough" not in {f.id for f in draft.fields}


def test_recorded_events_are_spaced_from_the_first_day_with_their_lag_kept() -> None:
    events = list(whatif._events(5, seed=3))
    assert len({e["envelope"]["event_id"] for e in events}) == 5
    times = [e["envelope"]["occurred_at"] for e in events]
    assert times == [whatif.FIRST + i * whatif.SPACING for i in range(5)]
    for e in events:
        lag = e["envelope"]["recorded_at"] - e["envelope"]["occurred_at"]
        assert lag.total_seconds() >= 5 * 60  # the feed records 5 to 240 minutes later


def test_a_child_is_timed_from_its_own_usage(tmp_path: Path) -> None:
    burn = "import json; sum(i * i for i in range(3_000_000)); print(json.dumps({'ok': 1}))"
    t = whatif.timed([sys.executable, "-c", burn], {}, tmp_path)
    assert t.exit_code == 0 and t.result == {"ok": 1}
    assert 0 < t.cpu_s <= t.wall_s + 0.05 and t.rss_mb > 1
    failed = whatif.timed(
        [sys.executable, "-c", "import sys; sys.exit('no registry')"], {}, tmp_path
    )
    assert failed.exit_code == 1 and failed.result == {} and "no registry" in failed.stderr_tail


def test_figures_refuse_a_run_that_failed_or_read_less_than_was_recorded() -> None:
    ok = whatif.Timed(20.0, 18.0, 150.0, 0, {"events_read": 990, "outside": 10,
                                              "compared": 990, "changed": True}, "")  # fmt: skip
    got = whatif._figures("whatif_cli", ok, 1000)
    assert got["whatif_cli_eps"] == 50.0 and got["whatif_cli_1m_seconds"] == 20000.0
    short = whatif.Timed(20.0, 18.0, 150.0, 0, {**ok.result, "events_read": 500}, "")
    with pytest.raises(RuntimeError, match="read 510 events of 1,000"):
        whatif._figures("whatif_cli", short, 1000)
    with pytest.raises(RuntimeError, match="exit 1: boom"):
        whatif._figures("whatif_cli", whatif.Timed(1, 1, 1, 1, {}, "boom"), 1000)


def test_the_phase_skipped_leaves_every_key_null_with_the_reason() -> None:
    phases = Phases()
    phases.whatif(0)
    assert {k: phases.figures[k] for k in WHATIF_KEYS} == dict.fromkeys(WHATIF_KEYS)
    assert all("--whatif-cli-events 0" in phases.reasons[k] for k in WHATIF_KEYS)
