"""Which passwords a console account may have (NIST SP 800-63B 5.1.1.2, in spirit).

Refused, each with a reason that says what to do instead:
- shorter than ``MIN_PASSWORD`` characters, or longer than ``MAX_PASSWORD``;
- on the list of the 30,000 commonest passwords that the ``zxcvbn`` package ships (from
  leaked password sets), also once lower-cased, "de-leeted" (``p@55w0rd`` is
  ``password``), stripped of digits and symbols around it (``Password123!``) and
  un-repeated (``dragondragon``): a list entry dressed up is still the first thing tried;
- containing the account's name, or a part of it of 3 characters or more (``j.smith``:
  ``smith``), in any case and with the same de-leeting;
- guessable in under 10^10 guesses by zxcvbn's estimate (its score below 3): keyboard
  walks, dates, dictionary words with a digit, sequences.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from hub.errors import ConfigError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; the login form takes at most this
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable" (about 10^10 guesses) for a slow hash
_ZXCVBN_PREFIX = 100  # zxcvbn's cost grows with length; what matters is in the start
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "l", "!": "i", "0": "o",
                       "$": "s", "5": "s", "7": "t", "+": "t", "|": "l"})  # fmt: skip
_AROUND = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_NAME_PARTS = re.compile(r"[^a-z0-9]+")

_common: frozenset[str] | None = None


class WeakPassword(ConfigError):
    """A password the console refuses; the message says why and what to do."""


def common_passwords() -> frozenset[str]:
    """The list, loaded on first use (importing hub does nothing)."""
    global _common
    if _common is None:
        _common = frozenset(FREQUENCY_LISTS["passwords"])
    return _common


def _variants(password: str) -> set[str]:
    lowered = password.casefold()
    stripped = _AROUND.sub("", lowered)
    out = {lowered, stripped, lowered.translate(_LEET), stripped.translate(_LEET)}
    for v in list(out):
        stripped = _AROUND.sub("", v)
        out.add(stripped)
        for size in range(1, len(stripped) // 2 + 1):  # "dragondragon" -> "dragon"
            unit = stripped[:size]
            if len(stripped) % size == 0 and unit * (len(stripped) // size) == stripped:
                out.add(unit)
                break
    return {v for v in out if v}


def _name_parts(name: str) -> set[str]:
    lowered = name.casefold()
    parts = {p for p in _NAME_PARTS.split(lowered) if len(p) >= 3}
    return parts | ({lowered} if len(lowered) >= 3 else set())


def problem(password: str, user_name: str) -> str | None:
    """Why ``password`` is refused for ``user_name``, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return f"password must have at least {MIN_PASSWORD} characters (a passphrase is best)"
    if len(password) > MAX_PASSWORD:
        return f"password must have at most {MAX_PASSWORD} characters"
    variants = _variants(password)
    if variants & common_passwords():
        return "password is on a list of common passwords: choose another (a passphrase is best)"
    lowered = {password.casefold(), password.casefold().translate(_LEET)}
    for part in _name_parts(user_name):
        if any(part in v for v in lowered):
            return "password must not contain the account's name or a part of it"
    estimate = zxcvbn(password[:_ZXCVBN_PREFIX], user_inputs=sorted(_name_parts(user_name)))
    if int(estimate["score"]) < MIN_SCORE:
        hint = estimate.get("feedback", {}).get("warning") or "it follows a common pattern"
        return f"password is too easy to guess ({hint.rstrip('.').lower()}): choose another"
    return None


def check(password: str, user_name: str) -> None:
    """Raise :class:`WeakPassword` if ``password`` is refused for ``user_name``."""
    reason = problem(password, user_name)
    if reason is not None:
        raise WeakPassword(reason)
