"""A subject's disclosure record as a document (printed to PDF by
``hub.agreements.document_pdf``), for a response to a subject access request (UK GDPR
Article 15: the recipients of the person's data, and the purposes).

It names no identifier: the report is re-run from the pseudonyms its access-log entry
holds, and the officer knows whom it is about. It says what was shared, when it happened,
when it was decided, by whom, to whom, under which agreement and legal basis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.agreements.document import Document, Section
from hub.console.words import TREATMENTS


def _fields(fields: dict[str, dict[str, str]]) -> str:
    groups: dict[str, list[str]] = {}
    for path, f in sorted(fields.items()):
        head, _, rest = path.partition(".")
        if head == "envelope":
            continue
        treatment = f.get("treatment", "keep")
        kind = treatment.split(":", 1)[0]
        label = (rest or head).replace("_", " ")
        groups.setdefault(head if rest else "", []).append(
            label if treatment == "keep" else f"{label} ({TREATMENTS.get(kind, kind)})"
        )
    return "; ".join(
        (f"{head.replace('_', ' ')}: " if head else "") + ", ".join(items)
        for head, items in groups.items()
    )


def _basis(r: dict[str, Any]) -> str:
    basis = r.get("legal_basis") if r["outcome"] == "shared" else None
    return (r.get("agreement_title") or "") + (f"; {basis}" if basis else "")


def sent_on_what(r: Mapping[str, Any], *, revision: bool = True) -> str:
    """What was sent on (UK GDPR Art 19): a retraction notice, or a correction (with its
    revision, where the report has no column for it)."""
    if r["outcome"] == "retracted":
        return "retraction notice"
    return f"correction (revision {r.get('revision') or 1})" if revision else "correction"


def receipts_text(r: Mapping[str, Any], at: Callable[[str], str] = str) -> str:
    """The recipient system's receipts of what was sent on, ``at`` spelling each time (the
    PDF to the minute, the CSV as stored); "none yet" when there is none."""
    got = [f"{x['status']} {at(str(x['at']))}" for x in r.get("receipts") or ()]
    return "; ".join(got) or "none yet"


def _minute(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _sent_on(sent: Sequence[dict[str, Any]], name: Callable[[str], str]) -> tuple[Section, ...]:
    """Corrections and retraction notices the hub sent on about these events (UK GDPR
    Art 19), each with the recipient system's receipts; no section when there were none."""
    if not sent:
        return ()
    table = tuple(
        (_minute(r["decided_at"]), name(r["recipient"]), sent_on_what(r), receipts_text(r, _minute))
        for r in sent
    )
    return (
        Section(
            "Corrections and retractions sent on",
            ("When a partner corrected or withdrew one of these records, the hub told every "
             "recipient that had received it: an update with the corrected revision, or a "
             "retraction notice to delete it. The receipt is the recipient system's "
             "confirmation.",),
            ("Sent", "To", "What", "Receipt"),
            table,
        ),
    )  # fmt: skip


def disclosure_record(
    rows: Sequence[dict[str, Any]],
    consultation_id: str,
    made_at: str,
    name: Callable[[str], str],
    sent: Sequence[dict[str, Any]] = (),
) -> Document:
    shared = [r for r in rows if r["outcome"] == "shared"]
    recipients = sorted({name(r["recipient"]) for r in shared})
    withheld = len(rows) - len(shared)
    summary = (
        f"{len(shared)} disclosure(s) found"
        + (f", to: {', '.join(recipients)}." if recipients else ".")
        + (f" Also {withheld} decision(s) not to share." if withheld else "")
    )
    table = tuple(
        (
            (r.get("occurred_at") or "not recorded")[:16].replace("T", " "),
            r["decided_at"][:16].replace("T", " "),
            name(r["provider"]),
            name(r["recipient"]) + ("" if r["outcome"] == "shared" else " (not shared)"),
            _basis(r),
            _fields(r.get("fields") or {}) if r["outcome"] == "shared" else "",
        )
        for r in rows
    )  # fmt: skip
    return Document(
        "Record of disclosures about a person",
        f"From the hub's audit, for a subject access request. Search {consultation_id} of "
        f"the access log, made {made_at[:16].replace('T', ' ')} UTC.",
        (
            Section("Summary", (summary,)),
            Section(
                "Disclosures",
                ("Times are UTC. 'Happened' is when the event happened as the partner recorded "
                 "it; 'decided' is when the hub shared it (or decided not to).",),
                ("Happened", "Decided", "From", "To", "Agreement and legal basis", "Data shared"),
                table,
                ("Nothing else about this person was shared through the hub.",) if rows else
                ("No disclosure about this person is recorded.",),
            ),
            *_sent_on(sent, name),
        ),
        "",
    )  # fmt: skip
