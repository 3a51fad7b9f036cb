"""Every reference agreement renders as the information sharing agreement the parties sign,
in HTML and PDF, following the ICO data sharing code's checklist; the PDF's text is read
back and checked against the agreement the hub enforces."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from hub.agreements import Agreement, load_agreements
from hub.agreements.document import agreement_document, fingerprint, treatment_words
from hub.agreements.document_pdf import _latin1, render_pdf
from hub.agreements.partnership import load_partnership
from hub.console.words import Names
from tests.policy.test_english import GOLDEN

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = load_agreements(ROOT / "partnership" / "agreements")
NAMES = Names.of(load_partnership(ROOT / "partnership"))
CHECKLIST = (
    "Purpose",
    "Parties and controllers",
    "Legal basis and statutory gateways",
    "The data shared",
    "When records are shared",
    "Retention, review and period in force",
    "Sign-off",
    "The agreement as enforced",
)


def flat(text: str) -> str:
    return " ".join(_latin1(text).split())


def pdf_text(data: bytes, title: str) -> str:
    """The PDF's text, pages joined, without the running footer."""
    reader = PdfReader(io.BytesIO(data))
    footer = re.compile(re.escape(flat(title)) + r" - page \d+ of \d+")
    return " ".join(footer.sub("", flat(page.extract_text())) for page in reader.pages)


def expected_phrases(a: Agreement) -> list[str]:
    lb = a.legal_basis
    phrases = [a.title, a.purpose, f"version {a.version}", str(a.review_date)]
    phrases += [NAMES(p) for p in (*a.providers, *a.recipients, *a.controllers)]
    phrases += [v for v in (lb.article6, lb.article9, lb.schedule1, lb.dpa_part3) if v]
    phrases += list(lb.gateways)
    phrases += [treatment_words(c) for c in a.fields] + [c.note for c in a.fields if c.note]
    if a.condition:
        phrases.append(f"A record is shared only when {GOLDEN[a.id]}.")
    else:
        phrases.append("Every record of these kinds is shared with the recipients")
    phrases += [s.by for s in a.approval.sign_off]
    if a.approval.dpo_review:
        phrases.append(a.approval.dpo_review.by)
    phrases.append(fingerprint(a))
    return phrases


@pytest.mark.parametrize("agreement", AGREEMENTS, ids=lambda a: a.ref)
def test_every_reference_agreement_renders_to_a_pdf_that_says_what_is_enforced(
    agreement: Agreement,
) -> None:
    doc = agreement_document(agreement, NAMES)
    text = flat(pdf_text(render_pdf(doc), doc.title))
    headings = [s.heading.split(". ", 1)[1] for s in doc.sections]
    assert [h for h in headings if h in CHECKLIST] == list(CHECKLIST)
    for heading in headings:
        assert heading in text
    for phrase in expected_phrases(agreement):
        assert flat(phrase) in text, phrase
    # The document's own words, all of them, are in the PDF.
    for line in doc.text().splitlines():
        for cell in line.split(" | "):
            assert flat(cell) in text, cell


def test_retention_in_words_and_unsigned_lines() -> None:
    a = next(x for x in AGREEMENTS if x.id == "police-liverpool-mash")
    unsigned = a.model_copy(update={"approval": a.approval.model_copy(update={"sign_off": ()})})
    doc = agreement_document(unsigned, NAMES)
    assert "no longer than 6 years from receipt" in doc.text()
    sign_off = next(s for s in doc.sections if s.heading.endswith("Sign-off"))
    assert ("For Merseyside Police", "", "") in sign_off.rows
    assert fingerprint(unsigned) != fingerprint(a)  # what is signed is what is enforced
