"""Graduates' sheets as registrars keep them, for the spreadsheet issuance tests: CSV, any length, streamed."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

HEADERS = ["Certificate number", "Graduate (English)", "Graduate (Arabic)", "Student ID", "Degree (English)",
           "Degree (Arabic)", "Major (English)", "Major (Arabic)", "Honours", "GPA", "Graduation date"]  # fmt: skip
MAP = (Path(__file__).resolve().parents[1] / "examples" / "graduates.map.yaml").read_text(encoding="utf-8")


def graduate(n: int, *, valid: bool = True) -> list[str]:
    """Graduate `n`'s row; an invalid one has a GPA that is no number."""
    return [f"QU-BSC-2026-{n:06d}", f"Graduate {n}", "خريج", f"2019{n:06d}", "Bachelor of Science",
            "بكالوريوس العلوم", "Computer Engineering", "هندسة الحاسوب", "cum-laude",
            "3.5" if valid else "four", "2026-06-15"]  # fmt: skip


def write_graduates(path: Path, rows: int, *, invalid: Iterable[int] = ()) -> set[int]:
    """A CSV of `rows` graduates (sheet rows 2 to rows + 1), those numbered in `invalid` invalid; returns the
    sheet row numbers of the valid ones."""
    bad = set(invalid)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        for n in range(rows):
            writer.writerow(graduate(n, valid=n not in bad))
    return {n + 2 for n in range(rows) if n not in bad}
