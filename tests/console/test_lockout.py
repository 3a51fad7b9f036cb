"""Issue 15 item 7: passwords and password guessing. Weak passwords are refused when an
account is created; failed sign-ins lock the account and the client address, in the
database, so every console process sees the same count; a locked-out user is told so and
when to retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from hub.audit.tables import console_login_failures
from hub.console.app import create_app
from hub.console.auth import LocalAuthenticator, LockedOut, Role, add_user
from hub.console.lockout import Lockout, LockoutPolicy, address_key
from hub.console.passwords import WeakPassword, common_passwords, problem
from hub.console.state import ConsoleState
from tests.console.conftest import PASSWORD, Console, login, sign_in


@pytest.mark.parametrize(
    "password",
    ["password1234", "Password123!", "p@55w0rd2024!!", "dragondragon", "qwertyuiopasdf",
     "123qweasdzxc", "iloveyou12345", "short"],
)  # fmt: skip
def test_common_and_guessable_passwords_are_refused(console: Console, password: str) -> None:
    with pytest.raises(WeakPassword):
        add_user(console.app_state.store.engine, "new-officer", Role.IG_OFFICER, password)


@pytest.mark.parametrize(
    ("name", "password"),
    [("j.smith", "SmithFamily-Garden-77"), ("liverpool", "Liverpool-admin-2026"),
     ("hopewell", "h0pewell is my secret")],
)  # fmt: skip
def test_passwords_containing_the_name_are_refused(name: str, password: str) -> None:
    assert problem(password, name) == "password must not contain the account's name or a part of it"


def test_the_common_list_is_a_real_list_and_good_passphrases_pass() -> None:
    assert len(common_passwords()) >= 30_000 - 100 and "letmein" in common_passwords()
    assert problem(PASSWORD, "officer") is None
    assert problem("tangerine kettle orbit 42 sparrow", "j.smith") is None


def _failing_login(client: TestClient, name: str) -> Response:
    return sign_in(client, name, "wrong wrong wrong")


def test_account_lockout_is_told_with_the_time_to_retry(console: Console) -> None:
    client = console.client()
    policy = console.app_state.auth.lockout.policy
    for _ in range(policy.account_failures - 1):
        assert _failing_login(client, "officer").headers["location"] == "/login?failed=1"
    locked = _failing_login(client, "officer")  # the failure that locks says so at once
    assert locked.status_code == 429 and 'id="locked"' in locked.text
    assert "for this account" in locked.text and "Try again after" in locked.text
    assert 0 < int(locked.headers["retry-after"]) <= policy.window.total_seconds() + 1
    assert locked.headers["x-frame-options"] == "DENY"
    # The right password is refused too while locked, without being checked ...
    right = sign_in(client, "officer", PASSWORD)
    assert right.status_code == 429 and "hub_session" not in right.cookies
    # ... and a name that does not exist locks the same way (nothing to learn about names).
    for _ in range(policy.account_failures):
        last = _failing_login(console.client(), "no-such-user")
    assert last.status_code == 429
    login(console.client(), "auditor")  # other accounts are not affected


def test_address_lockout_covers_every_account_from_that_address(console: Console) -> None:
    auth = console.app_state.auth
    auth.lockout.policy = LockoutPolicy(account_failures=100, address_failures=4)
    for i in range(4):
        assert auth.authenticate(f"guess-{i}", "wrong wrong wrong", "203.0.113.9") is None
    with pytest.raises(LockedOut) as locked:
        auth.authenticate("officer", PASSWORD, "203.0.113.9")
    assert locked.value.what == "address"
    assert auth.authenticate("officer", PASSWORD, "198.51.100.7") is not None
    # IPv6 is counted per /64: another address in the same block is the same guesser.
    for i in range(4):
        auth.authenticate(f"v6-{i}", "wrong wrong wrong", f"2001:db8:1:2::{i + 1}")
    with pytest.raises(LockedOut):
        auth.authenticate("officer", PASSWORD, "2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:abcd::1")
    assert address_key("::ffff:203.0.113.9") == address_key("203.0.113.9")


def test_lockout_is_shared_by_console_processes(console: Console) -> None:
    """Two console states over one database (two processes behind a load balancer): the
    failures made against one lock the account on the other."""
    other = ConsoleState.open(console.app_state.config)
    try:
        first, second = console.app_state.auth, other.auth
        assert isinstance(second, LocalAuthenticator) and first is not second
        for _ in range(first.lockout.policy.account_failures):
            first.authenticate("officer", "wrong wrong wrong", "192.0.2.1")
        with pytest.raises(LockedOut):
            second.authenticate("officer", PASSWORD, "192.0.2.50")
        with other.store.engine.connect() as conn:
            stored = conn.execute(
                select(func.count()).select_from(console_login_failures)
            ).scalar_one()
        assert stored == 2 * first.lockout.policy.account_failures  # account + address rows
        app = create_app(other.config, other)
        assert TestClient(app).get("/login").status_code == 200
    finally:
        other.close()


def test_a_lock_expires_and_success_clears_the_account_count(console: Console) -> None:
    engine = console.app_state.store.engine
    lockout = Lockout(engine, LockoutPolicy(account_failures=2, window=timedelta(minutes=10)))
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    lockout.failed("officer", "192.0.2.1", start)
    lockout.failed("officer", "192.0.2.1", start + timedelta(minutes=1))
    with pytest.raises(LockedOut) as locked:
        lockout.check("officer", "192.0.2.1", start + timedelta(minutes=2))
    assert locked.value.retry_at == start + timedelta(minutes=10)
    lockout.check("officer", "192.0.2.1", start + timedelta(minutes=10, seconds=1))  # free
    lockout.succeeded("officer")
    lockout.failed("officer", "192.0.2.1", start + timedelta(minutes=3))
    lockout.check("officer", "192.0.2.1", start + timedelta(minutes=4))  # one failure only


def test_lockout_on_postgres_is_shared_by_two_console_processes(postgres_db: str) -> None:
    """The same promise on PostgreSQL, the production store: two engines (two processes)."""
    from sqlalchemy import create_engine

    from hub.audit.migrate import upgrade

    first_engine, second_engine = create_engine(postgres_db), create_engine(postgres_db)
    try:
        upgrade(first_engine)
        add_user(first_engine, "officer", Role.IG_OFFICER, PASSWORD)
        first = LocalAuthenticator(first_engine)
        second = LocalAuthenticator(second_engine)
        for _ in range(first.lockout.policy.account_failures):
            assert first.authenticate("officer", "wrong wrong wrong", "192.0.2.1") is None
        with pytest.raises(LockedOut) as locked:
            second.authenticate("officer", PASSWORD, "2001:db8::1")
        assert locked.value.what == "account"
        # Whatever a caller passes (a proxy's garbage address, a NUL in a name), no 500.
        assert second.authenticate("nobody\x00", "wrong wrong wrong", "\x00") is None
    finally:
        first_engine.dispose()
        second_engine.dispose()
