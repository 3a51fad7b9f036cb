"""The subject disclosure report, the what-if and the consultation log."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, select

from hub.agreements.document_pdf import render_pdf
from hub.agreements.models import Agreement
from hub.audit import queries, revisions
from hub.audit.tables import consultations
from hub.console import params
from hub.console.auth import Principal
from hub.console.csv_out import csv_response
from hub.console.disclosure_record import disclosure_record, receipts_text, sent_on_what
from hub.console.lookups import who_looked_up
from hub.console.params import ParamError
from hub.console.state import ConsoleState
from hub.console.web import Days, Period, console, csrf_checked, need, render
from hub.console.whatif import Progress, WhatIfResult, run_whatif
from hub.console.words import Names
from hub.errors import HubError
from hub.privacy.candidates import AGE_BANDS, candidate_tokens, name_postcode_tokens
from hub.privacy.subjects import SUBJECT_DOMAIN, lookup_tokens

BAND_ORDER = {label: i for i, (_, label) in enumerate(AGE_BANDS)}

router = APIRouter()
Reporter = Annotated[Principal, Depends(need("subject-report"))]

REPORT_COLUMNS = (
    "occurred_at",
    "decided_at",
    "provider",
    "recipient",
    "agreement",
    "legal_basis",
    "gateways",
    "fields",
    "event_type",
    "event_id",
    "disclosure_id",
    "outcome",
    "reason",
    # Issue 18 (UK GDPR Art 19): the corrections and retraction notices sent on follow the
    # disclosures, one row each, with their revision and the recipient system's receipts.
    "sent_on",
    "revision",
    "receipts",
)


def _export_rows(rows: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's rows, then what was sent on after them, as the CSV lists them (its
    revision has a column of its own)."""
    return [r | {"sent_on": ""} for r in rows] + [
        r | {"sent_on": sent_on_what(r, revision=False), "receipts": receipts_text(r)} for r in sent
    ]


@router.get("/subjects", response_class=HTMLResponse)
def subject_form(request: Request, _principal: Reporter) -> Response:
    return render(request, "subjects.html", report=None, entered={})


def _person_field(st: ConsoleState) -> Any:
    for event_type in st.catalogue.event_types.values():
        people = event_type.person_records()
        if people:
            return people[0]
    raise HTTPException(500, "the catalogue has no person record")


def _agreement_title(titles: dict[tuple[str, int], str], d: dict[str, Any]) -> str:
    if not d["agreement_id"]:
        return ""
    key = (d["agreement_id"], d["agreement_version"])
    return f"{titles.get(key, d['agreement_id'])} (version {d['agreement_version']})"


def _report_rows(st: ConsoleState, decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    titles = {(a.id, a.version): a.title for a in st.agreements()}
    out = []
    for d in decisions:
        recipient = st.partnership.recipient(d["recipient"])
        provider = st.partnership.partner(d["provider"])
        out.append(
            d
            | {
                "recipient_name": recipient.name if recipient else d["recipient"],
                "provider_name": provider.name if provider else d["provider"],
                "agreement": f"{d['agreement_id']}@v{d['agreement_version']}"
                if d["agreement_id"]
                else "",
                "agreement_title": _agreement_title(titles, d),
            }
        )
    return out


def _entered(
    given_name: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    nhs_number: Annotated[str, Form()] = "",
    pnc_id: Annotated[str, Form()] = "",
    postcode: Annotated[str, Form(max_length=12)] = "",
) -> dict[str, str]:
    """The identifiers a form entered, trimmed (the subject report and "who looked up")."""
    return {
        "given_name": given_name.strip(),
        "family_name": family_name.strip(),
        "date_of_birth": date_of_birth.strip(),
        "nhs_number": nhs_number.strip(),
        "pnc_id": pnc_id.strip(),
        "postcode": postcode.strip(),
    }


Entered = Annotated[dict[str, str], Depends(_entered)]


def _given(entered: dict[str, str]) -> list[str]:
    """Which identifiers were given, not their values: what the access log keeps of a
    search besides its pseudonyms, to show how it was made."""
    return sorted(k for k, v in entered.items() if v)


def _checked(entered: dict[str, str]) -> tuple[date | None, str | None]:
    """The date of birth entered, or what is wrong with the form."""
    try:
        dob = params.day("date_of_birth", entered["date_of_birth"])
    except ParamError:
        return None, "date of birth must be a date (YYYY-MM-DD)"
    if not any(entered.values()):
        return None, "enter at least a name, an NHS number or a PNC id"
    return dob, None


@router.post("/subjects", response_class=HTMLResponse)
def subject_report(
    request: Request,
    principal: Annotated[Principal, Depends(csrf_checked("subject-report"))],
    entered: Entered,
    include_withheld: Annotated[str, Form()] = "",
    band: Annotated[str, Form(max_length=20)] = "",
    area: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    # A POST, so the identifiers never appear in a URL, browser history or an access log.
    st = console(request)
    dob, error = _checked(entered)
    if error:
        return render(
            request, "subjects.html", status_code=422, report=None, entered=entered, error=error
        )
    withheld = bool(include_withheld)
    name_only = not (dob or entered["nhs_number"] or entered["pnc_id"] or entered["postcode"])
    if name_only and entered["given_name"] and entered["family_name"]:
        candidates = _candidate_tokens(st, entered)
        if not (band or area):
            return _candidates_page(request, st, principal, entered, candidates, withheld)
        # One candidate picked: its name-area tokens (recomputed, never taken from the form).
        tokens = {t for t, (b, a) in candidates.items() if (b, a) == (band, area)}
    else:
        tokens = _tokens(st, entered, dob)
    with st.store.engine.connect() as conn:
        found = queries.subject_decisions(conn, principal.scope, sorted(tokens), withheld)
        # Corrections and retractions sent on (UK GDPR Art 19), found by event: a partner's
        # retraction names the event, not the person.
        sent = revisions.sent_on(
            conn, principal.scope, [d for d in found if d["outcome"] == "shared"]
        )
    consultation = st.consult(
        principal,
        "subject-report",
        {
            "tokens": sorted(tokens),
            "include_withheld": withheld,
            "identifiers": _given(entered),
        },
        len(found),
    )
    rows = _report_rows(st, found)
    recipients = sorted({r["recipient_name"] for r in rows if r["outcome"] == "shared"})
    return render(
        request,
        "subjects.html",
        report=rows,
        recipients=recipients,
        entered=entered,
        withheld=withheld,
        tokens=len(tokens),
        consultation=consultation,
        sent_on=_report_rows(st, sent),
    )


def _logged_report(
    st: ConsoleState, principal: Principal, consultation_id: str, action: str
) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    """A report re-run from the tokens its consultation logged (so the identifiers never
    travel in a URL); only the officer who made it. Returns its rows, when it was made, and
    the corrections and retraction notices sent on for its events."""
    consultation_id = params.text("consultation_id", consultation_id, 36)
    with st.store.engine.connect() as conn:
        row = conn.execute(
            select(consultations).where(consultations.c.consultation_id == consultation_id)
        ).first()
        if (
            row is None
            or row._mapping["user_name"] != principal.name
            or row._mapping["action"] != "subject-report"
        ):
            raise HTTPException(404, "no such report")
        target = json.loads(row._mapping["target"])
        found = queries.subject_decisions(
            conn, principal.scope, target["tokens"], bool(target.get("include_withheld"))
        )
        sent = revisions.sent_on(
            conn, principal.scope, [d for d in found if d["outcome"] == "shared"]
        )
    st.consult(principal, action, {"report": consultation_id}, len(found))
    return _report_rows(st, found), str(row._mapping["at"]), _report_rows(st, sent)


@router.get("/subjects/report/{consultation_id}.csv")
def subject_report_csv(
    request: Request,
    consultation_id: str,
    principal: Reporter,
) -> Response:
    st = console(request)
    rows, _at, sent = _logged_report(st, principal, consultation_id, "subject-report-csv")
    return csv_response("subject-disclosures.csv", REPORT_COLUMNS, _export_rows(rows, sent))


@router.get("/subjects/report/{consultation_id}.pdf")
def subject_report_pdf(
    request: Request,
    consultation_id: str,
    principal: Reporter,
) -> Response:
    """The disclosure record as a PDF, for an Article 15 response."""
    st = console(request)
    rows, at, sent = _logged_report(st, principal, consultation_id, "subject-report-pdf")
    doc = disclosure_record(rows, consultation_id, at, Names.of(st.partnership), sent)
    return Response(
        render_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="disclosure-record.pdf"'},
    )


def _whatif_period(st: ConsoleState, draft: Agreement | None, period: Period) -> Period:
    """The period asked for, or by default the 30 days (of event time) up to the newest
    decision on the draft's events: where the events are, even in an old history."""
    if period.given or draft is None:
        return period
    with st.store.engine.connect() as conn:
        newest = queries.newest_decision_day(conn, draft.providers, draft.event_types)
    end = newest or datetime.now(UTC).date()
    return Period(end - timedelta(days=29), end, False)


def _whatif_error(exc: Exception) -> str:
    if isinstance(exc, HubError):
        return f"could not read the recorded events: {exc}"
    # A broker that went away: said on the page, not a stack trace.
    return f"could not read the recorded events from the broker: {type(exc).__name__}"


@router.get("/whatif", response_class=HTMLResponse)
def whatif_page(
    request: Request,
    principal: Annotated[Principal, Depends(need("what-if"))],
    period: Days,
    agreement: str = "",
) -> Response:
    agreement = params.text("agreement", agreement, 120)
    st = console(request)
    everything = st.agreements()
    drafts = [a for a in everything if a.status.value == "draft"]
    source = st.event_source()
    chosen = next((a for a in drafts if a.ref == agreement), None)
    period = _whatif_period(st, chosen, period)
    start, end = period.start, period.end
    result, error, running = None, None, None
    if agreement and chosen is None:
        error = f"{agreement} is not a draft version"
    elif chosen is not None and (start is None or end is None or end < start):
        error = "give the period: from and to dates, from first"
    elif chosen is not None and source is None:
        error = "no broker is configured: the what-if cannot read the recorded events"
    elif chosen is not None and source is not None and start and end:
        draft, since, until = chosen, start, end

        def work(progress: Callable[[Progress], None]) -> WhatIfResult:
            with st.store.engine.connect() as conn:
                return run_whatif(
                    draft, everything, source,
                    lambda ids: queries.events_decided(conn, ids), since, until,
                    progress=progress,
                )  # fmt: skip

        key = (principal.name, chosen.ref, str(start), str(end))
        job = st.whatif_jobs.start(key, work, _whatif_error)
        if job is None:
            error = "several what-ifs are running already: try again in a minute"
        elif not job.done.wait(2.0):
            running = job
        else:
            st.whatif_jobs.collect(job)
            result, error = job.result, job.error
        if result is not None:
            st.consult(
                principal,
                "what-if",
                {"draft": chosen.ref, "from": str(start), "to": str(end)},
                result.compared,
            )
    return render(
        request, "whatif.html", drafts=drafts, chosen=chosen, start=start, end=end,
        defaulted=chosen is not None and not period.given, result=result, error=error,
        running=running, broker=source is not None,
    )  # fmt: skip


def _access_log(conn: Connection, principal: Principal) -> dict[str, Any]:
    """The access log page's two tables: consultations (newest 300) and agreement actions."""
    return {
        "rows": queries.list_consultations(conn, principal.scope, limit=300),
        "actions": queries.list_agreement_actions(conn, principal.scope),
    }


@router.get("/consultations", response_class=HTMLResponse)
def consultations_page(
    request: Request, principal: Annotated[Principal, Depends(need("consultations"))]
) -> Response:
    with console(request).store.engine.connect() as conn:
        log = _access_log(conn, principal)
    return render(request, "consultations.html", **log, entered={})


@router.post("/consultations", response_class=HTMLResponse)
def who_looked_up_page(
    request: Request,
    principal: Annotated[Principal, Depends(csrf_checked("consultations"))],
    entered: Entered,
) -> Response:
    """ "Who looked up this person?": the access log searched by the person's pseudonyms
    (a POST: the identifiers never appear in a URL)."""
    st = console(request)
    with st.store.engine.connect() as conn:
        log = _access_log(conn, principal)
        dob, error = _checked(entered)
        if error:
            return render(
                request, "consultations.html", status_code=422, **log, entered=entered,
                error=error,
            )  # fmt: skip
        tokens = sorted(_tokens(st, entered, dob))
        # Searches by the name alone (candidates, and a candidate picked) used these.
        named = entered["given_name"] and entered["family_name"]
        also = sorted(_candidate_tokens(st, entered)) if named else []
        found, capped = who_looked_up(conn, principal.scope, tokens + also)
    # This search is itself a look-up of the person: logged like one, by pseudonym only.
    st.consult(
        principal,
        "who-looked-up",
        {"tokens": tokens, "identifiers": _given(entered)},
        len(found),
    )
    return render(
        request, "consultations.html", **log, entered=entered, lookups=found, capped=capped
    )


def _candidate_tokens(st: ConsoleState, entered: dict[str, str]) -> dict[str, tuple[str, str]]:
    return candidate_tokens(
        st.keys.ring(SUBJECT_DOMAIN),
        _person_field(st),
        entered["given_name"],
        entered["family_name"],
    )


def _candidates_page(
    request: Request,
    st: ConsoleState,
    principal: Principal,
    entered: dict[str, str],
    candidates: dict[str, tuple[str, str]],
    withheld: bool,
) -> Response:
    """A name alone: the people of that name, by age band and area only, to pick from."""
    with st.store.engine.connect() as conn:
        found = queries.subject_decisions(conn, principal.scope, sorted(candidates), withheld)
    picks = sorted(
        {candidates[t] for d in found for t in d.get("subjects") or () if t in candidates},
        key=lambda ba: (BAND_ORDER.get(ba[0], 99), ba[1]),
    )
    st.consult(
        principal,
        "subject-candidates",
        {"tokens": sorted(candidates), "identifiers": _given(entered)},
        len(picks),
    )
    return render(
        request, "subjects.html", report=None, entered=entered, withheld=withheld,
        candidates=picks,
    )  # fmt: skip


def _tokens(st: ConsoleState, entered: dict[str, str], dob: date | None) -> set[str]:
    """Every pseudonym the identifiers entered give (any of them matching finds a record)."""
    found: set[str] = set()
    if entered.get("postcode") and entered["given_name"] and entered["family_name"]:
        found = name_postcode_tokens(
            st.keys.ring(SUBJECT_DOMAIN), _person_field(st), entered["given_name"],
            entered["family_name"], entered["postcode"],
        )  # fmt: skip
    if not (dob or entered["nhs_number"] or entered["pnc_id"]) and found:
        return found  # a name with a postcode: not the records with no date of birth
    return found | lookup_tokens(
        st.keys.ring(SUBJECT_DOMAIN),
        _person_field(st),
        given_name=entered["given_name"] or None,
        family_name=entered["family_name"] or None,
        date_of_birth=dob,
        nhs_number=entered["nhs_number"] or None,
        pnc_id=entered["pnc_id"] or None,
    )
