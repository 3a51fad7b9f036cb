"""Load agreements from YAML: ``partnership/agreements/<id>/v<N>.yaml``, one file a version.

Every change to an agreement is a new version file; old versions stay in the folder, so
they remain readable (and the audit can always show the exact text a decision relied on).
A flat ``<id>.yaml`` (one version) is accepted too, for small setups and tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from hub.agreements.models import Agreement
from hub.errors import AgreementError
from hub.yamlfile import load_model

_VERSION_FILE = re.compile(r"^v([0-9]+)\.ya?ml$")


def load_agreement(path: Path) -> Agreement:
    agreement = load_model(path, Agreement, "agreement", AgreementError)
    m = _VERSION_FILE.match(path.name)
    # In the folder layout the path is the agreement's identity: refuse a mismatch.
    if m is not None and (path.parent.name != agreement.id or int(m.group(1)) != agreement.version):
        raise AgreementError(
            f"{path}: file says {agreement.ref}; it must live at "
            f"{agreement.id}/v{agreement.version}.yaml"
        )
    return agreement


def load_agreements(folder: Path) -> list[Agreement]:
    """Every agreement version under ``folder``; duplicate (id, version) pairs are an error."""
    if not folder.is_dir():
        raise AgreementError(f"agreement folder {folder} does not exist")
    out: list[Agreement] = []
    seen: dict[tuple[str, int], Path] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*/v*.yaml")]):
        agreement = load_agreement(path)
        key = (agreement.id, agreement.version)
        if key in seen:
            raise AgreementError(f"{path}: {agreement.ref} is also defined in {seen[key]}")
        seen[key] = path
        out.append(agreement)
    return out
