"""`hub agreements whatif`: the console's what-if from the shell (issue 17).

Bad input ends with exit 2 and a message naming the file or option and what to fix. A run
over a recorded topic file (through the real schema registry, no broker) prints a
percentage and the same result the console's engine gives for the same draft.
"""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from connectors.synthetic.police import PoliceFeed
from hub.agreements import load_agreements
from hub.agreements.loader import load_agreement
from hub.catalogue import EventType
from hub.cli.agreements_whatif import FIRST_DAY, LAST_DAY, ProgressLine, as_dict, summary_lines
from hub.cli.main import main
from hub.console.whatif import Progress, RecipientDiff, TopicFileSource, WhatIfResult, run_whatif
from hub.console.whatif_sources import percent
from hub.errors import Rejected

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "partner.merseyside-police.safeguarding-concern.v1"


def write_draft(folder: Path, **changes: Any) -> Path:
    """police-msn v2 as a draft file outside the register: also domestic abuse concerns, and
    no borough (as the console's tests draft it)."""
    data = yaml.safe_load((ROOT / "partnership/agreements/police-msn/v1.yaml").read_text())
    data.update(
        version=2,
        status="draft",
        supersedes=1,
        change_note="Add domestic abuse concerns; stop sending the borough.",
        condition='event.concern_category in ["CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY", '
        '"DOMESTIC_ABUSE"]',
        fields=[f for f in data["fields"] if f["id"] != "borough"],
        approval={},
    )
    data.update(changes)
    path = folder / "police-msn-draft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def whatif(*args: str) -> int:
    return main(["agreements", "whatif", *args])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["{missing}"], "no such file: give the draft agreement's YAML file"),
        (["{draft}", "--from", "2026-13-01"], "--from '2026-13-01' is not a day"),
        (["{draft}", "--from", "2026-11-02", "--to", "2026-11-01"], "is before --from"),
        (["{draft}", "--limit", "0"], "--limit 0"),
        (["{draft}", "--topic", TOPIC, "--registry-url", "http://r"], "give the file too"),
        (["{draft}", "--topic-file", "{draft}", "--registry-url", "http://r"], "--topic partner"),
        (
            ["{draft}", "--topic-file", "{missing}", "--topic", TOPIC, "--registry-url", "x"],
            "give the recorded topic file",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    draft = write_draft(tmp_path)
    given = [a.format(draft=draft, missing=tmp_path / "nope.yaml") for a in args]
    assert whatif(*given) == 2
    err = capsys.readouterr().err
    assert says in err


def test_a_draft_that_is_not_valid_or_names_the_unknown_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nversion: [\n")
    assert whatif(str(broken), "--registry-url", "http://r") == 2
    assert str(broken) in capsys.readouterr().err
    unknown_type = write_draft(tmp_path, event_types=["no-such-event"])
    assert whatif(str(unknown_type), "--registry-url", "http://r") == 2
    err = capsys.readouterr().err
    assert str(unknown_type) in err and "'no-such-event' is not in the catalogue" in err
    unknown_partner = write_draft(tmp_path, providers=["nobody-pd"])
    assert whatif(str(unknown_partner), "--registry-url", "http://r") == 2
    assert "provider 'nobody-pd' is not a partner: fix providers" in capsys.readouterr().err


def test_a_topic_file_cut_short_is_refused_with_where(tmp_path: Path) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes(b"\x00\x00\x01\x00abc")  # says 256 bytes, holds 3
    source = TopicFileSource(cut, TOPIC, "http://127.0.0.1:1", _catalogue())
    now = datetime.now(UTC)
    with pytest.raises(Rejected, match="cut short at byte 0"):
        list(source.read([TOPIC], now, now, 10))


def _catalogue() -> Any:
    from hub.catalogue.schemas import load_catalogue

    return load_catalogue(ROOT / "schemas" / "avro")


def test_percent_never_says_100_before_the_end() -> None:
    assert percent(0, None) is None and percent(5, 0) is None
    assert percent(999_999, 1_000_000) == 99.9
    assert percent(10, 10) == 100.0 and percent(12, 10) == 100.0  # a short-reported end


def test_progress_line_in_a_log_prints_each_tenth(tmp_path: Path) -> None:
    with (tmp_path / "log").open("w+") as out:
        line = ProgressLine(out)
        for read in range(0, 1001, 50):
            line(Progress(read, percent(read, 1000)))
        out.seek(0)
        text = out.read().splitlines()
    assert text[0] == "what-if:   0.0% 0 events read"
    assert text[-1] == "what-if: 100.0% 1,000 events read"
    assert len(text) == 11  # 0%, 10%, ... 100%: not one line per report


def test_summary_names_each_change_per_recipient() -> None:
    result = WhatIfResult("police-msn@v2", FIRST_DAY, LAST_DAY, events_read=3, compared=3)
    result.recipients["modern-slavery-network"] = RecipientDiff(
        before=1, after=2, added=1, fields_removed={"borough"}
    )
    text = "\n".join(summary_lines(result))
    assert "police-msn@v2 would share differently recorded for these 3 events" in text
    row = next(line for line in text.splitlines() if line.startswith("modern-slavery"))
    assert row.split()[:5] == ["modern-slavery-network", "1", "2", "+1", "-0"]
    assert row.endswith("- | borough | -")
    data = as_dict(result)
    assert data["recipients"]["modern-slavery-network"] == {
        "before": 1,
        "after": 2,
        "newly_shared": 1,
        "newly_withheld": 0,
        "fields_added": [],
        "fields_removed": ["borough"],
        "fields_changed": [],
    }


def record_topic_file(path: Path, registry_url: str, concern_type: EventType, n: int) -> None:
    """PoliceFeed events as the police's serializer writes them, in a topic file."""
    serialize = AvroSerializer(SchemaRegistryClient({"url": registry_url}), concern_type.schema_str)
    with path.open("wb") as fh:
        for event in PoliceFeed(seed=11).events(n):
            value = serialize(event, SerializationContext(TOPIC, MessageField.VALUE))
            assert value is not None
            fh.write(len(value).to_bytes(4, "big") + value)


def test_a_topic_file_run_equals_the_console_engine(
    tmp_path: Path, registry_url: str, concern_type: EventType, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = tmp_path / "police.bin"
    record_topic_file(recorded, registry_url, concern_type, 300)
    draft = write_draft(tmp_path)
    code = whatif(
        str(draft), "--topic-file", str(recorded), "--topic", TOPIC,
        "--registry-url", registry_url, "--json",
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    got = json.loads(out)
    assert "what-if: 100.0% 300 events read" in err
    source = TopicFileSource(recorded, TOPIC, registry_url, _catalogue())
    agreements = load_agreements(ROOT / "partnership" / "agreements")
    expected = run_whatif(load_agreement(draft), agreements, source, None, FIRST_DAY, LAST_DAY)
    got.pop("seconds")
    assert got == as_dict(expected)
    assert gc.get_freeze_count() == 0  # the command gave the collector back
    msn = got["recipients"]["modern-slavery-network"]
    # The draft adds domestic abuse concerns and stops sending the borough.
    assert got["events_read"] == got["compared"] == 300 and got["changed"]
    assert msn["newly_shared"] > 0 and msn["newly_withheld"] == 0
    assert "borough" in msn["fields_removed"]


def test_a_registry_that_does_not_answer_is_an_error_not_an_empty_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every record would fail to decode: reported (exit 1), never "0 events, no change"."""
    recorded = tmp_path / "police.bin"
    value = b"\x00\x00\x00\x00\x01" + b"\x02" * 40  # wire format, schema id 1
    recorded.write_bytes(len(value).to_bytes(4, "big") + value)
    draft = write_draft(tmp_path)
    code = whatif(
        str(draft), "--topic-file", str(recorded), "--topic", TOPIC,
        "--registry-url", "http://127.0.0.1:1",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err
    assert "could not read the recorded events" in err


def test_records_the_processor_dead_letters_are_not_compared(
    tmp_path: Path, registry_url: str, concern_type: EventType
) -> None:
    """The what-if decodes as the processor admits (hub/codec/admission.py): an event on the
    police's topic that claims another source partner was dead-lettered, never decided, so
    it is not among the events the what-if re-decides."""
    serialize = AvroSerializer(SchemaRegistryClient({"url": registry_url}), concern_type.schema_str)
    recorded = tmp_path / "police.bin"
    with recorded.open("wb") as fh:
        for i, event in enumerate(PoliceFeed(seed=12).events(12)):
            if i % 4 == 0:  # three of them claim to be the council's
                event["envelope"]["source_partner"] = "liverpool-cc"
            value = serialize(event, SerializationContext(TOPIC, MessageField.VALUE))
            assert value is not None
            fh.write(len(value).to_bytes(4, "big") + value)
    source = TopicFileSource(recorded, TOPIC, registry_url, _catalogue())
    agreements = load_agreements(ROOT / "partnership" / "agreements")
    draft = load_agreement(write_draft(tmp_path))
    result = run_whatif(draft, agreements, source, None, FIRST_DAY, LAST_DAY)
    assert result.events_read == result.compared == 9
