"""Load agreements from YAML files, one agreement version per file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from hub.agreements.models import Agreement
from hub.errors import AgreementError


def load_agreement(path: Path) -> Agreement:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AgreementError(f"{path}: cannot read agreement: {exc}") from exc
    try:
        return Agreement.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise AgreementError(f"{path}: invalid agreement: {problems}") from exc


def load_agreements(folder: Path) -> list[Agreement]:
    """Every ``*.yaml`` in ``folder``; duplicate (id, version) pairs are an error."""
    if not folder.is_dir():
        raise AgreementError(f"agreement folder {folder} does not exist")
    out: list[Agreement] = []
    seen: dict[tuple[str, int], Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        agreement = load_agreement(path)
        key = (agreement.id, agreement.version)
        if key in seen:
            raise AgreementError(f"{path}: {agreement.ref} is also defined in {seen[key]}")
        seen[key] = path
        out.append(agreement)
    return out
