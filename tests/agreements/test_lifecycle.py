"""One rule for what governs: the engine, the console's register, `hub agreements list` and
lint agree at every step of any sequence of draft, approve, sign, suspend and expire, and a
version that is not in force never displaces one that is (issue 15 item 5)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from hub.agreements import lifecycle
from hub.agreements.lint import Linter
from hub.agreements.loader import load_agreements
from hub.agreements.models import Agreement, Approval, Signature, State, Status
from hub.agreements.partnership import load_partnership
from hub.catalogue import Catalogue, EventType, load_catalogue
from hub.cli.agreements import list_lines
from hub.console import actions
from hub.console.auth import Principal, Role
from hub.console.routes_agreements import register_rows
from hub.demo.samples import sample_events
from hub.policy.engine import PolicyEngine

ROOT = Path(__file__).resolve().parents[2]
ID = "police-wirral-mash-missing"
CONTROLLERS = ("merseyside-police", "wirral-mbc")
OFFICER = Principal("u0", "officer", Role.IG_OFFICER)
ADMINS = {p: Principal(f"u-{p}", f"admin of {p}", Role.PARTNER_ADMIN, p) for p in CONTROLLERS}
CATALOGUE: Catalogue = load_catalogue(ROOT / "schemas" / "avro")
PARTNERSHIP = load_partnership(ROOT / "partnership")
# One linter for every example: it caches the sample events' derived facts.
LINTER = Linter(CATALOGUE, PARTNERSHIP, sample_events, datetime.now(UTC))


def _missing() -> EventType:
    et = CATALOGUE.get("missing-episode")
    assert et is not None
    return et


def _wirral_child() -> Mapping[str, Any]:
    """A missing-episode sample that v1 shares with the Wirral MASH."""
    engine = PolicyEngine(load_agreements(ROOT / "partnership" / "agreements"))
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for e in sample_events(_missing()):
        decisions = engine.decide(e, _missing(), "merseyside-police", now)
        if any(d.recipient == "wirral-mash" and d.shared for d in decisions):
            return e
    raise AssertionError("no Wirral child among the samples")


EVENT = _wirral_child()

# Each step: (action, version pick, variant). The version pick indexes the versions that exist.
Step = tuple[str, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["draft", "approve", "sign", "suspend", "expire"]),
        st.integers(0, 5),
        st.integers(0, 3),
    ),
    max_size=10,
)


def _versions(folder: Path) -> list[Agreement]:
    return [a for a in load_agreements(folder) if a.id == ID]


def _draft(folder: Path, versions: list[Agreement], variant: int) -> None:
    """A new version copied from the newest: effective already (the reported case) or
    later (variant 1). Variant 2 arrives signed for the police only; variant 3 arrives
    signed by every controller but names another recipient, so approving it would stop the
    Wirral flow (the action must refuse without confirmation)."""
    newest = max(versions, key=lambda a: a.version)
    data = yaml.safe_load((folder / ID / f"v{newest.version}.yaml").read_text())
    today = datetime.now(UTC).date()
    data.update(
        version=newest.version + 1,
        status="draft",
        supersedes=newest.version,
        effective_from=(today + timedelta(days=30) if variant == 1 else date(2026, 2, 1)),
        effective_to=date(2028, 12, 31),
        approval={},
    )
    signers = {2: CONTROLLERS[:1], 3: CONTROLLERS}.get(variant, ())
    at = datetime(2026, 1, 1, tzinfo=UTC)
    data["approval"] = {"sign_off": [{"party": p, "by": p, "at": at} for p in signers]}
    if variant == 3:
        data["recipients"] = ["sefton-mash"]
    path = folder / ID / f"v{newest.version + 1}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _expire(folder: Path, target: Agreement) -> None:
    """Its window ends yesterday, as if time had passed beyond effective_to."""
    path = folder / ID / f"v{target.version}.yaml"
    data = yaml.safe_load(path.read_text())
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    data["effective_to"] = max(yesterday, date.fromisoformat(str(data["effective_from"])))
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _apply(folder: Path, step: Step) -> str:
    """Do one step through the console's own actions; returns what happened."""
    kind, pick, variant = step
    versions = sorted(_versions(folder), key=lambda a: a.version)
    # Low picks choose among the versions the action applies to (so sequences reach
    # approvals and sign-offs that change what governs); high picks any version at all.
    relevant = {
        "approve": [v for v in versions if v.status is Status.DRAFT],
        "sign": [v for v in versions if v.status in (Status.DRAFT, Status.APPROVED)],
    }.get(kind, versions)
    pool = relevant if pick < 3 and relevant else versions
    target = pool[-1 - pick % len(pool)]
    try:
        if kind == "draft":
            _draft(folder, versions, variant)
        elif kind == "approve":
            actions.approve(folder, OFFICER, versions, target, "board")
        elif kind == "sign":
            admin = ADMINS[CONTROLLERS[variant % 2]]
            actions.sign_off(folder, admin, versions, target, "", is_party=True)
        elif kind == "suspend":
            # Confirmed only on odd variants: an unconfirmed suspension must change nothing.
            actions.suspend(folder, OFFICER, versions, target, "review", confirmed=variant % 2 == 1)
        else:
            _expire(folder, target)
    except actions.ActionRefused:
        return "refused"
    return "done"


def _cli_governs(agreements: list[Agreement], now: datetime) -> str | None:
    marked = [
        line.split()[0]
        for line in list_lines(agreements, now)
        if line.startswith(f"{ID}@") and line.split()[1] == "governs"
    ]
    assert len(marked) <= 1
    return marked[0] if marked else None


def _shown(folder: Path, now: datetime) -> dict[str, str | None]:
    """What governs according to each reader of the rules."""
    agreements = load_agreements(folder)
    engine = PolicyEngine(agreements)
    gov = engine.governing(ID, now)
    [row] = [r for r in register_rows(agreements, [], now) if r["a"].id == ID]
    [decision] = [
        d
        for d in engine.decide(EVENT, _missing(), "merseyside-police", now)
        if d.recipient == "wirral-mash"
    ]
    in_force = gov is not None and gov.state(now) is State.IN_FORCE
    covers = in_force and gov is not None and "wirral-mash" in gov.recipients
    # The decision shares exactly when the governing version is in force and covers it.
    assert decision.shared == covers, decision.reason
    if decision.shared:
        assert decision.agreement_version == (gov.version if gov else None)
    return {
        "engine": gov.ref if gov else None,
        "lifecycle": r.ref if (r := lifecycle.governing(agreements, ID, now)) else None,
        "register": row["governs"].ref if row["governs"] else None,
        "cli": _cli_governs(agreements, now),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps)
# The paths that matter, always run: the reported case; a draft signed by one controller,
# approved, then signed by the other (it takes over); an approval that would stop the
# Wirral flow (refused); a suspension unconfirmed (refused) then confirmed; expiry of the
# version that took over (the older one, still in force, governs again).
@example([("draft", 0, 0), ("approve", 0, 0)])
@example([("draft", 0, 2), ("approve", 0, 0), ("sign", 0, 1), ("expire", 5, 0)])
@example([("draft", 0, 3), ("approve", 0, 0), ("sign", 0, 0)])
@example([("suspend", 0, 0), ("suspend", 0, 1), ("draft", 0, 0), ("approve", 0, 0)])
def test_engine_console_and_cli_agree_on_what_governs(sequence: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "agreements"
        folder.mkdir()
        shutil.copytree(ROOT / "partnership" / "agreements" / ID, folder / ID)
        before = _shown(folder, datetime.now(UTC))["engine"]
        for step in sequence:
            before_in_force = _in_force(folder, before, datetime.now(UTC))
            outcome = _apply(folder, step)
            now = datetime.now(UTC)
            shown = _shown(folder, now)
            assert len(set(shown.values())) == 1, (step, shown)
            after = shown["engine"]
            kind, _, variant = step
            if outcome == "refused" or kind == "draft":
                assert after == before, step  # nothing written that could change it
            elif before_in_force and after != before:
                # A change of what governs while a version was in force is a new version in
                # force, a confirmed suspension, or the governing version's own expiry.
                confirmed_suspend = kind == "suspend" and variant % 2 == 1
                assert _in_force(folder, after, now) or confirmed_suspend or kind == "expire"
            event(f"{kind} {outcome}")
            if after != before:
                event(f"governing changed by {kind}")
                _lint_agrees(folder, now)  # lint runs conditions on samples: where it matters
            before = after
        _lint_agrees(folder, datetime.now(UTC))


def _in_force(folder: Path, ref: str | None, now: datetime) -> bool:
    a = next((a for a in _versions(folder) if a.ref == ref), None)
    return a is not None and a.state(now) is State.IN_FORCE


def _lint_agrees(folder: Path, now: datetime) -> None:
    """Lint says nothing governs exactly when nothing does (and something is approved), and
    warns about every approved version that cannot take over yet."""
    LINTER._now = now  # the same moment as the engine's
    versions = _versions(folder)
    codes = {(f.code, f.agreement) for f in LINTER.lint(versions)}
    gov = lifecycle.pick(versions, now)
    nothing = any(code == "nothing-in-force" for code, _ in codes)
    named = lifecycle.considered(versions, now)
    assert nothing == (gov is None and named is not None and named.status is not Status.DRAFT)
    for v in versions:
        waiting = (
            v.status is Status.APPROVED
            and (gov is None or v.version > gov.version)
            and not lifecycle.taken_effect(v, now)
        )
        assert (("approved-not-in-force", v.ref) in codes) == waiting, v.ref


def _agreement(version: int, status: Status, **changes: Any) -> Agreement:
    base = next(a for a in load_agreements(ROOT / "partnership" / "agreements") if a.id == ID)
    return base.model_copy(update={"version": version, "status": status, **changes})


NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_approving_a_draft_never_silently_stops_sharing() -> None:
    """The reported case, at the rule itself: v2 approved, effective_from passed, no
    sign-off. v1 still governs; the engine shares under v1."""
    v1 = _agreement(1, Status.APPROVED)
    v2 = _agreement(
        2,
        Status.APPROVED,
        approval=Approval(dpo_review=Signature(by="DPO", at=datetime(2026, 11, 1, tzinfo=UTC))),
    )
    assert v2.state(NOW) is State.AWAITING_SIGN_OFF
    assert lifecycle.governing([v1, v2], ID, NOW) == v1
    [d] = [
        d
        for d in PolicyEngine([v1, v2]).decide(EVENT, _missing(), "merseyside-police", NOW)
        if d.recipient == "wirral-mash"
    ]
    assert d.shared and d.agreement_version == 1


def test_every_controller_signs_before_a_version_is_in_force() -> None:
    v1 = _agreement(1, Status.APPROVED)
    one = v1.approval.sign_off[:1]
    half = v1.model_copy(
        update={"approval": Approval(dpo_review=v1.approval.dpo_review, sign_off=one)}
    )
    assert half.unsigned() == ["wirral-mbc"]
    assert "missing: wirral-mbc" in (half.not_in_force_reason(NOW) or "")
    # A signature that names no party, or another party, counts for no controller.
    anonymous = tuple(Signature(by=s.by, at=s.at) for s in v1.approval.sign_off)
    unnamed = v1.model_copy(
        update={"approval": Approval(dpo_review=v1.approval.dpo_review, sign_off=anonymous)}
    )
    assert unnamed.unsigned() == list(CONTROLLERS) and unnamed.signed_at() is None
    no_dpo = v1.model_copy(update={"approval": Approval(sign_off=v1.approval.sign_off)})
    assert no_dpo.unsigned() == ["DPO review"]


def test_suspension_displaces_and_expiry_of_a_newer_version_does_not_stop_an_older_one() -> None:
    v1 = _agreement(1, Status.APPROVED)
    stop = _agreement(2, Status.SUSPENDED, effective_from=date(2026, 11, 20), approval=Approval())
    assert lifecycle.governing([v1, stop], ID, NOW) == stop
    # A suspension dated in the future stops nothing yet.
    later = stop.model_copy(update={"effective_from": date(2026, 12, 1)})
    assert lifecycle.governing([v1, later], ID, NOW) == v1
    # A newer version whose window has closed is not in force: v1, still in force, governs.
    expired = _agreement(2, Status.APPROVED, effective_to=date(2026, 10, 31))
    assert lifecycle.governing([v1, expired], ID, NOW) == v1
    # Nothing in force and nothing stopped: nothing governs, decisions name the newest.
    old = v1.model_copy(update={"effective_to": date(2026, 10, 31)})
    assert lifecycle.governing([old], ID, NOW) is None
    assert lifecycle.considered([old], NOW) == old


def test_a_signature_given_today_changes_what_governs_at_that_moment() -> None:
    """The engine caches its choice; the cache must not outlive a last signature given
    later the same day."""
    v1 = _agreement(1, Status.APPROVED)
    at = datetime(2026, 11, 23, 14, tzinfo=UTC)
    signed = tuple(Signature(by=p, at=at, party=p) for p in CONTROLLERS)
    v2 = _agreement(
        2, Status.APPROVED, approval=Approval(dpo_review=v1.approval.dpo_review, sign_off=signed)
    )
    engine = PolicyEngine([v1, v2])
    assert engine.governing(ID, at - timedelta(hours=1)) == v1
    assert engine.governing(ID, at + timedelta(minutes=1)) == v2
    assert engine.governing(ID, at - timedelta(minutes=1)) == v1


def test_the_explicit_paths_do_what_they_say(tmp_path: Path) -> None:
    """The examples above reach the transitions they are there for."""
    folder = tmp_path / "agreements"
    shutil.copytree(ROOT / "partnership" / "agreements" / ID, folder / ID)
    assert _apply(folder, ("draft", 0, 2)) == "done"
    assert _apply(folder, ("approve", 0, 0)) == "done"
    assert _shown(folder, datetime.now(UTC))["engine"] == f"{ID}@v1"  # police signed only
    assert _apply(folder, ("sign", 0, 1)) == "done"
    assert _shown(folder, datetime.now(UTC))["cli"] == f"{ID}@v2"
    assert _apply(folder, ("draft", 0, 3)) == "done"
    assert _apply(folder, ("approve", 0, 0)) == "refused"  # it would stop the Wirral flow
    assert _apply(folder, ("suspend", 0, 0)) == "refused"  # unconfirmed
    assert _apply(folder, ("suspend", 1, 1)) == "done"
    shown = _shown(folder, datetime.now(UTC))
    assert set(shown.values()) == {f"{ID}@v4"}
    suspended = next(v for v in _versions(folder) if v.version == 4)
    assert suspended.status is Status.SUSPENDED and suspended.approval == Approval()
    # The draft v3 left behind the suspension can never govern, and lint says so.
    LINTER._now = datetime.now(UTC)
    found = {(f.code, f.agreement) for f in LINTER.lint(_versions(folder))}
    assert ("never-governs", f"{ID}@v3") in found
