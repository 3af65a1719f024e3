"""The README's figures are what the benchmarks printed in their latest saved run, made with the command it names.

Each benchmark saves its output in `benchmarks/results/<name>.json` (`benchmarks/results.py`).
The README quotes it between `<!-- results:<name> -->` and `<!-- results:end -->`: one line
names the command (`$ <command>` or `` `<command>` ``), and every other line there must be a
line of that run's output. Outside those blocks, the Gas and Speed sections may quote a measured
figure only as some saved run printed it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
RESULTS = ROOT / "benchmarks" / "results"
REGION = re.compile(r"<!-- results:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- results:end -->", re.DOTALL)
# A measured figure: a number with the unit of something measured (a rate, a time, memory, gas, a share).
FIGURE = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?\s?(?:req/s|documents/s|events/s|logs/s|ms|µs|MB|gas|%)(?!\w)")


def saved(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    assert path.exists(), f"the README quotes {name}, but {path.relative_to(ROOT)} holds no saved run"
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record


def regions() -> list[tuple[str, str]]:
    return [(match["name"], match["body"]) for match in REGION.finditer(README)]


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def benchmarks() -> set[str]:
    """The name every benchmark saves its results under (`Results("<name>")` in its source)."""
    sources = [*(ROOT / "benchmarks").glob("*.py"), *(ROOT / "scripts").glob("*.py")]
    return {name for path in sources for name in re.findall(r'Results\("([\w-]+)"', path.read_text(encoding="utf-8"))}


def test_the_readme_quotes_every_benchmark() -> None:
    quoted = {name for name, _ in regions()}
    assert quoted == benchmarks(), quoted
    assert {"gas", "pipeline", "verify_and_issue", "audit_replay", "security_costs", "ledger_reads"} <= quoted


@pytest.mark.parametrize(("name", "body"), regions(), ids=[name for name, _ in regions()])
def test_each_quoted_line_was_printed_by_the_latest_run_of_the_named_command(name: str, body: str) -> None:
    record = saved(name)
    printed = {line.rstrip() for line in record["output"]}
    lines = [line.rstrip() for line in body.splitlines() if line.strip() and not line.startswith("```")]
    naming = [line for line in lines if f"$ {record['command']}" in line or f"`{record['command']}`" in line]
    assert naming, f"the {name} block must name the command of its saved run: {record['command']}"
    missing = [line for line in lines if line not in naming and line not in printed]
    assert not missing, f"not printed by the latest `{record['command']}` ({record['finished']}): {missing}"


@pytest.mark.parametrize("title", ["Gas", "Speed"])
def test_a_figure_quoted_in_prose_is_one_a_saved_run_printed(title: str) -> None:
    prose = REGION.sub("", section(title))
    printed = "\n".join(line for path in sorted(RESULTS.glob("*.json")) for line in saved(path.stem)["output"])
    unknown = [figure for figure in FIGURE.findall(prose) if not _printed_whole(figure, printed)]
    assert not unknown, f"figures in the {title} section that no saved run printed: {unknown}"


def _printed_whole(figure: str, printed: str) -> bool:
    """Whether `figure` stands in `printed` as a whole figure ("9 ms" is not in "119.4 ms")."""
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?!\w)", printed) is not None


def test_a_figure_counts_only_where_it_was_printed_whole() -> None:
    assert _printed_whole("119.4 ms", "check: 119.4 ms")
    assert not _printed_whole("9.4 ms", "check: 119.4 ms")
    assert not _printed_whole("4 MB", "484 MB at the start")


def test_the_figure_pattern_finds_what_a_reader_would_call_a_figure() -> None:
    text = "about 1,089 req/s (p99 42.43ms), 2,764 documents/s, 608 MB, 669 gas a level, ±20 %, 10^5 documents"
    assert FIGURE.findall(text) == ["1,089 req/s", "42.43ms", "2,764 documents/s", "608 MB", "669 gas", "20 %"]
