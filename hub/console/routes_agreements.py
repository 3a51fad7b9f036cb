"""The register of agreements, version history with diffs, lint findings and actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.agreements.models import Agreement, Status
from hub.audit import queries
from hub.console import actions
from hub.console.auth import Principal
from hub.console.state import ConsoleState
from hub.console.web import console, csrf_checked, need, render

router = APIRouter()


def governing(versions: list[Agreement], now: datetime) -> Agreement:
    """The version that governs today, by the engine's rule (hub/policy/engine.py): the
    newest that is not a draft and has taken effect; else the newest."""
    ordered = sorted(versions, key=lambda a: -a.version)
    effective = [
        a for a in ordered if a.status is not Status.DRAFT and a.effective_from <= now.date()
    ]
    return effective[0] if effective else ordered[0]


def grouped(agreements: list[Agreement]) -> dict[str, list[Agreement]]:
    out: dict[str, list[Agreement]] = {}
    for a in sorted(agreements, key=lambda x: (x.id, x.version)):
        out.setdefault(a.id, []).append(a)
    return out


@router.get("/agreements", response_class=HTMLResponse)
def register_page(
    request: Request, principal: Annotated[Principal, Depends(need("view"))]
) -> Response:
    st = console(request)
    visible = st.visible_agreements(principal)
    now = datetime.now(UTC)
    findings = st.lint(st.agreements())
    rows = []
    for agreement_id, versions in grouped(visible).items():
        gov = governing(versions, now)
        rows.append(
            {
                "a": gov,
                "state": gov.state(now).value,
                "versions": versions,
                "drafts": [v.version for v in versions if v.status is Status.DRAFT],
                "overdue": gov.review_date < now.date(),
                "findings": [f for f in findings if f.agreement.split("@")[0] == agreement_id],
            }
        )
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
        current=governing(versions, now),
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
) -> Response:
    st = console(request)
    versions = _versions(st, principal, agreement_id)
    target = next((v for v in versions if v.version == version), None)
    if target is None:
        raise HTTPException(404, "no such version")
    try:
        if action == "approve":
            result = actions.approve(st.agreements_dir, principal, target, reason)
        elif action == "sign-off":
            result = actions.sign_off(
                st.agreements_dir, principal, target, reason, st.is_party(principal, target)
            )
        else:
            gov = governing(versions, datetime.now(UTC))
            if gov.version != version:
                raise actions.ActionRefused(
                    f"v{version} does not govern today; v{gov.version} does"
                )
            newest = max(v.version for v in versions)
            result = actions.suspend(st.agreements_dir, principal, gov, newest, reason)
    except actions.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    st.record_action(result.row)
    # The page shows the message kept under the action's id, so a crafted link cannot put
    # words on the page.
    st.messages[result.row["action_id"]] = result.message
    return RedirectResponse(
        f"/agreements/{agreement_id}?done={result.row['action_id']}", status_code=303
    )


@router.post("/agreements/{agreement_id}/v{version}/approve")
def approve(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(csrf_checked("approve"))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(request, principal, agreement_id, version, "approve", reason)


@router.post("/agreements/{agreement_id}/v{version}/sign-off")
def sign_off(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(csrf_checked("sign-off"))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(request, principal, agreement_id, version, "sign-off", reason)


@router.post("/agreements/{agreement_id}/v{version}/suspend")
def suspend(
    request: Request,
    agreement_id: str,
    version: int,
    principal: Annotated[Principal, Depends(csrf_checked("suspend"))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(request, principal, agreement_id, version, "suspend", reason)
