"""Password guessing: failed sign-ins counted per account and per client address, in the
audit database, so every console process behind a load balancer shares the count.

A key (an account name, or a client address) with ``max`` failures within ``window`` is
locked until the oldest of those failures leaves the window. Attempts while locked are
refused without checking the password and are not counted, so a guesser cannot extend a
lock indefinitely, and the owner is told when to retry. A success clears the account's
count, not the address's (one good account must not reset a guesser's address). The
account count is kept by name whether the account exists or not: a lock reveals nothing
about which names exist.

IPv6 clients are counted per /64, the block one subscriber usually holds, so a guesser
cannot rotate addresses inside it. Behind a reverse proxy the client address is the one
uvicorn takes from ``X-Forwarded-For`` of a trusted proxy (``--forwarded-allow-ips``); see
docs/operators/console.md.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, delete, insert, select

from hub.audit.tables import console_login_failures


class LockoutSettings(BaseSettings):
    """Read when the console starts (``HUB_CONSOLE_LOCKOUT_*``), never at import."""

    model_config = SettingsConfigDict(env_prefix="HUB_CONSOLE_LOCKOUT_", extra="ignore")

    account_failures: int = Field(
        default=5, ge=1, description="failed sign-ins for one account name before it locks"
    )
    address_failures: int = Field(
        default=20, ge=1, description="failed sign-ins from one client address before it locks"
    )
    window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="how long a failure counts"
    )


@dataclass(frozen=True)
class LockoutPolicy:
    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, s: LockoutSettings | None = None) -> LockoutPolicy:
        s = s or LockoutSettings()
        return cls(s.account_failures, s.address_failures, timedelta(minutes=s.window_minutes))


class LockedOut(Exception):
    """Sign-in refused without checking the password: too many recent failures."""

    def __init__(self, what: str, retry_at: datetime) -> None:
        self.what = what  # "account" or "address"
        self.retry_at = retry_at
        super().__init__(f"too many failed sign-ins for this {what}; retry after {retry_at}")

    def seconds(self, now: datetime) -> int:
        return max(1, int((self.retry_at - now).total_seconds()) + 1)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Control characters replaced: PostgreSQL refuses NUL in text, and a key is no place
    for them (the HTTP layer refuses them before; this is for every other caller)."""
    return _CONTROL.sub("?", text)


def address_key(address: str | None) -> str:
    """The key a client address is counted under: IPv6 by /64, IPv4 as is."""
    if not address:
        return "address:unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{printable(address[:100])}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"address:{ip}"


def account_key(name: str) -> str:
    return f"account:{printable(name.casefold()[:150])}"


class Lockout:
    def __init__(self, engine: Engine, policy: LockoutPolicy | None = None) -> None:
        self._engine = engine
        self.policy = policy or LockoutPolicy()

    def _limits(self, name: str, address: str | None) -> list[tuple[str, str, int]]:
        return [
            ("account", account_key(name), self.policy.account_failures),
            ("address", address_key(address), self.policy.address_failures),
        ]

    def check(self, name: str, address: str | None, now: datetime | None = None) -> None:
        """Raise :class:`LockedOut` if either the account or the address is locked."""
        now = now or datetime.now(UTC)
        cutoff = (now - self.policy.window).isoformat()
        t = console_login_failures
        with self._engine.connect() as conn:
            for what, key, limit in self._limits(name, address):
                recent = list(
                    conn.execute(
                        select(t.c.at)
                        .where(t.c.key == key, t.c.at > cutoff)
                        .order_by(t.c.at.desc())
                        .limit(limit)
                    ).scalars()
                )
                if len(recent) >= limit:
                    oldest = datetime.fromisoformat(str(recent[-1]))
                    raise LockedOut(what, oldest + self.policy.window)

    def failed(self, name: str, address: str | None, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        t = console_login_failures
        with self._engine.begin() as conn:
            # Old failures are swept as new ones come, so the table stays small.
            conn.execute(delete(t).where(t.c.at <= (now - self.policy.window).isoformat()))
            conn.execute(
                insert(t),
                [
                    {"key": key, "at": now.isoformat(timespec="microseconds")}
                    for _, key, _ in self._limits(name, address)
                ],
            )

    def succeeded(self, name: str) -> None:
        t = console_login_failures
        with self._engine.begin() as conn:
            conn.execute(delete(t).where(t.c.key == account_key(name)))
