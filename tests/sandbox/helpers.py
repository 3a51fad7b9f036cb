"""What a newcomer looks at after publishing: a recipient's output, the IG console."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx


def output_has(output: Path, event_id: str) -> bool:
    """Whether a recipient's sink output (a SQLite database or an export folder) holds a
    disclosure of ``event_id``."""
    if output.suffix == ".db":
        if not output.exists():
            return False
        with sqlite3.connect(output) as db:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
            for table in tables:
                columns = [r[1] for r in db.execute(f"pragma table_info({table})")]
                if "event_id" in columns:
                    query = f"select 1 from {table} where event_id = ?"
                    if db.execute(query, (event_id,)).fetchone():
                        return True
        return False
    return output.is_dir() and any(
        event_id in p.read_text(errors="replace") for p in output.rglob("*") if p.is_file()
    )


def wait_delivered(outputs: dict[str, str], recipients: list[str], event_id: str) -> None:
    deadline = time.monotonic() + 60
    missing = list(recipients)
    while missing and time.monotonic() < deadline:
        missing = [r for r in missing if not output_has(Path(outputs[r]), event_id)]
        time.sleep(0.5)
    assert not missing, f"{event_id} did not reach {missing}"


def console_session(url: str, user: str, password: str) -> httpx.Client:
    """Logged in with the account the sandbox printed, as a person would in a browser."""
    client = httpx.Client(base_url=url, timeout=20)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    done = client.post(
        "/login", data={"username": user, "password": password, "csrf_token": token.group(1)}
    )
    assert done.status_code == 303 and "failed" not in done.headers["location"], done.text
    return client


def console_decisions(client: httpx.Client, event_id: str, want: int) -> list[dict[str, Any]]:
    """The decisions the console shows for ``event_id``, once at least ``want`` are there."""
    deadline = time.monotonic() + 60
    while True:
        page = client.get("/api/decisions", params={"event_id": event_id})
        assert page.status_code == 200, page.text
        decisions: list[dict[str, Any]] = page.json()["decisions"]
        if len(decisions) >= want or time.monotonic() > deadline:
            return decisions
        time.sleep(0.5)
