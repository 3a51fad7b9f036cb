"""What partner case systems write: CSV and JSON-lines exports of synthetic events.

The police export uses its own column names and codes (the mapping in
``connectors/examples/police-concerns-csv.yaml`` turns them into events); everything else
is exported in the catalogue's JSON shape. Files are written under a ``.part`` name and
renamed, as a well-behaved export job does, so a drop folder never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.synthetic.generator import SyntheticEvent
from hub.catalogue.json_codec import event_to_json
from hub.catalogue.schemas import Catalogue, EventType


def json_default(value: Any) -> str:
    if isinstance(value, dtime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def event_json(event_type: EventType, event: dict[str, Any]) -> str:
    """One event in the catalogue's JSON shape (what the web hook takes)."""
    return json.dumps(event_to_json(event_type, event), default=json_default)


def jsonl_export(catalogue: Catalogue, events: list[SyntheticEvent]) -> bytes:
    lines = []
    for e in events:
        et = catalogue.get(e.event_type)
        assert et is not None
        lines.append(json.dumps(event_to_json(et, e.event), default=json_default))
    return ("\n".join(lines) + "\n").encode()


CSV_COLUMNS = [
    "Incident Ref", "Occurred", "Forename", "Surname", "Aliases", "DOB", "Sex", "NHS No",
    "PNC ID", "Address", "Postcode", "Subject Type", "Category", "Risk", "Borough", "Narrative",
]  # fmt: skip


def police_csv(events: list[dict[str, Any]], bad_rows: bool = False) -> bytes:
    """The police case system's export of safeguarding concerns, in its own column names
    and codes (what ``connectors/examples/police-concerns-csv.yaml`` maps). With
    ``bad_rows``, three rows a real export might contain are slipped in after the fourth:
    an impossible date, an unknown category and a row cut short."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # as Excel and most case systems write
    w.writerow(CSV_COLUMNS)
    sex = {"FEMALE": "F", "MALE": "M", "OTHER": "X", "UNKNOWN": "U"}
    for i, e in enumerate(events):
        s = e["subject"]
        local = e["envelope"]["occurred_at"].astimezone(ZoneInfo("Europe/London"))
        w.writerow(
            [
                e["source_reference"],
                local.strftime("%d/%m/%Y %H:%M"),
                s["given_name"],
                s["family_name"],
                "|".join(s["aliases"]),
                s["date_of_birth"].strftime("%d/%m/%Y") if s["date_of_birth"] else "",
                sex[s["gender"]],
                s["nhs_number"] or "",
                s["pnc_id"] or "",
                s["address"] or "",
                s["postcode"] or "",
                {"CHILD": "Child", "ADULT": "Adult"}.get(e.get("subject_kind", ""), ""),
                e["concern_category"],
                e["risk_level"][0],
                e["borough"].replace("_", " ").title(),
                e["narrative"],
            ]
        )
        if bad_rows and i == 3:
            # What real exports contain now and then; each row is rejected, the rest goes on.
            w.writerow(["MP-BAD-1", "31/02/2026 10:00", "A", "B"] + [""] * 12)  # no such date
            w.writerow(["MP-BAD-2", "02/11/2026 10:00", "C", "D", "", "", "F", "", "", "", "",
                        "Child", "NOT_A_CATEGORY", "M", "Liverpool", "x"])  # fmt: skip
            w.writerow(["MP-BAD-3", "02/11/2026 10:00", "only", "four cells"])  # malformed
    return buf.getvalue().encode()


def drop_atomically(folder: Path, name: str, content: bytes) -> None:
    """Write then rename: the drop folder never sees a half-written file."""
    tmp = folder / f"{name}.part"
    tmp.write_bytes(content)
    tmp.replace(folder / name)
