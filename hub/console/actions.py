"""Approve, sign off and suspend agreements from the console, and diff their versions.

An action takes effect the way every rule change does: through the agreement files, which
the running processor reloads between batches. The console

- **approves** a draft by writing ``status: approved`` and the DPO review (who, when) into
  the draft's own file: its terms do not change, only its state, and a draft has never
  governed a decision, so no decision ever relied on the earlier text;
- records a **sign-off** for the signing partner in the same way;
- **suspends** by issuing a new version (a copy of the governing one with ``status:
  suspended``, ``effective_from`` today, ``supersedes`` and a change note): the lifecycle the
  engine already enforces, and the version decisions made before stay readable.

Each action is also a row of ``agreement_actions`` in the hash-chained audit: who, when,
why, which file. Files are written atomically (temporary file, then rename) and checked by
loading them first, so the processor never reads a half-written or invalid agreement.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

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
        "user_name": principal.name,
        "role": principal.role.value,
        "partner": principal.partner,
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


def approve(folder: Path, principal: Principal, a: Agreement, reason: str) -> ActionResult:
    """Record the DPO review of a draft and approve it."""
    if not principal.can("approve"):
        raise ActionRefused("only an IG officer can approve an agreement")
    if a.status is not Status.DRAFT:
        raise ActionRefused(f"{a.ref} is {a.status.value}; only a draft can be approved")
    path = _file(folder, a.id, a.version)
    text = path.read_text()
    data = yaml.safe_load(text)
    now = datetime.now(UTC).replace(microsecond=0)
    data["status"] = Status.APPROVED.value
    approval = dict(data.get("approval") or {})
    approval["dpo_review"] = _signature(principal, now)
    data["approval"] = approval
    _write(path, data, _leading_comments(text))
    signed = bool(approval.get("sign_off"))
    note = "" if signed else " It shares only once a party has signed it off."
    return ActionResult(
        _row(principal, a, "approve", reason, path, a.version),
        path,
        f"{a.ref} approved (DPO review recorded).{note}",
    )


def sign_off(
    folder: Path, principal: Principal, a: Agreement, reason: str, is_party: bool
) -> ActionResult:
    """A partner admin's senior sign-off for their organisation."""
    if not principal.can("sign-off") or principal.partner is None:
        raise ActionRefused("only a partner admin signs off, for their own organisation")
    if not is_party:
        raise ActionRefused(f"{principal.partner} is not a party to {a.ref}")
    if a.status not in (Status.DRAFT, Status.APPROVED):
        raise ActionRefused(f"{a.ref} is {a.status.value}: nothing to sign")
    if any(s.party == principal.partner for s in a.approval.sign_off):
        raise ActionRefused(f"{principal.partner} has already signed {a.ref}")
    path = _file(folder, a.id, a.version)
    text = path.read_text()
    data = yaml.safe_load(text)
    approval = dict(data.get("approval") or {})
    entry = {"party": principal.partner, **_signature(principal, datetime.now(UTC))}
    entry["at"] = entry["at"].replace(microsecond=0)
    approval["sign_off"] = [*(approval.get("sign_off") or []), entry]
    data["approval"] = approval
    _write(path, data, _leading_comments(text))
    return ActionResult(
        _row(principal, a, "sign-off", reason, path, a.version),
        path,
        f"{a.ref} signed off for {principal.partner}.",
    )


def suspend(
    folder: Path, principal: Principal, governing: Agreement, newest: int, reason: str
) -> ActionResult:
    """Issue version ``newest + 1``: the governing version, suspended from today."""
    if not principal.can("suspend"):
        raise ActionRefused("only an IG officer can suspend an agreement")
    if not reason.strip():
        raise ActionRefused("say why the agreement is suspended")
    now = datetime.now(UTC)
    if governing.state(now) is not State.IN_FORCE:
        raise ActionRefused(f"{governing.ref} is {governing.state(now).value}, not in force")
    source = _file(folder, governing.id, governing.version)
    text = source.read_text()
    data = yaml.safe_load(text)
    version = newest + 1
    data["version"] = version
    data["status"] = Status.SUSPENDED.value
    data["supersedes"] = governing.version
    data["effective_from"] = now.date()
    data["change_note"] = (
        f"Suspended in the hub console by {principal.name} on {now.date()}: {reason.strip()}"
    )
    target = folder / governing.id / f"v{version}.yaml"
    if target.exists():
        raise ActionRefused(f"{target.name} exists already")
    _write(target, data, _leading_comments(text))
    return ActionResult(
        _row(principal, governing, "suspend", reason, target, version),
        target,
        f"{governing.id} suspended: v{version} takes effect today; sharing under it stops "
        "when the processor reloads (within seconds).",
    )


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
