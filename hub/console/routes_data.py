"""CSV exports of every table, and the JSON API under ``/api/`` (OpenAPI at
``/api/openapi.json``). The same queries and the same partner scope as the pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from hub.audit import queries
from hub.console.auth import Principal
from hub.console.csv_out import csv_response
from hub.console.params import PageNumber, identifier
from hub.console.routes_agreements import governing, grouped
from hub.console.web import Days, DecisionFilters, Viewer, console, need
from hub.console.withheld import withheld_from_operated

csv_router = APIRouter(prefix="/export")
api = APIRouter(prefix="/api", tags=["audit"])

Auditing = Annotated[Principal, Depends(need("consultations"))]

DEAD_LETTER_COLUMNS = (
    "dead_letter_id", "at", "partner", "topic", "partition", "offset", "reason_code",
    "reason", "fix", "processor_instance",
)  # fmt: skip
RECEIPT_COLUMNS = ("receipt_id", "at", "disclosure_id", "recipient", "sink", "status", "reason")
ACTIVITY_COLUMNS = ("day", "agreement_id", "provider", "recipient", "outcome", "count")
AGREEMENT_COLUMNS = (
    "id", "version", "status", "state", "title", "providers", "recipients", "event_types",
    "effective_from", "effective_to", "review_date", "legal_basis", "gateways",
    "dpo_review", "sign_off",
)  # fmt: skip
CONSULTATION_COLUMNS = ("consultation_id", "at", "user_name", "role", "partner", "action",
                        "target", "results")  # fmt: skip
ACTION_COLUMNS = ("action_id", "at", "user_name", "role", "partner", "agreement_id", "version",
                  "action", "reason", "file", "result_version")  # fmt: skip


WITHHELD_COLUMNS = ("recipient", "provider", "withheld")
DecisionId = Annotated[str, Path(max_length=64)]


def _agreement_rows(request: Request, principal: Principal) -> list[dict[str, Any]]:
    st = console(request)
    now = datetime.now(UTC)
    rows = []
    for versions in grouped(st.visible_agreements(principal)).values():
        current = governing(versions, now)
        for a in versions:
            rows.append(
                {
                    "id": a.id,
                    "version": a.version,
                    "status": a.status.value,
                    "state": a.state(now).value,
                    "governs_today": current is not None and a.version == current.version,
                    "title": a.title,
                    "providers": list(a.providers),
                    "recipients": list(a.recipients),
                    "event_types": list(a.event_types),
                    "effective_from": a.effective_from.isoformat(),
                    "effective_to": a.effective_to.isoformat() if a.effective_to else None,
                    "review_date": a.review_date.isoformat(),
                    "legal_basis": a.legal_basis.summary(),
                    "gateways": list(a.legal_basis.gateways),
                    "dpo_review": a.approval.dpo_review.by if a.approval.dpo_review else None,
                    "sign_off": [f"{s.party}: {s.by}" for s in a.approval.sign_off],
                }
            )
    return rows


# -- CSV -----------------------------------------------------------------------------------


@csv_router.get("/decisions.csv")
def decisions_csv(request: Request, principal: Viewer, filters: DecisionFilters) -> Response:
    st = console(request)
    with st.store.engine.connect() as conn:
        rows = list(queries.iter_decisions(conn, principal.scope, filters.decision_filter()))
    st.consult(principal, "export-decisions-csv", filters.as_target(), len(rows))
    return csv_response("decisions.csv", DECISION_COLUMNS, rows)


@csv_router.get("/activity.csv")
def activity_csv(request: Request, principal: Viewer, period: Days) -> Response:
    with console(request).store.engine.connect() as conn:
        rows = queries.activity(conn, principal.scope, *period.bounds())
    return csv_response("activity.csv", ACTIVITY_COLUMNS, [r.__dict__ for r in rows])


@csv_router.get("/withheld-summary.csv")
def withheld_csv(request: Request, principal: Viewer, period: Days) -> Response:
    """A partner admin's counts of decisions withheld from recipients they operate
    (``hub.console.withheld``); empty cells are suppressed counts."""
    with console(request).store.engine.connect() as conn:
        summary = withheld_from_operated(conn, principal.scope, *period.bounds())
    return csv_response("withheld-summary.csv", WITHHELD_COLUMNS, summary.rows())


@csv_router.get("/dead-letters.csv")
def dead_letters_csv(request: Request, principal: Viewer, period: Days) -> Response:
    with console(request).store.engine.connect() as conn:
        rows = queries.list_dead_letters(conn, principal.scope, *period.bounds())
    return csv_response("dead-letters.csv", DEAD_LETTER_COLUMNS, rows)


@csv_router.get("/receipts.csv")
def receipts_csv(request: Request, principal: Viewer, period: Days) -> Response:
    since, until = period.bounds()
    with console(request).store.engine.connect() as conn:
        rows = queries.list_receipts(conn, principal.scope, None, since, until)
    return csv_response("receipts.csv", RECEIPT_COLUMNS, rows)


@csv_router.get("/agreements.csv")
def agreements_csv(request: Request, principal: Viewer) -> Response:
    return csv_response("agreements.csv", AGREEMENT_COLUMNS, _agreement_rows(request, principal))


@csv_router.get("/consultations.csv")
def consultations_csv(request: Request, principal: Auditing) -> Response:
    with console(request).store.engine.connect() as conn:
        rows = queries.list_consultations(conn, principal.scope, limit=None)
    return csv_response("consultations.csv", CONSULTATION_COLUMNS, rows)


@csv_router.get("/agreement-actions.csv")
def actions_csv(request: Request, principal: Viewer) -> Response:
    with console(request).store.engine.connect() as conn:
        rows = queries.list_agreement_actions(conn, principal.scope)
    return csv_response("agreement-actions.csv", ACTION_COLUMNS, rows)


# -- JSON API ------------------------------------------------------------------------------


# A decision as the API and the CSV show it: a list of the audit record's fields written out
# (not derived from AuditRecord), so that a field added to the audit, such as the subject
# tokens, is never published until it is named here.
class Decision(BaseModel):
    decision_id: str
    decided_at: str
    event_id: str
    event_type: str
    provider: str
    recipient: str
    outcome: str
    reason: str
    agreement_id: str | None
    agreement_version: int | None
    legal_basis: str | None
    gateways: list[str]
    disclosure_id: str | None
    fields: dict[str, dict[str, str]]
    notes: list[str]
    output_topic: str | None
    trace_id: str | None
    processor_instance: str
    source_topic: str
    source_partition: int
    source_offset: int


# The CSV export's columns are the API's fields, in the same order.
DECISION_COLUMNS = tuple(Decision.model_fields)


class DecisionPage(BaseModel):
    total: int
    page: int
    page_size: int
    decisions: list[Decision]


class DecisionDetail(BaseModel):
    decision: Decision
    receipts: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    other_recipients: list[Decision]


class Me(BaseModel):
    name: str
    role: str
    partner: str | None


def _decision(row: dict[str, Any]) -> Decision:
    return Decision.model_validate({k: row.get(k) for k in Decision.model_fields})


@api.get("/me")
def me(principal: Viewer) -> Me:
    return Me(name=principal.name, role=principal.role.value, partner=principal.partner)


@api.get("/decisions")
def api_decisions(
    request: Request,
    principal: Viewer,
    filters: DecisionFilters,
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100,
) -> DecisionPage:
    """Decisions, newest first. Filters as query parameters: ``from``, ``to`` (days),
    ``event_id``, ``event_type``, ``provider``, ``recipient``, ``agreement``, ``outcome``.
    A filter that cannot be parsed is refused (400, problem+json), never ignored."""
    st = console(request)
    with st.store.engine.connect() as conn:
        result = queries.find_decisions(
            conn, principal.scope, filters.decision_filter(), page, page_size
        )
    st.consult(principal, "api-decisions", filters.as_target() | {"page": str(page)}, result.total)
    return DecisionPage(
        total=result.total,
        page=result.page,
        page_size=result.page_size,
        decisions=[_decision(r) for r in result.rows],
    )


@api.get("/decisions/{decision_id}")
def api_decision(request: Request, decision_id: DecisionId, principal: Viewer) -> DecisionDetail:
    st = console(request)
    with st.store.engine.connect() as conn:
        detail = queries.decision_detail(conn, principal.scope, decision_id)
    if detail is None:
        raise HTTPException(404, "no such decision")
    st.consult(principal, "api-decision", {"decision_id": decision_id}, 1)
    return DecisionDetail(
        decision=_decision(detail.decision),
        receipts=detail.receipts,
        dead_letters=detail.dead_letters,
        other_recipients=[_decision(s) for s in detail.siblings],
    )


@api.get("/activity")
def api_activity(request: Request, principal: Viewer, period: Days) -> list[dict[str, Any]]:
    """Decisions per day by agreement, provider, recipient and outcome (``from``/``to``).
    For a partner admin, decisions withheld from a recipient they operate about another
    partner's records are not here: see ``/api/withheld-summary``."""
    with console(request).store.engine.connect() as conn:
        return [r.__dict__ for r in queries.activity(conn, principal.scope, *period.bounds())]


@api.get("/withheld-summary")
def api_withheld(request: Request, principal: Viewer, period: Days) -> list[dict[str, Any]]:
    """A partner admin's counts of decisions withheld from the recipients they operate, by
    recipient and provider; ``withheld`` null where the count is suppressed (1 to 4, or
    derivable from the totals). Empty for an IG officer, who sees those decisions anyway."""
    with console(request).store.engine.connect() as conn:
        return withheld_from_operated(conn, principal.scope, *period.bounds()).rows()


@api.get("/dead-letters")
def api_dead_letters(request: Request, principal: Viewer, period: Days) -> list[dict[str, Any]]:
    with console(request).store.engine.connect() as conn:
        return queries.list_dead_letters(conn, principal.scope, *period.bounds(), limit=1000)


@api.get("/receipts")
def api_receipts(
    request: Request, principal: Viewer, period: Days, status: str | None = None
) -> list[dict[str, Any]]:
    status = identifier("status", status) or None
    since, until = period.bounds()
    with console(request).store.engine.connect() as conn:
        return queries.list_receipts(conn, principal.scope, status, since, until, limit=1000)


@api.get("/agreements")
def api_agreements(request: Request, principal: Viewer) -> list[dict[str, Any]]:
    return _agreement_rows(request, principal)


@api.get("/consultations")
def api_consultations(request: Request, principal: Auditing) -> list[dict[str, Any]]:
    with console(request).store.engine.connect() as conn:
        return queries.list_consultations(conn, principal.scope, limit=1000)


@api.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _principal: Viewer) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema
