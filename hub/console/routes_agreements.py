"""The register of agreements, version history with diffs, lint findings and actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.agreements import lifecycle
from hub.agreements.lint import Finding
from hub.agreements.models import Agreement, Status
from hub.audit import queries
from hub.console import actions
from hub.console.auth import Principal
from hub.console.state import ConsoleState
from hub.console.web import console, csrf_checked, need, render

router = APIRouter()


def governing(versions: list[Agreement], now: datetime) -> Agreement | None:
    """The version that governs today (None: none does), by the engine's own rule:
    ``hub.agreements.lifecycle``, shared with ``hub agreements list`` and lint."""
    return lifecycle.pick(versions, now)


def grouped(agreements: list[Agreement]) -> dict[str, list[Agreement]]:
    return lifecycle.by_id(agreements)


def register_rows(
    agreements: list[Agreement], findings: list[Finding], now: datetime
) -> list[dict[str, Any]]:
    """One row per agreement: the version that governs (or the one decisions name when
    nothing does), its state, and each newer version with what it waits for."""
    rows = []
    for agreement_id, versions in grouped(agreements).items():
        gov = governing(versions, now)
        named = lifecycle.considered(versions, now)
        assert named is not None  # grouped() never yields an empty list
        rows.append(
            {
                "a": named,
                "governs": gov,
                "state": lifecycle.state_label(named, now),
                "versions": versions,
                "drafts": [v.version for v in versions if v.status is Status.DRAFT],
                "pending": [
                    (v.version, lifecycle.state_label(v, now))
                    for v in versions
                    if v.version > named.version
                ],
                "overdue": named.review_date < now.date(),
                "findings": [f for f in findings if f.agreement.split("@")[0] == agreement_id],
            }
        )
    return rows


@router.get("/agreements", response_class=HTMLResponse)
def register_page(
    request: Request, principal: Annotated[Principal, Depends(need("view"))]
) -> Response:
    st = console(request)
    now = datetime.now(UTC)
    rows = register_rows(st.visible_agreements(principal), st.lint(st.agreements()), now)
    return render(request, "agreements.html", rows=rows, now=now)


def _versions(st: ConsoleState, principal: Principal, agreement_id: str) -> list[Agreement]:
    versions = [a for a in st.visible_agreements(principal) if a.id == agreement_id]
    if not versions:
        raise HTTPException(404, "no such agreement")
    return sorted(versions, key=lambda a: a.version)


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement_page(
    request: Request,
    agreement_id: str,
    principal: Annotated[Principal, Depends(need("view"))],
    a: int | None = None,
    b: int | None = None,
    done: str = "",
) -> Response:
    st = console(request)
    versions = _versions(st, principal, agreement_id)
    now = datetime.now(UTC)
    by_version = {v.version: v for v in versions}
    newer = by_version.get(b or versions[-1].version, versions[-1])
    older = by_version.get(a or max(1, newer.version - 1), versions[0])
    diff = actions.version_diff(older, newer) if older.version != newer.version else []
    with st.store.engine.connect() as conn:
        history = queries.list_agreement_actions(conn, principal.scope, agreement_id)
    findings = [f for f in st.lint(st.agreements()) if f.agreement.split("@")[0] == agreement_id]
    return render(
        request,
        "agreement.html",
        agreement_id=agreement_id,
        versions=versions,
        current=lifecycle.considered(versions, now),
        governs=governing(versions, now),
        state_label=lifecycle.state_label,
        now=now,
        older=older,
        newer=newer,
        diff=diff,
        history=history,
        findings=findings,
        is_party=any(st.is_party(principal, v) for v in versions),
        done=st.messages.pop(done, "") if done else "",
    )


def _act(
    request: Request,
    principal: Principal,
    agreement_id: str,
    version: int,
    action: str,
    reason: str,
    confirmed: bool,
) -> Response:
    st = console(request)
    versions = _versions(st, principal, agreement_id)
    target = next((v for v in versions if v.version == version), None)
    if target is None:
        raise HTTPException(404, "no such version")
    try:
        if action == "approve":
            result = actions.approve(
                st.agreements_dir, principal, versions, target, reason, confirmed
            )
        elif action == "sign-off":
            is_party = st.is_party(principal, target)
            result = actions.sign_off(
                st.agreements_dir, principal, versions, target, reason, is_party, confirmed
            )
        else:
            result = actions.suspend(
                st.agreements_dir, principal, versions, target, reason, confirmed
            )
    except actions.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    st.record_action(result.row)
    # The page shows the message kept under the action's id, so a crafted link cannot put
    # words on the page.
    st.messages[result.row["action_id"]] = result.message
    return RedirectResponse(
        f"/agreements/{agreement_id}?done={result.row['action_id']}", status_code=303
    )


Reason = Annotated[str, Form()]
Confirm = Annotated[str, Form()]


@router.post("/agreements/{agreement_id}/v{version}/approve")
def approve(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(csrf_checked("approve"))],
    reason: Reason = "",
    confirm: Confirm = "",
) -> Response:
    confirmed = confirm == f"{agreement_id}@v{version}"
    return _act(request, principal, agreement_id, version, "approve", reason, confirmed)


@router.post("/agreements/{agreement_id}/v{version}/sign-off")
def sign_off(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(csrf_checked("sign-off"))],
    reason: Reason = "",
    confirm: Confirm = "",
) -> Response:
    confirmed = confirm == f"{agreement_id}@v{version}"
    return _act(request, principal, agreement_id, version, "sign-off", reason, confirmed)


@router.get("/agreements/{agreement_id}/v{version}/suspend", response_class=HTMLResponse)
def suspend_page(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(need("suspend"))],
) -> Response:
    """The confirmation step: what would stop, a reason (required) and an explicit tick."""
    st = console(request)
    versions = _versions(st, principal, agreement_id)
    target = next((v for v in versions if v.version == version), None)
    if target is None:
        raise HTTPException(404, "no such version")
    try:
        change = actions.suspension_preview(versions, target)
    except actions.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    stops = sorted(change.stopped)
    return render(request, "suspend.html", target=target, change=change, stops=stops)


@router.post("/agreements/{agreement_id}/v{version}/suspend")
def suspend(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(csrf_checked("suspend"))],
    reason: Reason = "",
    confirm: Confirm = "",
) -> Response:
    # The tick carries the version's ref: a stale or crafted form cannot confirm another.
    confirmed = confirm == f"{agreement_id}@v{version}"
    return _act(request, principal, agreement_id, version, "suspend", reason, confirmed)
