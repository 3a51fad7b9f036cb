"""``hub console user``: accounts from the command line, the password never an argument."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from hub.cli import console as console_cli
from hub.console.auth import LocalAuthenticator, Role
from tests.cli.command import run


def test_user_add_list_disable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv(console_cli.PASSWORD_ENV, "a long enough passphrase")
    assert run(["console", "user", "add", "pat", "--role", "partner-admin",
                "--partner", "liverpool-cc", "--audit-url", url]) == 0  # fmt: skip
    with pytest.raises(SystemExit):  # a password is not an option at all
        run(["console", "user", "add", "x", "--role", "auditor", "--password", "p"])
    engine = create_engine(url)
    who = LocalAuthenticator(engine).authenticate("pat", "a long enough passphrase")
    assert who is not None and who.role is Role.PARTNER_ADMIN and who.partner == "liverpool-cc"
    assert run(["console", "user", "list", "--audit-url", url]) == 0
    listed = capsys.readouterr().out
    assert "pat\tpartner-admin\tliverpool-cc\tactive" in listed
    assert "passphrase" not in listed
    assert run(["console", "user", "disable", "pat", "--audit-url", url]) == 0
    assert LocalAuthenticator(engine).authenticate("pat", "a long enough passphrase") is None
    from hub.errors import ConfigError

    with pytest.raises(ConfigError):  # an unknown organisation is refused
        run(["console", "user", "add", "q", "--role", "partner-admin", "--partner", "nobody",
             "--audit-url", url])  # fmt: skip
    engine.dispose()


def test_user_add_refuses_a_weak_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.console.passwords import WeakPassword

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    for weak in ("Password123!", "pat-the-admin-2026"):
        monkeypatch.setenv(console_cli.PASSWORD_ENV, weak)
        with pytest.raises(WeakPassword):
            run(["console", "user", "add", "pat", "--role", "auditor", "--audit-url", url])


def test_user_add_beside_a_demo_writes_to_the_demos_store_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.audit import AuditStore

    run_dir = tmp_path / "runs" / "20261205T100000Z"
    run_dir.mkdir(parents=True)
    AuditStore(f"sqlite:///{run_dir / 'audit.db'}").close()  # what `hub demo` leaves
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HUB_AUDIT_URL", raising=False)
    monkeypatch.setenv(console_cli.PASSWORD_ENV, "a long enough passphrase")
    assert run(["console", "user", "add", "sam", "--role", "auditor"]) == 0
    said = capsys.readouterr().err
    assert f"accounts store: sqlite:///{(run_dir / 'audit.db').resolve()}" in said
    assert not (tmp_path / "audit.db").exists()  # not a store the demo's console never reads
    engine = create_engine(f"sqlite:///{run_dir / 'audit.db'}")
    assert LocalAuthenticator(engine).authenticate("sam", "a long enough passphrase")
    engine.dispose()
