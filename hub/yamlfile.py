"""Typed configuration files: YAML read into a pydantic model, with every problem named by
file and field (agreements, alert rules...)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from hub.errors import HubError

M = TypeVar("M", bound=BaseModel)


def load_model(path: Path, model: type[M], what: str, error: type[HubError]) -> M:
    """``model`` from the YAML file at ``path``; ``error`` names the file and each invalid
    field (``what`` says what the file should hold, e.g. "agreement")."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read {what}: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise error(f"{path}: invalid {what}: {problems}") from exc
