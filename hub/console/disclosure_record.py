"""A subject's disclosure record as a document (printed to PDF by
``hub.agreements.document_pdf``), for a response to a subject access request (UK GDPR
Article 15: the recipients of the person's data, and the purposes).

It names no identifier: the report is re-run from the pseudonyms its access-log entry
holds, and the officer knows whom it is about. It says what was shared, when it happened,
when it was decided, by whom, to whom, under which agreement and legal basis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def _sent_on(sent: Sequence[dict[str, Any]], name: Callable[[str], str]) -> tuple[Section, ...]:
    """Corrections and retraction notices the hub sent on about these events (UK GDPR
    Art 19), each with the recipient system's receipts; no section when there were none."""
    if not sent:
        return ()

    def receipts(r: dict[str, Any]) -> str:
        got = [f"{x['status']} {str(x['at'])[:16].replace('T', ' ')}" for x in r["receipts"]]
        return "; ".join(got) or "none yet"

    table = tuple(
        (
            r["decided_at"][:16].replace("T", " "),
            name(r["recipient"]),
            "retraction notice" if r["outcome"] == "retracted"
            else f"correction (revision {r.get('revision') or 1})",
            receipts(r),
        )
        for r in sent
    )  # fmt: skip
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
