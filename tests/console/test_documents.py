"""The agreement as the document the parties sign, from the console: HTML and PDF of each
version, for the parties to it only."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.console.conftest import Console, login, write_draft


def test_the_document_of_a_version_in_html_and_pdf(console: Console) -> None:
    officer = login(console.client(), "officer")
    page = officer.get("/agreements/police-liverpool-mash")
    assert 'href="/agreements/police-liverpool-mash/v1/document"' in page.text
    html = officer.get("/agreements/police-liverpool-mash/v1/document")
    assert html.status_code == 200
    for heading in ("1. Purpose", "2. Parties and controllers", "3. Legal basis",
                    "4. The data shared", "5. When records are shared", "Sign-off"):  # fmt: skip
        assert heading in html.text
    assert "the subject is known to be under 18, the subject lives in Liverpool" in html.text
    pdf = officer.get("/agreements/police-liverpool-mash/v1/document.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Liverpool Multi-Agency Safeguarding Hub" in " ".join(text.split())


def test_a_draft_has_its_document_with_blank_signatures(console: Console) -> None:
    write_draft(console.settings.partnership_dir)
    officer = login(console.client(), "officer")
    html = officer.get("/agreements/police-msn/v2/document").text
    assert "(draft)" in html and "not signed yet" in html
    assert "domestic abuse" in html  # the draft's own condition, in words


def test_only_parties_see_an_agreement_document(console: Console) -> None:
    probation = login(console.client(), "probation")
    assert probation.get("/agreements/probation-iom/v1/document").status_code == 200
    assert probation.get("/agreements/police-liverpool-mash/v1/document").status_code == 404
    assert probation.get("/agreements/police-liverpool-mash/v1/document.pdf").status_code == 404
    officer = login(console.client(), "officer")
    assert officer.get("/agreements/police-liverpool-mash/v9/document").status_code == 404
    assert officer.get("/agreements/x%20y/v1/document").status_code in (400, 404)


def test_the_version_diff_reads_in_the_words_of_the_document(console: Console) -> None:
    write_draft(console.settings.partnership_dir)  # adds domestic abuse, drops the borough
    officer = login(console.client(), "officer")
    page = officer.get("/agreements/police-msn?a=1&b=2").text
    changes = page.split('id="changes-in-words"')[1].split("</div>\n</div>")[0]
    assert "now says: A record is shared only when the concern is about" in changes
    assert "domestic abuse" in changes
    assert "no longer says: Borough" in changes
