"""`hub agreements whatif` imports hub.console.whatif: that must not bring the web console
(FastAPI, the routes, the templates) with it, seconds of the command's start (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hub.console

ROOT = Path(__file__).resolve().parents[2]


def test_the_whatif_engine_loads_without_the_web_console() -> None:
    probe = (
        "import json, sys\n"
        "import hub.console.whatif, hub.console.whatif_sources, hub.console.whatif_jobs\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.splitlines()[-1])
    web = ("fastapi", "starlette", "uvicorn", "hub.console.app", "hub.console.web")
    assert [m for m in loaded if m in web or m.startswith(("fastapi.", "starlette."))] == []


def test_the_console_exports_are_still_there() -> None:
    for name in hub.console.__all__:
        assert callable(getattr(hub.console, name)), name
