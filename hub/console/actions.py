"""Approve, sign off and suspend agreements from the console, and diff their versions.

An action takes effect the way every rule change does: through the agreement files, which
the running processor reloads between batches. The console

- **approves** a draft by writing ``status: approved`` and the DPO review (who, when) into
  the draft's own file: its terms do not change, only its state, and a draft has never
  governed a decision, so no decision ever relied on the earlier text;
- records a **sign-off** for the signing partner in the same way;
- **suspends** by issuing a new version (a copy of the governing one with ``status:
  suspended``, ``effective_from`` today, ``supersedes``, a change note, and no approval: a
  suspended version inherits no sign-off), after the officer has confirmed what stops and
  given a reason.

Every action first works out what governs before and after it (``hub.agreements.lifecycle``,
the engine's own rule) and says so in its message. One that would change the governing
version and stop a flow (provider, recipient, event type) refuses unless the officer has
confirmed, and its refusal names each flow that would stop.

Each action is also a row of ``agreement_actions`` in the hash-chained audit: who, when,
why, which file. Files are written atomically (temporary file, then rename) and checked by
loading them first, so the processor never reads a half-written or invalid agreement.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hub.agreements import lifecycle
from hub.agreements.loader import load_agreement
from hub.agreements.models import Agreement, State, Status
from hub.console.auth import Principal, Role
from hub.errors import HubError, Terminal


class ActionRefused(HubError, Terminal):
    """The action is not allowed for this user or this version; the message says why."""


@dataclass(frozen=True)
class ActionResult:
    row: dict[str, Any]
    path: Path
    message: str


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def _write(path: Path, data: dict[str, Any], header: str) -> None:
    body = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=96)
    # Checked before it replaces anything: an invalid file must never reach the processor.
    # The loader wants <id>/v<N>.yaml, so the check copy lives in a folder of that name.
    with tempfile.TemporaryDirectory(prefix="hub-console-check-") as scratch:
        check = Path(scratch) / path.parent.name / path.name
        check.parent.mkdir()
        check.write_text(body)
        load_agreement(check)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".console-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
        os.replace(tmp, path)  # atomic: the processor sees the old file or the new one
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _file(folder: Path, agreement_id: str, version: int) -> Path:
    path = folder / agreement_id / f"v{version}.yaml"
    if not path.is_file():
        raise ActionRefused(f"{agreement_id}@v{version} is not a file in the agreement folder")
    return path


def _row(
    principal: Principal, a: Agreement, action: str, reason: str, path: Path, result: int
) -> dict[str, Any]:
    return {
        "action_id": str(uuid.uuid4()),
        "at": datetime.now(UTC).isoformat(),
        **principal.actor(),
        "agreement_id": a.id,
        "version": a.version,
        "action": action,
        "reason": reason,
        "file": f"{a.id}/{path.name}",
        "result_version": result,
    }


def _signature(principal: Principal, now: datetime) -> dict[str, Any]:
    role = "IG officer" if principal.role is Role.IG_OFFICER else "partner admin"
    return {"by": f"{principal.name} ({role}, via the hub console)", "at": now}


def _guard(
    versions: Sequence[Agreement], changed: Agreement, now: datetime, confirmed: bool
) -> lifecycle.Change:
    """What governs before and after ``changed`` replaces (or joins) its version; refuses
    an unconfirmed action that would stop a flow, naming every flow it would stop."""
    after = [v for v in versions if v.version != changed.version] + [changed]
    change = lifecycle.change(versions, after, changed.id, now)
    if change.changes_governing and change.stopped and not confirmed:
        raise ActionRefused(
            f"not done: {change.summary()} Confirm to go ahead, or issue a version that "
            "keeps these flows."
        )
    return change


def _validated(data: dict[str, Any]) -> Agreement:
    return Agreement.model_validate(data)


def _pending(a: Agreement, change: lifecycle.Change, now: datetime) -> str:
    """What the action's version still waits for, when it does not govern."""
    if change.after is not None and change.after.version == a.version:
        return ""
    if change.after is not None and change.after.version > a.version:
        return (
            f" {a.ref} can never govern: {change.after.ref} is newer; issue the change as a "
            "new version."
        )
    why = a.not_in_force_reason(now)
    gov = change.after.ref if change.after is not None else "nothing"
    return f" {a.ref} is not in force ({why}); {gov} governs until it is." if why else ""


def _amend(
    folder: Path,
    principal: Principal,
    versions: Sequence[Agreement],
    a: Agreement,
    edit: Callable[[dict[str, Any], datetime], None],
    action: str,
    reason: str,
    confirmed: bool,
    done: str,
) -> ActionResult:
    """Change version ``a``'s own file in place by ``edit`` (its state or approval, never
    its terms), guarded like every action; the message says ``done``, then what governs
    after it and what ``a`` still waits for."""
    path = _file(folder, a.id, a.version)
    text = path.read_text()
    data = yaml.safe_load(text)
    now = datetime.now(UTC).replace(microsecond=0)
    edit(data, now)
    changed = _validated(data)
    change = _guard(versions, changed, now, confirmed)
    _write(path, data, _leading_comments(text))
    return ActionResult(
        _row(principal, a, action, reason, path, a.version),
        path,
        f"{done} {change.summary()}" + _pending(changed, change, now),
    )


def approve(
    folder: Path,
    principal: Principal,
    versions: Sequence[Agreement],
    a: Agreement,
    reason: str,
    confirmed: bool = False,
) -> ActionResult:
    """Record the DPO review of a draft and approve it."""
    if not principal.can("approve"):
        raise ActionRefused("only an IG officer can approve an agreement")
    if a.status is not Status.DRAFT:
        raise ActionRefused(f"{a.ref} is {a.status.value}; only a draft can be approved")

    def edit(data: dict[str, Any], now: datetime) -> None:
        data["status"] = Status.APPROVED.value
        data["approval"] = {
            **(data.get("approval") or {}),
            "dpo_review": _signature(principal, now),
        }

    done = f"{a.ref} approved (DPO review recorded)."
    return _amend(folder, principal, versions, a, edit, "approve", reason, confirmed, done)


def sign_off(
    folder: Path,
    principal: Principal,
    versions: Sequence[Agreement],
    a: Agreement,
    reason: str,
    is_party: bool,
    confirmed: bool = False,
) -> ActionResult:
    """A partner admin's senior sign-off for their organisation."""
    if not principal.can("sign-off") or principal.partner is None:
        raise ActionRefused("only a partner admin signs off, for their own organisation")
    if not is_party:
        raise ActionRefused(f"{principal.partner} is not a party to {a.ref}")
    if a.status not in (Status.DRAFT, Status.APPROVED):
        raise ActionRefused(f"{a.ref} is {a.status.value}: nothing to sign")
    if principal.partner not in a.controllers:
        raise ActionRefused(
            f"{principal.partner} is not a controller of {a.ref}: only controllers sign"
        )
    if any(s.party == principal.partner for s in a.approval.sign_off):
        raise ActionRefused(f"{principal.partner} has already signed {a.ref}")

    def edit(data: dict[str, Any], now: datetime) -> None:
        approval = dict(data.get("approval") or {})
        entry = {"party": principal.partner, **_signature(principal, now)}
        approval["sign_off"] = [*(approval.get("sign_off") or []), entry]
        data["approval"] = approval

    done = f"{a.ref} signed off for {principal.partner}."
    return _amend(folder, principal, versions, a, edit, "sign-off", reason, confirmed, done)


def suspension_preview(versions: Sequence[Agreement], target: Agreement) -> lifecycle.Change:
    """What suspending ``target`` would stop, for the confirmation page; refuses when
    ``target`` is not the version in force today."""
    now = datetime.now(UTC)
    gov = lifecycle.pick(versions, now)
    if gov is None or gov.version != target.version:
        raise ActionRefused(
            f"{target.ref} does not govern today; "
            + (f"{gov.ref} does" if gov is not None else "nothing does")
        )
    if gov.state(now) is not State.IN_FORCE:
        raise ActionRefused(f"{gov.ref} is {gov.state(now).value}, not in force")
    stop = target.model_copy(
        update={"version": max(v.version for v in versions) + 1, "status": Status.SUSPENDED}
    )
    return lifecycle.change(versions, [*versions, stop], target.id, now)


def suspend(
    folder: Path,
    principal: Principal,
    versions: Sequence[Agreement],
    target: Agreement,
    reason: str,
    confirmed: bool,
) -> ActionResult:
    """Issue version ``newest + 1``: the governing version, suspended from today, with no
    approval (a suspended version inherits no sign-off; lifting it is a new version that
    every controller signs again)."""
    if not principal.can("suspend"):
        raise ActionRefused("only an IG officer can suspend an agreement")
    change = suspension_preview(versions, target)
    if not reason.strip():
        raise ActionRefused("say why the agreement is suspended")
    if not confirmed:
        raise ActionRefused(f"not suspended: confirm first. {change.summary()}")
    now = datetime.now(UTC)
    source = _file(folder, target.id, target.version)
    text = source.read_text()
    data = yaml.safe_load(text)
    version = max(v.version for v in versions) + 1
    data["version"] = version
    data["status"] = Status.SUSPENDED.value
    data["supersedes"] = target.version
    data["effective_from"] = now.date()
    data["approval"] = {}
    data["change_note"] = (
        f"Suspended in the hub console by {principal.name} on {now.date()}: {reason.strip()}"
    )
    destination = folder / target.id / f"v{version}.yaml"
    if destination.exists():
        raise ActionRefused(f"{destination.name} exists already")
    _write(destination, data, _leading_comments(text))
    pending = [f"v{v.version}" for v in versions if v.version > target.version]
    note = (
        f" {', '.join(pending)} can no longer govern (v{version} is newer): to reinstate, "
        "issue a new version."
        if pending
        else ""
    )
    return ActionResult(
        _row(principal, target, "suspend", reason, destination, version),
        destination,
        f"{target.id} suspended: v{version} takes effect today. {change.summary()} Sharing "
        f"stops when the processor reloads (within seconds).{note}",
    )


@dataclass(frozen=True)
class Comparison:
    """Two versions of one agreement side by side (the agreement page), and their diff."""

    older: Agreement
    newer: Agreement
    diff: list[tuple[str, str]]


def compare(versions: Sequence[Agreement], a: int | None, b: int | None) -> Comparison:
    """Versions ``a`` and ``b`` of ``versions`` (sorted, never empty): by default the newest
    and the one before it; a number not among them reads as the newest (``b``) or the
    oldest (``a``)."""
    by_version = {v.version: v for v in versions}
    newer = by_version.get(b or versions[-1].version, versions[-1])
    older = by_version.get(a or max(1, newer.version - 1), versions[0])
    diff = version_diff(older, newer) if older.version != newer.version else []
    return Comparison(older, newer, diff)


def version_diff(older: Agreement, newer: Agreement) -> list[tuple[str, str]]:
    """A readable line diff of two versions (as YAML of their validated models), as
    (kind, line) pairs: kind is '+', '-', ' ' or '@' for a hunk header."""

    def lines(a: Agreement) -> list[str]:
        data = a.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        return yaml.safe_dump(data, sort_keys=False, width=96, allow_unicode=True).splitlines()

    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(
        lines(older), lines(newer), f"v{older.version}", f"v{newer.version}", n=2, lineterm=""
    ):
        if line.startswith(("---", "+++")):
            continue
        kind = "@" if line.startswith("@@") else line[:1]
        out.append((kind, line[1:] if kind != "@" else line))
    return out
