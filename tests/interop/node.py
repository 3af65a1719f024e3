"""Running a Node script of the interop tests: its JSON answer, or a failure showing what it printed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_node(script: Path, *args: str, stdin: Any = None, timeout: float = 60) -> dict[str, Any]:
    """Run `node script args...` from the repository root, with `stdin` as JSON; its stdout parsed as JSON."""
    node = shutil.which("node")
    assert node, "Node.js is part of the toolchain (make setup)"
    completed = subprocess.run(
        [node, str(script), *args],
        input=None if stdin is None else json.dumps(stdin, ensure_ascii=False),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
