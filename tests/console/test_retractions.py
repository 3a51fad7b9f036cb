"""Issue 18 in the console: the decision page draws an event's revision chain for its
recipient, the subject report lists the corrections and retractions sent on with their
receipts, a view lists retraction notices not yet receipted (scoped like every page), and
the activity page does not count notices as withheld."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from hub.audit.records import AuditRecord, ReceiptRecord
from tests.audit.test_queries import PROBATION, decision
from tests.console.conftest import PERSON_FORM, Console, login, person_tokens, submit

OLD = "2026-11-04T{}:00:00+00:00"


def _notice(decision_id: str, event_id: str, recipient: str, at: str, **kw: object) -> AuditRecord:
    base = decision(decision_id, event_id, recipient, "retracted", at, **kw)  # type: ignore[arg-type]
    return dataclasses.replace(
        base,
        reason=f"retraction notice withdrawing disclosure disc-x: retracted ({decision_id})",
        agreement_id=None,
        disclosure_id=f"notice-{decision_id}",
        revision=3,
    )


def _receipt(
    disclosure: str, recipient: str, status: str, reason: str | None = None
) -> ReceiptRecord:
    return ReceiptRecord(
        f"{disclosure}:{status}", disclosure, recipient, f"{recipient}-system", status,
        "2026-11-04T15:00:00+00:00", reason,
    )  # fmt: skip


@pytest.fixture
def corrected(console: Console) -> Console:
    """e10 (police, to the Liverpool MASH, about the known person): revision 1 shared (p1),
    a correction (c1, revision 2, receipted) and a retraction notice (n1, never receipted).
    Other notices: to the Knowsley MASH (n3), from probation (n6), one receipted (n2), one
    with a failed receipt (n5), one issued a minute ago (n4)."""
    tokens = tuple(person_tokens(console.settings, console.app_state.catalogue))
    now = datetime.now(UTC)
    correction = dataclasses.replace(
        decision("c1", "e10", "liverpool-mash", "shared", OLD.format(12), subjects=tokens),
        revision=2,
        source_offset=50,
    )
    store = console.app_state.store
    store.write_decisions(
        [
            correction,
            _notice("n1", "e10", "liverpool-mash", OLD.format(13), subjects=tokens),
            _notice("n2", "e11", "merseyside-iom", OLD.format(13), provider=PROBATION),
            _notice("n3", "e2", "knowsley-mash", OLD.format(14)),
            _notice("n4", "e1", "liverpool-mash", (now - timedelta(minutes=1)).isoformat()),
            _notice("n5", "e3", "merseyside-iom", OLD.format(15), provider=PROBATION),
            _notice("n6", "e11b", "merseyside-iom", OLD.format(16), provider=PROBATION),
        ]
    )
    store.write_receipts(
        [
            _receipt("disc-c1", "liverpool-mash", "delivered"),
            _receipt("notice-n2", "merseyside-iom", "delivered"),
            _receipt("notice-n5", "merseyside-iom", "failed", "IOM register locked"),
        ]
    )
    return console


def _listed(body: str) -> set[str]:
    return set(re.findall(r'href="/decisions/(n\d)"', body))


def test_unreceipted_notices_are_listed_for_the_ig_officer(corrected: Console) -> None:
    client = login(corrected.client(), "officer")
    body = client.get("/retractions").text
    assert _listed(body) == {"n1", "n3", "n5", "n6"}, "receipted (n2) and recent (n4) are not"
    assert "IOM register locked" in body, "the recipient's last failure is shown"
    assert body.index("/decisions/n1") < body.index("/decisions/n6"), "oldest first"
    assert _listed(client.get("/retractions?hours=0").text) == {"n1", "n3", "n4", "n5", "n6"}
    for bad in ("-1", "abc", "99999"):  # refused, naming the parameter
        refused = client.get(f"/retractions?hours={bad}")
        assert refused.status_code == 400 and "hours" in refused.text


def test_a_partner_admin_chases_only_their_own_flows(corrected: Console) -> None:
    liverpool = login(corrected.client(), "liverpool")
    assert _listed(liverpool.get("/retractions").text) == {"n1"}, "sent to the MASH it operates"
    probation = login(corrected.client(), "probation")
    assert _listed(probation.get("/retractions").text) == {"n5", "n6"}, "on what it provided"
    assert liverpool.get("/decisions/n1").status_code == 200, "a notice its MASH received"
    assert liverpool.get("/decisions/n3").status_code == 404, "another council's notice"


def test_the_decision_page_draws_the_revision_chain(corrected: Console) -> None:
    client = login(corrected.client(), "officer")
    body = client.get("/decisions/p1").text
    chain = body[body.index('id="revisions"') :]
    assert chain.index("/decisions/c1") < chain.index("/decisions/n1"), "by revision"
    assert "(this page)" in chain and "none yet" in chain and "delivered" in chain
    notice = client.get("/decisions/n1").text
    assert "Retraction notice" in notice and "Not shared" not in notice
    assert "Delivery" in notice and "No delivery receipt recorded yet" in notice
    # An event with one decision for its recipient draws no chain.
    assert 'id="revisions"' not in client.get("/decisions/d2").text


def test_the_subject_report_shows_what_was_sent_on(corrected: Console) -> None:
    client = login(corrected.client(), "officer")
    body = submit(client, "/subjects", **PERSON_FORM).text
    sent = body[body.index('id="sent-on"') :]
    assert "correction (revision 2)" in sent and "retraction notice" in sent
    assert "/decisions/c1" in sent and "/decisions/n1" in sent
    assert "/decisions/n3" not in sent, "another person's event"
    assert "delivered" in sent and "none yet" in sent


def test_the_subject_reports_csv_and_pdf_list_what_was_sent_on(corrected: Console) -> None:
    import csv
    import io

    from pypdf import PdfReader

    client = login(corrected.client(), "officer")
    body = submit(client, "/subjects", **PERSON_FORM).text
    found = re.search(r"/subjects/report/([0-9a-f-]{36})\.csv", body)
    assert found is not None
    rows = list(csv.DictReader(io.StringIO(client.get(found.group(0)).text)))
    sent = {r["disclosure_id"]: r for r in rows if r["sent_on"]}
    on_page = set(re.findall(r'href="/decisions/([cn]\d)"', body[body.index('id="sent-on"') :]))
    assert {f"disc-{d}" if d.startswith("c") else f"notice-{d}" for d in on_page} == set(sent)
    assert sent["disc-c1"]["sent_on"] == "correction" and sent["disc-c1"]["revision"] == "2"
    assert sent["disc-c1"]["receipts"].startswith("delivered")
    assert sent["notice-n1"]["sent_on"] == "retraction notice"
    assert sent["notice-n1"]["receipts"] == "none yet"
    pdf = client.get(found.group(0).replace(".csv", ".pdf"))
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Corrections and retractions sent on" in text
    assert "correction (revision 2)" in text and "retraction notice" in text
    assert "none yet" in text and "delivered" in text


def test_activity_counts_notices_apart_from_withheld(console: Console) -> None:
    client = login(console.client(), "officer")
    period = "/activity?from=2026-11-01&to=2026-11-30"

    def stats(body: str) -> tuple[str, str]:
        withheld = re.search(r"Withheld</span><b>(\d+)</b>", body)
        notices = re.search(r'id="notices">.*?<a [^>]*>(\d+)</a>', body, re.S)
        assert withheld and notices
        return withheld.group(1), notices.group(1)

    before = stats(client.get(period).text)
    console.app_state.store.write_decisions(
        [_notice("n1", "e1", "liverpool-mash", OLD.format(13)),
         _notice("n3", "e2", "knowsley-mash", OLD.format(14))]
    )  # fmt: skip
    after = stats(client.get(period).text)
    assert after == (before[0], str(int(before[1]) + 2))
