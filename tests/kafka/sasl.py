"""SASL settings as a deployment gives them, for tests: the password in a mounted file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from hub.config import KafkaSecurity


def scram_security(
    folder: Path,
    username: str,
    password: str,
    protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT",
    **more: Any,
) -> KafkaSecurity:
    """SCRAM-SHA-512 for ``username``, its password in a file under ``folder`` with the
    trailing newline a mounted secret has (which must not become part of the password)."""
    path = folder / f"{username}.password"
    path.write_text(password + "\n")
    return KafkaSecurity(
        security_protocol=protocol,
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=username,
        sasl_password_file=path,
        **more,
    )
