"""Static consumer-group membership (KIP-345), switched on per deployment.

With ``HUB_GROUP_INSTANCE_ID`` set (e.g. from the pod name: ``hub-processor-0``), every
consumer group a service joins knows it by that id (``group.instance.id``). On Apache
Kafka a restarted instance then takes back its own partitions at once, with no rebalance,
as long as it returns within ``session.timeout.ms``; a SIGKILLed instance that does not
return holds its partitions until that timeout passes. So the session timeout becomes the
trade-off: long enough to cover a restart (45 s by default here, Kafka's own default;
``HUB_GROUP_SESSION_TIMEOUT_MS``), short enough that a permanently lost instance's
partitions move on in time. Each replica needs its own id: two live members with one id
fence each other.

Off by default, and not for the embedded broker: Tansu 0.6.0 accepts the id but pauses
every static JoinGroup and SyncGroup for a fixed 3 s (measured 6.0 s to the first record
after a restart, against 3.0 s for a dynamic member after a clean leave), and never expires
a static member whose heartbeats stop, so partitions of an instance that is scaled away
would stay assigned to it for good. See docs/operators/running.md, "Restarts".
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from hub.errors import ConfigError

INSTANCE_ENV = "HUB_GROUP_INSTANCE_ID"
SESSION_ENV = "HUB_GROUP_SESSION_TIMEOUT_MS"
DEFAULT_STATIC_SESSION_MS = 45_000
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def static_membership(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Consumer settings for static membership, or {} when it is not configured."""
    env = os.environ if environ is None else environ
    instance = env.get(INSTANCE_ENV, "").strip()
    if not instance:
        return {}
    if not _VALID.match(instance):
        raise ConfigError(
            f"{INSTANCE_ENV}={instance!r}: use letters, digits, '.', '_' or '-' "
            "(e.g. the pod name), one id per replica"
        )
    raw = env.get(SESSION_ENV, "").strip()
    try:
        session = int(raw) if raw else DEFAULT_STATIC_SESSION_MS
    except ValueError:
        session = -1
    if not 6_000 <= session <= 1_800_000:
        raise ConfigError(
            f"{SESSION_ENV}={raw!r}: a whole number of milliseconds from 6000 (Apache "
            "Kafka's group.min.session.timeout.ms) to 1800000"
        )
    return {"group.instance.id": instance, "session.timeout.ms": session}
