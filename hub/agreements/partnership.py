"""The partnership register: partners (who publish) and recipients (services that receive)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hub.errors import ConfigError


class PartnerKind(StrEnum):
    POLICE = "police"
    LOCAL_AUTHORITY = "local-authority"
    FIRE = "fire"
    PROBATION = "probation"
    HEALTH = "health"
    YOUTH_JUSTICE = "youth-justice"


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    kind: PartnerKind


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    kind: str
    operated_by: str


class Partnership(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    partners: tuple[Partner, ...]
    recipients: tuple[Recipient, ...]

    def partner(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def recipient(self, recipient_id: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == recipient_id), None)


def load_partnership(folder: Path) -> Partnership:
    path = folder / "partners.yaml"
    try:
        return Partnership.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: invalid partnership register: {exc}") from exc
