"""Agreement pages and actions: the register, version diffs, and approve / sign off /
suspend written to the agreement files (what the processor reloads) and to the audit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from connectors.synthetic.police import PoliceFeed
from hub.agreements import load_agreement, load_agreements
from hub.agreements.models import State, Status
from hub.audit.tables import agreement_actions
from hub.catalogue import EventType
from hub.console.auth import Role, add_user
from hub.policy.engine import PolicyEngine
from tests.console.conftest import PASSWORD, Console, csrf, login, write_draft


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
    done = officer.post(
        "/agreements/police-msn/v2/approve",
        data={"reason": "reviewed at IG board", "csrf_token": csrf(officer)},
    )
    assert done.status_code == 200 and "police-msn@v2 approved" in done.text
    v2 = load_agreement(folder / "police-msn" / "v2.yaml")
    assert v2.status is Status.APPROVED and v2.approval.dpo_review is not None
    assert "officer" in v2.approval.dpo_review.by and not v2.approval.sign_off
    assert officer.post(
        "/agreements/police-msn/v2/approve", data={"csrf_token": csrf(officer)}
    ).status_code == 409  # fmt: skip

    # A partner admin of a party signs off; another partner cannot even see the agreement.
    add_user(console.app_state.store.engine, "police", Role.PARTNER_ADMIN, PASSWORD,
             "merseyside-police")  # fmt: skip
    police = login(console.client(), "police")
    signed = police.post("/agreements/police-msn/v2/sign-off", data={"csrf_token": csrf(police)})
    assert signed.status_code == 200
    v2 = load_agreement(folder / "police-msn" / "v2.yaml")
    assert [s.party for s in v2.approval.sign_off] == ["merseyside-police"]
    liverpool = login(console.client(), "liverpool")
    assert liverpool.post(
        "/agreements/police-msn/v2/sign-off", data={"csrf_token": csrf(liverpool)}
    ).status_code == 404  # fmt: skip
    assert police.post(
        "/agreements/police-liverpool-mash/v1/suspend",
        data={"reason": "x", "csrf_token": csrf(police)},
    ).status_code == 403  # fmt: skip

    # Suspending issues v2 of the Liverpool MASH agreement; the engine then withholds.
    suspended = officer.post(
        "/agreements/police-liverpool-mash/v1/suspend",
        data={"reason": "incident review", "csrf_token": csrf(officer)},
    )
    assert suspended.status_code == 200 and "suspended" in suspended.text
    new = load_agreement(folder / "police-liverpool-mash" / "v2.yaml")
    assert new.status is Status.SUSPENDED and new.supersedes == 1
    assert "incident review" in new.change_note
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
