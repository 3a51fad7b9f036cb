"""The register of agreements, version history with diffs, lint findings and actions."""

# No ``from __future__ import annotations``: the dependencies ``named`` and the action
# routes build name local values in their annotations, which FastAPI must see evaluated.

from collections.abc import Callable
from dataclasses import dataclass
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
from hub.console.web import Viewer, console, csrf_checked, need, render

router = APIRouter()


def governing(versions: list[Agreement], now: datetime) -> Agreement | None:
    """The version that governs today (None: none does), by the engine's own rule:
    ``hub.agreements.lifecycle``, shared with ``hub agreements list`` and lint."""
    return lifecycle.pick(versions, now)


def grouped(agreements: list[Agreement]) -> dict[str, list[Agreement]]:
    return lifecycle.by_id(agreements)


def _findings_of(agreement_id: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.agreement.split("@")[0] == agreement_id]


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
                "findings": _findings_of(agreement_id, findings),
            }
        )
    return rows


@router.get("/agreements", response_class=HTMLResponse)
def register_page(request: Request, principal: Viewer) -> Response:
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
    principal: Viewer,
    a: int | None = None,
    b: int | None = None,
    done: str = "",
) -> Response:
    st = console(request)
    versions = _versions(st, principal, agreement_id)
    now = datetime.now(UTC)
    with st.store.engine.connect() as conn:
        history = queries.list_agreement_actions(conn, principal.scope, agreement_id)
    return render(
        request,
        "agreement.html",
        agreement_id=agreement_id,
        versions=versions,
        current=lifecycle.considered(versions, now),
        governs=governing(versions, now),
        state_label=lifecycle.state_label,
        now=now,
        compared=actions.compare(versions, a, b),
        history=history,
        findings=_findings_of(agreement_id, st.lint(st.agreements())),
        is_party=any(st.is_party(principal, v) for v in versions),
        done=st.messages.pop(done, "") if done else "",
    )


@dataclass(frozen=True)
class Named:
    """The agreement version a path names (``/agreements/{agreement_id}/v{version}/...``),
    loaded for a user allowed on the route: the version, and every version of its agreement
    they may see (what an action weighs it against)."""

    principal: Principal
    versions: list[Agreement]
    target: Agreement


def named(permission: Callable[..., Any]) -> Callable[..., Named]:
    """A dependency: ``permission`` (``need(...)`` or ``csrf_checked(...)``) first, then the
    version named, or 404 (a version the user may not see is not there)."""

    def load(
        request: Request,
        agreement_id: str,
        version: int,
        principal: Annotated[Principal, Depends(permission)],
    ) -> Named:
        versions = _versions(console(request), principal, agreement_id)
        target = next((v for v in versions if v.version == version), None)
        if target is None:
            raise HTTPException(404, "no such version")
        return Named(principal, versions, target)

    return load


def _act(request: Request, n: Named, action: str, reason: str, confirm: str) -> Response:
    st = console(request)
    # The tick carries the version's ref: a stale or crafted form cannot confirm another.
    confirmed = confirm == n.target.ref
    try:
        if action == "approve":
            result = actions.approve(
                st.agreements_dir, n.principal, n.versions, n.target, reason, confirmed
            )
        elif action == "sign-off":
            is_party = st.is_party(n.principal, n.target)
            result = actions.sign_off(
                st.agreements_dir, n.principal, n.versions, n.target, reason, is_party, confirmed
            )
        else:
            result = actions.suspend(
                st.agreements_dir, n.principal, n.versions, n.target, reason, confirmed
            )
    except actions.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    st.record_action(result.row)
    # The page shows the message kept under the action's id, so a crafted link cannot put
    # words on the page.
    st.messages[result.row["action_id"]] = result.message
    return RedirectResponse(
        f"/agreements/{n.target.id}?done={result.row['action_id']}", status_code=303
    )


def _action_route(action: str) -> None:
    """``POST /agreements/{id}/v{N}/<action>``: the action's own permission (and CSRF), a
    reason, and the confirmation tick."""

    @router.post(f"/agreements/{{agreement_id}}/v{{version}}/{action}", name=action)
    def act(
        request: Request,
        n: Annotated[Named, Depends(named(csrf_checked(action)))],
        reason: Annotated[str, Form()] = "",
        confirm: Annotated[str, Form()] = "",
    ) -> Response:
        return _act(request, n, action, reason, confirm)


for _action in ("approve", "sign-off", "suspend"):
    _action_route(_action)


@router.get("/agreements/{agreement_id}/v{version}/suspend", response_class=HTMLResponse)
def suspend_page(
    request: Request, n: Annotated[Named, Depends(named(need("suspend")))]
) -> Response:
    """The confirmation step: what would stop, a reason (required) and an explicit tick."""
    try:
        change = actions.suspension_preview(n.versions, n.target)
    except actions.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    stops = sorted(change.stopped)
    return render(request, "suspend.html", target=n.target, change=change, stops=stops)
