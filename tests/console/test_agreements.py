"""Agreement pages and actions: the register, version diffs, and approve / sign off /
suspend written to the agreement files (what the processor reloads) and to the audit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from connectors.synthetic.police import PoliceFeed
from hub.agreements import load_agreement, load_agreements
from hub.agreements.models import State, Status
from hub.audit.tables import agreement_actions
from hub.catalogue import Catalogue, EventType
from hub.console.auth import Role, add_user
from hub.demo.samples import sample_events
from hub.policy.engine import PolicyEngine
from tests.console.conftest import (
    PASSWORD,
    ROOT,
    Console,
    draft,
    login,
    save,
    submit,
    write_draft,
)


def test_register_and_version_diff(console: Console) -> None:
    write_draft(console.settings.partnership_dir)
    client = login(console.client(), "officer")
    register = client.get("/agreements").text
    assert "police-msn" in register and "draft v2" in register and "in force" in register
    page = client.get("/agreements/police-msn").text
    assert "DOMESTIC_ABUSE" in page  # the changed condition, in the diff
    assert 'class="del">- ' in page and "borough" in page
    assert "Approve (DPO review)" in page


def test_approve_sign_off_and_suspend(console: Console, concern_type: EventType) -> None:
    folder = console.settings.partnership_dir / "agreements"
    write_draft(console.settings.partnership_dir)
    officer = login(console.client(), "officer")
    done = act(officer, "approve", "police-msn@v2", reason="reviewed at IG board")
    assert done.status_code == 200 and "police-msn@v2 approved" in done.text
    v2 = load_agreement(folder / "police-msn" / "v2.yaml")
    assert v2.status is Status.APPROVED and v2.approval.dpo_review is not None
    assert "officer" in v2.approval.dpo_review.by and not v2.approval.sign_off
    assert act(officer, "approve", "police-msn@v2").status_code == 409

    # A partner admin of a party signs off; another partner cannot even see the agreement.
    add_user(console.app_state.store.engine, "police", Role.PARTNER_ADMIN, PASSWORD,
             "merseyside-police")  # fmt: skip
    police = login(console.client(), "police")
    signed = act(police, "sign-off", "police-msn@v2")
    assert signed.status_code == 200
    v2 = load_agreement(folder / "police-msn" / "v2.yaml")
    assert [s.party for s in v2.approval.sign_off] == ["merseyside-police"]
    liverpool = login(console.client(), "liverpool")
    assert act(liverpool, "sign-off", "police-msn@v2").status_code == 404
    assert act(police, "suspend", "police-liverpool-mash@v1", reason="x").status_code == 403

    # Suspending asks for confirmation and a reason, then issues v2 of the Liverpool MASH
    # agreement, with no sign-off of its own; the engine then withholds.
    page = officer.get("/agreements/police-liverpool-mash/v1/suspend")
    assert page.status_code == 200
    assert "safeguarding-concern" in page.text and "liverpool-mash" in page.text
    unconfirmed = act(officer, "suspend", "police-liverpool-mash@v1", reason="incident review")
    assert unconfirmed.status_code == 409
    assert "merseyside-police → liverpool-mash: safeguarding-concern" in unconfirmed.text
    mash = "police-liverpool-mash@v1"
    no_reason = act(officer, "suspend", mash, confirm=mash)
    assert no_reason.status_code == 409 and "say why" in no_reason.text
    assert not (folder / "police-liverpool-mash" / "v2.yaml").exists()
    suspended = act(officer, "suspend", mash, reason="incident review", confirm=mash)
    assert suspended.status_code == 200 and "suspended" in suspended.text
    assert "Stops being shared: merseyside-police → liverpool-mash" in suspended.text
    new = load_agreement(folder / "police-liverpool-mash" / "v2.yaml")
    assert new.status is Status.SUSPENDED and new.supersedes == 1
    assert "incident review" in new.change_note
    assert new.approval.dpo_review is None and new.approval.sign_off == ()
    now = datetime.now(UTC)
    assert new.state(now) is State.SUSPENDED
    engine = PolicyEngine(load_agreements(folder))
    for event in PoliceFeed(seed=3).events(40):
        for d in engine.decide(event, concern_type, "merseyside-police", now):
            if d.recipient == "liverpool-mash":
                assert not d.shared and "suspended" in d.reason

    with console.app_state.store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(agreement_actions))]
    assert sorted((r["action"], r["user_name"], r["result_version"]) for r in rows) == [
        ("approve", "officer", 2),
        ("sign-off", "police", 2),
        ("suspend", "officer", 2),
    ]
    history = officer.get("/agreements/police-liverpool-mash").text
    assert "incident review" in history and "v1 → v2" in history


def act(client: TestClient, action: str, ref: str, **form: str) -> Response:
    """``action`` (approve, sign-off or suspend) on the agreement version ``ref``
    (``<id>@v<N>``), posted as its form posts it."""
    agreement_id, version = ref.split("@")
    return submit(client, f"/agreements/{agreement_id}/{version}/{action}", **form)


def _wirral_draft(partnership: Path, **changes: Any) -> None:
    """police-wirral-mash-missing v2 as a draft whose effective_from has already passed
    (the reported case): same parties, a narrower condition, no signatures."""
    data = draft(
        partnership, "police-wirral-mash-missing", change_note="High and medium risk only."
    )
    data["condition"] += ' && event.risk_grading != "LOW"'
    save(partnership, data | changes)


def _wirral_children(catalogue: Catalogue) -> tuple[EventType, list[dict[str, Any]]]:
    et = catalogue.get("missing-episode")
    assert et is not None
    engine = PolicyEngine(load_agreements(ROOT / "partnership" / "agreements"))
    now = datetime.now(UTC)
    shared = [
        dict(e)
        for e in sample_events(et)
        if any(
            d.recipient == "wirral-mash" and d.shared
            for d in engine.decide(e, et, "merseyside-police", now)
        )
    ]
    assert len(shared) >= 5
    return et, shared


def _cli_list(partnership: Path) -> list[str]:
    """``hub agreements list``, run as an operator runs it."""
    hub = Path(sys.executable).parent / "hub"
    env = {**os.environ, "HUB_PARTNERSHIP_DIR": str(partnership)}
    out = subprocess.run(
        [str(hub), "agreements", "list"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if "wirral-mash-missing" in line]


def test_approving_a_draft_never_silently_stops_sharing(
    console: Console, catalogue: Catalogue
) -> None:
    """Issue 15 item 5: draft v2 with effective_from passed, approved without sign-off, used
    to govern while not in force, withholding every Wirral missing child. It must not
    displace v1, and the engine, the register, the CLI and lint must all say so."""
    partnership = console.settings.partnership_dir
    folder = partnership / "agreements"
    _wirral_draft(partnership)
    et, children = _wirral_children(catalogue)
    officer = login(console.client(), "officer")
    done = act(officer, "approve", "police-wirral-mash-missing@v2", reason="IG board")
    assert done.status_code == 200
    assert "what governs does not change (police-wirral-mash-missing@v1 governs)" in done.text
    assert "missing: merseyside-police, wirral-mbc" in done.text

    now = datetime.now(UTC)
    agreements = load_agreements(folder)
    engine = PolicyEngine(agreements)
    assert engine.governing("police-wirral-mash-missing", now).ref == (  # type: ignore[union-attr]
        "police-wirral-mash-missing@v1"
    )
    for event in children:
        [d] = [d for d in engine.decide(event, et, "merseyside-police", now)
               if d.recipient == "wirral-mash"]  # fmt: skip
        assert d.shared and d.agreement_version == 1, d.reason

    register = officer.get("/agreements").text
    row = register[register.index("police-wirral-mash-missing</b>") :]
    row = row[: row.index("</tr>")]
    assert "v1 <span" in row and "in force" in row
    assert "v2: awaiting sign-off (merseyside-police, wirral-mbc)" in row
    page = officer.get("/agreements/police-wirral-mash-missing").text
    assert 'v1 <span class="muted small">(governs)' in page
    lines = _cli_list(partnership)
    assert lines[0].split()[:2] == ["police-wirral-mash-missing@v1", "governs"]
    assert lines[1].split()[:4] == ["police-wirral-mash-missing@v2", "-", "awaiting", "sign-off"]
    findings = [f for f in console.app_state.lint(agreements) if f.code == "approved-not-in-force"]
    assert [f.agreement for f in findings] == ["police-wirral-mash-missing@v2"]
    assert "police-wirral-mash-missing@v1 governs until it is" in findings[0].message

    # Once every controller has signed, v2 takes over, and the action says so.
    for user, partner in (("police", "merseyside-police"), ("wirral", "wirral-mbc")):
        add_user(console.app_state.store.engine, user, Role.PARTNER_ADMIN, PASSWORD, partner)
    police = login(console.client(), "police")
    first = act(police, "sign-off", "police-wirral-mash-missing@v2")
    assert "what governs does not change" in first.text and "missing: wirral-mbc" in first.text
    wirral = login(console.client(), "wirral")
    last = act(wirral, "sign-off", "police-wirral-mash-missing@v2")
    assert "police-wirral-mash-missing@v1 governed; now police-wirral-mash-missing@v2 governs" in (
        last.text
    )
    later = datetime.now(UTC)
    assert PolicyEngine(load_agreements(folder)).governing(
        "police-wirral-mash-missing", later
    ).version == 2  # type: ignore[union-attr]  # fmt: skip
    assert _cli_list(partnership)[1].split()[1] == "governs"


def test_an_approval_that_would_stop_a_flow_refuses_and_names_it(console: Console) -> None:
    """A draft already signed by every controller, which covers fewer event types: approving
    it would make it govern and stop the rest; without confirmation the console refuses and
    names exactly the flows that would stop."""
    partnership = console.settings.partnership_dir
    v1 = load_agreement(partnership / "agreements" / "police-wirral-mash-missing" / "v1.yaml")
    signatures = [s.model_dump(mode="json") for s in v1.approval.sign_off]
    _wirral_draft(partnership, recipients=["sefton-mash"], approval={"sign_off": signatures})
    officer = login(console.client(), "officer")
    refused = act(officer, "approve", "police-wirral-mash-missing@v2")
    assert refused.status_code == 409
    assert "Stops being shared: merseyside-police → wirral-mash: missing-episode" in refused.text
    pending = load_agreement(partnership / "agreements" / "police-wirral-mash-missing" / "v2.yaml")
    assert pending.status is Status.DRAFT  # nothing written
    draft_ref = "police-wirral-mash-missing@v2"
    confirmed = act(officer, "approve", draft_ref, confirm=draft_ref)
    assert confirmed.status_code == 200
    assert "Stops being shared: merseyside-police → wirral-mash" in confirmed.text


def test_only_the_governing_version_in_force_can_be_suspended(console: Console) -> None:
    _wirral_draft(console.settings.partnership_dir)
    officer = login(console.client(), "officer")
    page = officer.get("/agreements/police-wirral-mash-missing/v2/suspend")
    assert page.status_code == 409 and "police-wirral-mash-missing@v1 does" in page.text
    v1, v2 = "police-wirral-mash-missing@v1", "police-wirral-mash-missing@v2"
    refused = act(officer, "suspend", v2, reason="x", confirm=v2)
    assert refused.status_code == 409
    # A confirmation given for another version does not count.
    wrong = act(officer, "suspend", v1, reason="x", confirm=v2)
    assert wrong.status_code == 409 and "confirm first" in wrong.text
