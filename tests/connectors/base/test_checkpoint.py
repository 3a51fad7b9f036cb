"""Checkpoints survive a restart (a new process opening the same file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from connectors.base.checkpoint import Checkpoints


def test_values_and_file_progress_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "checkpoint.db"
    cp = Checkpoints(path)
    assert cp.get("watermark") is None and cp.file_state("abc") is None
    cp.set("watermark", {"value": 41})
    cp.set("watermark", {"value": 42})
    cp.file_progress("abc", "a.csv", "in-progress", 500)
    cp.close()
    again = Checkpoints(path)
    assert again.get("watermark") == {"value": 42}
    assert again.file_state("abc") == ("in-progress", 500)
    again.close()


def test_a_killed_writer_leaves_its_last_checkpoint(tmp_path: Path) -> None:
    """The process is killed right after set(): synchronous=FULL made it durable."""
    path = tmp_path / "checkpoint.db"
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from connectors.base.checkpoint import Checkpoints\n"
        "cp = Checkpoints(Path(sys.argv[1]))\n"
        "for i in range(1, 51): cp.set('n', i)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], check=False)
    assert result.returncode == -9
    assert Checkpoints(path).get("n") == 50
