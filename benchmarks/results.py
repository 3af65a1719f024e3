"""What a benchmark printed in its latest run, kept beside it in `benchmarks/results/<name>.json`.

Every figure the README reports sits between `<!-- results:NAME -->` and `<!-- results:end -->`,
and `tests/unit/test_readme_figures.py` requires each line there to be a line that the named
benchmark printed in its latest saved run, made with the command the README names. A run that
fails saves nothing, so the last good run stays on record.

    with Results("pipeline") as out:       # run as: .venv/bin/python -m benchmarks.pipeline
        out.print("| 1,000 | 952 documents/s |")
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

FOLDER = Path(__file__).resolve().parent / "results"


def command_line() -> str:
    """How this run was started, as the README writes it: `.venv/bin/python -m benchmarks.x [args]`."""
    module = sys.modules["__main__"].__spec__
    program = f"-m {module.name}" if module is not None else sys.argv[0]
    return shlex.join([".venv/bin/python", *program.split(), *sys.argv[1:]])


class Results:
    """Prints a benchmark's lines as it goes and, when the run succeeds, saves them with its command."""

    def __init__(self, name: str, *, folder: Path = FOLDER) -> None:
        self.name = name
        self.path = folder / f"{name}.json"
        self.lines: list[str] = []
        self.started = datetime.now(UTC)

    def print(self, text: str = "") -> None:
        """Print `text` (one line or several) and keep it for the saved output."""
        print(text, flush=True)
        self.lines.extend(text.split("\n"))

    def __enter__(self) -> Results:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            return  # a failed run keeps the last good one on record
        record = {
            "command": command_line(),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "output": self.lines,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"(saved to {self.path.relative_to(self.path.parents[2])})", flush=True)
