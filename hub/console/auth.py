"""Console accounts, roles and sessions.

Authentication sits behind :class:`Authenticator` so an OIDC provider (the partnership's
identity service) can replace the local accounts without touching the pages: it only has
to turn a login into a :class:`Principal` (name, role, organisation). The local
implementation keeps accounts in the audit database with argon2id password hashes.

Sessions are server-side: the cookie holds 32 random bytes, the table only their SHA-256,
with the session's CSRF token and expiry. Logout deletes the row; so does expiry.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, insert, select, update

from hub.audit.queries import Scope
from hub.audit.tables import console_sessions, console_users
from hub.console import passwords
from hub.console.lockout import LockedOut, Lockout, LockoutPolicy, printable
from hub.errors import ConfigError

__all__ = ["LockedOut", "LockoutPolicy"]


class Role(StrEnum):
    IG_OFFICER = "ig-officer"  # everything, including approvals and subject reports
    PARTNER_ADMIN = "partner-admin"  # their organisation's flows only; signs off for it
    AUDITOR = "auditor"  # read-only; no subject reports, no actions


# What each role may do; pages check a permission, never a role name.
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.IG_OFFICER: frozenset(
        {"view", "subject-report", "what-if", "approve", "suspend", "consultations"}
    ),
    Role.AUDITOR: frozenset({"view", "what-if", "consultations"}),
    Role.PARTNER_ADMIN: frozenset({"view", "subject-report", "sign-off"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is signed in. ``partner`` is the organisation of a partner admin."""

    user_id: str
    name: str
    role: Role
    partner: str | None = None
    operated: frozenset[str] = frozenset()  # recipients the partner operates

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]

    def actor(self) -> dict[str, str | None]:
        """Who, as the access log and the agreement actions record them."""
        return {"user_name": self.name, "role": self.role.value, "partner": self.partner}

    @property
    def scope(self) -> Scope:
        if self.role is Role.PARTNER_ADMIN:
            # A partner admin without an organisation sees nothing rather than everything.
            return Scope.for_partner(self.partner or "\x00none", self.operated)
        return Scope.everything()


class Authenticator(Protocol):
    """Turns a login into a Principal. Local accounts now; OIDC later (an implementation that
    maps the ID token's claims to name, role and organisation)."""

    def authenticate(
        self, name: str, password: str, address: str | None = None
    ) -> Principal | None: ...

    def principal(self, user_id: str) -> Principal | None: ...


_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name costs the same time.
    Made on first use, not at import: an argon2 hash costs a second or two, and every
    ``hub`` command importing hub.console paid it."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def _now() -> datetime:
    return datetime.now(UTC)


class LocalAuthenticator:
    """Accounts in the ``console_users`` table. Failed sign-ins are counted per account and
    per client address in the database (``hub.console.lockout``), shared by every console
    process; a locked account or address raises :class:`LockedOut`."""

    def __init__(
        self,
        engine: Engine,
        operated: dict[str, frozenset[str]] | None = None,
        policy: LockoutPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._operated = operated or {}
        self.lockout = Lockout(engine, policy)

    def _principal(self, row: dict[str, object]) -> Principal:
        partner = row["partner"] if isinstance(row["partner"], str) else None
        return Principal(
            user_id=str(row["user_id"]),
            name=str(row["name"]),
            role=Role(str(row["role"])),
            partner=partner,
            operated=self._operated.get(partner or "", frozenset()),
        )

    def authenticate(
        self, name: str, password: str, address: str | None = None
    ) -> Principal | None:
        """The principal, or None for a wrong name or password. Raises :class:`LockedOut`
        (without checking the password) after too many recent failures."""
        self.lockout.check(name, address)
        row = None
        if printable(name) == name:  # no account has control characters in its name
            with self._engine.connect() as conn:
                query = select(console_users).where(console_users.c.name == name)
                row = conn.execute(query).first()
        stored = row._mapping["password_hash"] if row is not None else _dummy_hash()
        try:
            _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self.lockout.failed(name, address)
            return None
        if row is None or row._mapping["disabled"]:
            self.lockout.failed(name, address)
            return None
        self.lockout.succeeded(name)
        if _HASHER.check_needs_rehash(stored):
            with self._engine.begin() as conn:
                conn.execute(
                    update(console_users)
                    .where(console_users.c.user_id == row._mapping["user_id"])
                    .values(password_hash=_HASHER.hash(password))
                )
        return self._principal(dict(row._mapping))

    def principal(self, user_id: str) -> Principal | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(console_users).where(
                    console_users.c.user_id == user_id, console_users.c.disabled.is_(False)
                )
            ).first()
        return self._principal(dict(row._mapping)) if row is not None else None


def add_user(
    engine: Engine, name: str, role: Role, password: str, partner: str | None = None
) -> str:
    """Create an account (or replace its password and role); returns the user id."""
    if role is Role.PARTNER_ADMIN and not partner:
        raise ConfigError("a partner admin needs --partner (their organisation's id)")
    if role is not Role.PARTNER_ADMIN and partner:
        raise ConfigError("--partner applies to partner admins only")
    passwords.check(password, name)
    values = {
        "name": name,
        "role": role.value,
        "partner": partner,
        "password_hash": _HASHER.hash(password),
        "disabled": False,
    }
    with engine.begin() as conn:
        existing = conn.execute(
            select(console_users.c.user_id).where(console_users.c.name == name)
        ).scalar()
        if existing is not None:
            conn.execute(
                update(console_users).where(console_users.c.user_id == existing).values(**values)
            )
            # A changed role or password ends the account's open sessions.
            conn.execute(delete(console_sessions).where(console_sessions.c.user_id == existing))
            return str(existing)
        user_id = str(uuid.uuid4())
        conn.execute(
            insert(console_users).values(user_id=user_id, created_at=_now().isoformat(), **values)
        )
        return user_id


def disable_user(engine: Engine, name: str) -> bool:
    with engine.begin() as conn:
        user_id = conn.execute(
            select(console_users.c.user_id).where(console_users.c.name == name)
        ).scalar()
        if user_id is None:
            return False
        conn.execute(
            update(console_users).where(console_users.c.user_id == user_id).values(disabled=True)
        )
        conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
        return True


def list_users(engine: Engine) -> list[dict[str, object]]:
    cols = [c for c in console_users.c if c.name != "password_hash"]
    with engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(*cols).order_by(console_users.c.name))
        ]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user_id: str
    csrf_token: str


class SessionStore:
    def __init__(self, engine: Engine, lifetime: timedelta = timedelta(hours=8)) -> None:
        self._engine = engine
        self._lifetime = lifetime

    def create(self, user_id: str) -> tuple[str, Session]:
        """A new session; returns the cookie value (shown to nobody else) and the session."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        with self._engine.begin() as conn:
            # Expired sessions are swept on each login, so the table stays small.
            conn.execute(
                delete(console_sessions).where(console_sessions.c.expires_at < now.isoformat())
            )
            conn.execute(
                insert(console_sessions).values(
                    session_hash=_digest(session_id),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now.isoformat(),
                    expires_at=(now + self._lifetime).isoformat(),
                )
            )
        return session_id, Session(user_id, csrf)

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(
                select(console_sessions).where(
                    console_sessions.c.session_hash == _digest(session_id)
                )
            ).first()
        if row is None or row._mapping["expires_at"] < _now().isoformat():
            return None
        return Session(str(row._mapping["user_id"]), str(row._mapping["csrf_token"]))

    def delete(self, session_id: str | None) -> None:
        if session_id:
            with self._engine.begin() as conn:
                conn.execute(
                    delete(console_sessions).where(
                        console_sessions.c.session_hash == _digest(session_id)
                    )
                )


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of CSRF tokens; absent never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def random_password() -> str:
    """A password for a generated account (the demo's IG officer), shown once."""
    return secrets.token_urlsafe(18)
