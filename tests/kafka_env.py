"""Kafka client security set the way a deployment sets it: HUB_KAFKA__* variables, the
password in a file (a mounted secret), never in the environment itself."""

from __future__ import annotations

from pathlib import Path

import pytest


def scram_env(monkeypatch: pytest.MonkeyPatch, folder: Path, username: str, password: str) -> None:
    """SASL_SSL with SCRAM-SHA-512 as ``username``; ``password`` written to a file in ``folder``."""
    secret = folder / f"{username}.password"
    secret.write_text(password + "\n")
    monkeypatch.setenv("HUB_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("HUB_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("HUB_KAFKA__SASL_USERNAME", username)
    monkeypatch.setenv("HUB_KAFKA__SASL_PASSWORD_FILE", str(secret))
