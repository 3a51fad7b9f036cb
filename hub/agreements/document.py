"""An agreement version as the information sharing agreement the parties sign.

The document is generated from the very version the hub enforces, so what is signed cannot
drift from what is shared: the conditions are the CEL condition put into words
(``hub.policy.english``), the data items are the field clauses with their treatment in
words, and the enforced rule and a fingerprint of the version close the document. The
sections follow the ICO data sharing code's checklist for a data sharing agreement:
purpose, parties and controllers, legal basis and gateways, the data items, when they are
shared, retention, review and sign-off.

Pure: one ``Document`` that the console renders as HTML and ``document_pdf`` as PDF, in the
same words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from hub.agreements.gateways import GATEWAYS
from hub.agreements.models import Agreement, FieldClause
from hub.policy.english import word_condition


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    header: tuple[str, ...] = ()  # column headings of ``rows``
    rows: tuple[tuple[str, ...], ...] = ()
    after: tuple[str, ...] = ()  # paragraphs after the table


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    fingerprint: str

    def text(self) -> str:
        """Everything the document says, in reading order (for search and tests)."""
        out = [self.title, self.subtitle]
        for s in self.sections:
            out += [s.heading, *s.paragraphs, " | ".join(s.header)]
            out += [" | ".join(r) for r in s.rows]
            out += list(s.after)
        return "\n".join(x for x in out if x)


_GENERALISED = {
    "age_band": "an age band (e.g. 10 to 17), not the date",
    "postcode_district": "the postcode district (e.g. L8), not the full postcode",
    "day": "the day, not the time",
    "week": "the week, not the day",
    "month": "the month, not the day",
}
_TAGS = {
    "envelope": "The message envelope (event id, event time, publishing partner, schema)",
    "free-text": "Free-text narratives",
    "pii.direct": "Every other direct identifier (names, addresses, identity numbers)",
    "pii.quasi": "Every other indirect identifier",
}


def treatment_words(c: FieldClause) -> str:
    if c.treatment == "keep":
        return "shared as recorded"
    if c.treatment == "drop":
        return "not shared"
    if c.treatment == "token":
        group = f" (linkage group “{c.domain}”)" if c.domain else ""
        return (
            "replaced by a pseudonym: a keyed code that lets the recipient tell records "
            f"about the same person together, without learning who it is{group}"
        )
    if c.treatment == "generalise":
        return "made less precise: " + _GENERALISED.get(c.to or "", f"to {c.to}")
    if c.treatment == "redact":
        return "shared with names and other identifying details removed"
    return c.treatment


def _item(c: FieldClause) -> str:
    if c.tag is not None:
        return _TAGS.get(c.tag, f"Every field tagged {c.tag}")
    path = (c.field or "").replace("_", " ")
    return path.replace(".", ": ") if "." in path else path.capitalize()


def fingerprint(a: Agreement) -> str:
    """SHA-256 of the version as enforced: the same text gives the same fingerprint."""
    return hashlib.sha256(a.model_dump_json().encode()).hexdigest()


def _period(iso: str) -> str:
    m = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?", iso)
    if m is None or not any(m.groups()):
        return iso
    units = ("year", "month", "week", "day")
    return " and ".join(
        f"{n} {u}{'' if n == '1' else 's'}" for n, u in zip(m.groups(), units, strict=True) if n
    )


def agreement_document(a: Agreement, name: Callable[[str], str]) -> Document:
    """The document of one version; ``name`` gives an organisation's or service's name."""
    parts = (
        Section("Purpose", (a.purpose.strip(),)),
        _parties(a, name),
        _legal(a),
        _data(a),
        _conditions(a),
        *((Section("Children's data", (a.children_data.strip(),)),) if a.children_data else ()),
        _retention(a),
        _sign_off(a, name),
        _enforced(a),
    )
    sections = tuple(replace(s, heading=f"{i}. {s.heading}") for i, s in enumerate(parts, start=1))
    status = a.status.value
    subtitle = (
        f"Information sharing agreement {a.id}, version {a.version} ({status}). "
        f"In force from {a.effective_from}"
        + (f" to {a.effective_to}" if a.effective_to else " until replaced or ended")
        + f"; review by {a.review_date}."
    )
    return Document(a.title, subtitle, sections, fingerprint(a))


def changes(
    older: Agreement, newer: Agreement, name: Callable[[str], str]
) -> list[tuple[str, str]]:
    """What the newer version's document says differently, line by line: ("-", line) said
    before and no longer, ("+", line) said now. The same words the parties sign."""
    import difflib

    def lines(a: Agreement) -> list[str]:
        # Without the fingerprint and the version line: they always differ.
        text = agreement_document(a, name).text().splitlines()
        return [x for x in text if "Fingerprint" not in x and "Information sharing" not in x]

    out: list[tuple[str, str]] = []
    for op in difflib.ndiff(lines(older), lines(newer)):
        if op[:1] in "+-" and op[2:].strip():
            out.append((op[0], op[2:]))
    return out


def _parties(a: Agreement, name: Callable[[str], str]) -> Section:
    rows = [(name(p), "provides the data") for p in a.providers]
    rows += [(name(r), "receives the data") for r in a.recipients]
    rows += [(name(c), "controller") for c in a.controllers]
    return Section(
        "Parties and controllers",
        ("The organisations and services party to this agreement, and their roles.",),
        ("Party", "Role"),
        tuple(rows),
        (
            "Each controller is responsible for its own processing under UK GDPR and the Data "
            "Protection Act 2018.",
        ),
    )


def _legal(a: Agreement) -> Section:
    lb = a.legal_basis
    rows = [
        (label, value)
        for label, value in (
            ("UK GDPR Article 6 (lawful basis)", lb.article6),
            ("UK GDPR Article 9 (special category data)", lb.article9),
            ("DPA 2018 Schedule 1 condition", lb.schedule1),
            ("DPA 2018 Part 3 (law enforcement processing)", lb.dpa_part3),
        )
        if value
    ]
    rows += [(g, GATEWAYS[g].summary if g in GATEWAYS else "") for g in lb.gateways]
    return Section(
        "Legal basis and statutory gateways",
        ("The basis in law for the sharing, and the statutes that give the power to share.",),
        ("Basis or gateway", "What it provides"),
        tuple(rows),
    )


def _data(a: Agreement) -> Section:
    kinds = ", ".join(t.replace("-", " ") for t in a.event_types)
    rows = tuple((_item(c), treatment_words(c), c.note) for c in a.fields)
    return Section(
        "The data shared",
        (f"Records of these kinds: {kinds}. Each item is treated as follows.",),
        ("Data item", "How it is treated", "Why"),
        rows,
        ("Anything not listed here is not shared.",),
    )


def _conditions(a: Agreement) -> Section:
    if not a.condition:
        return Section(
            "When records are shared",
            ("Every record of these kinds is shared with the recipients, with no condition.",),
        )
    wording = word_condition(a.condition, tuple(a.event_types))
    text = wording.sentence
    paragraphs = [f"A record is shared only when {text}. Otherwise it is not shared."]
    if wording.unworded or wording.error:
        paragraphs.append(
            "Part of this condition could not be put into words and is quoted as the hub "
            "enforces it; the parties should read the rule as enforced, in the last section."
        )
    return Section("When records are shared", tuple(paragraphs))


def _retention(a: Agreement) -> Section:
    until = f" to {a.effective_to}" if a.effective_to else ""
    return Section(
        "Retention, review and period in force",
        (
            f"The recipients keep the data no longer than {_period(a.retention)} "
            "from receipt, then delete it securely.",
            f"This version is in force from {a.effective_from}{until}, once approved and "
            "signed by every controller. The hub shares nothing under it before then.",
            f"The parties review this agreement by {a.review_date}.",
            "Every disclosure and every withheld record is logged by the hub (DPA 2018 s62), "
            "so each party can see what was shared, with whom and why, and tell every recipient "
            "of a correction or erasure (UK GDPR Article 19).",
        ),
    )


def _sign_off(a: Agreement, name: Callable[[str], str]) -> Section:
    dpo = a.approval.dpo_review
    rows: list[tuple[str, str, str]] = [
        ("Data Protection Officer review", dpo.by if dpo else "", str(dpo.at.date()) if dpo else "")
    ]
    signed = {s.party: s for s in a.approval.sign_off if s.party}
    for c in a.controllers:
        s = signed.get(c)
        rows.append((f"For {name(c)}", s.by if s else "", str(s.at.date()) if s else ""))
    paragraphs = ["Signed for each controller. A blank line has not been signed yet."]
    if a.change_note:
        paragraphs.append(f"Changes from version {a.supersedes or a.version - 1}: {a.change_note}")
    return Section("Sign-off", tuple(paragraphs), ("", "Name and role", "Date"), tuple(rows))


def _enforced(a: Agreement) -> Section:
    paragraphs = [
        "This document is generated from the version of the agreement the hub enforces. "
        f"Fingerprint of that version (SHA-256): {fingerprint(a)}.",
    ]
    if a.condition:
        paragraphs.append(f"The condition as the hub enforces it: {' '.join(a.condition.split())}")
    return Section("The agreement as enforced", tuple(paragraphs))
