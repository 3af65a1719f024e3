"""Issuing from a spreadsheet, beside issuing the same documents as JSON batches, at 10^3, 10^4 and 10^5 rows.

    make bench     # or, from the repository root: .venv/bin/python -m benchmarks.spreadsheet_issuance

Each run is a process of its own (so its peak memory is its own), with its own Anvil and SQLite, and the
service in process (the API app with its pipeline and job workers, called through Starlette's test
client: the routes, the multipart upload and the workers as they serve, without a network):
- spreadsheet: `POST /v1/issuance-jobs` with the CSV and its mapping, then `GET` the job until its
  last document is anchored;
- JSON: the same rows as documents, `POST /v1/documents/batch?wait=false` 1,000 at a time (the batch
  limit), then until the last is anchored.
Rows per second run from the first byte sent to the last anchor. The sheet is written before the clock
starts; so are the JSON bodies' fields, one batch at a time. Peak memory is the process's maximum
resident set (`getrusage`), the service and the client together.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.results import Results

SIZES = (1_000, 10_000, 100_000)
BATCH = 1000
MAP = (Path(__file__).resolve().parents[1] / "examples" / "graduates.map.yaml").read_text(encoding="utf-8")
HEADER = "Certificate number,Graduate (English),Graduate (Arabic),Student ID,Degree (English),Degree (Arabic),"
HEADER += "Major (English),Major (Arabic),Honours,GPA,Graduation date\n"


def sheet_row(n: int) -> str:
    return (
        f"QU-BSC-2026-{n:06d},Graduate {n},خريج {n},2019{n:06d},Bachelor of Science,بكالوريوس العلوم,"
        "Computer Engineering,هندسة الحاسوب,cum-laude,3.5,2026-06-15\n"
    )


def fields(n: int) -> dict[str, object]:
    """Row `n` as the JSON document's fields: what the mapping makes of the sheet's row."""
    return {
        "certificateNumber": f"QU-BSC-2026-{n:06d}",
        "graduate": {"name": {"en": f"Graduate {n}", "ar": f"خريج {n}"}, "studentId": f"2019{n:06d}"},
        "degree": {"en": "Bachelor of Science", "ar": "بكالوريوس العلوم"},
        "major": {"en": "Computer Engineering", "ar": "هندسة الحاسوب"},
        "honours": "cum-laude",
        "gpa": 3.5,
        "graduationDate": "2026-06-15",
    }


def child(mode: str, rows: int) -> dict[str, float]:
    """One run: a fresh chain and installation, `rows` issued by `mode`; its rate and peak memory."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ledger.chain.anvil import AnvilProcess, free_port
    from ledger.settings import Settings
    from ledger.usecases.agencies import add_issuer_key, register_agency
    from ledger.usecases.context import Ledger
    from ledger.usecases.setup import ensure_deployment

    with tempfile.TemporaryDirectory() as folder, AnvilProcess(port=free_port()) as node:
        settings = Settings(data_dir=Path(folder), rpc_url=node.url, seed_demo=False, api_key_requests_per_minute=0)
        ledger = Ledger(settings)
        ensure_deployment(ledger, redeploy_if_lost=False)
        token = register_agency(ledger, "qu", "Qatar University").token
        add_issuer_key(ledger, "qu")
        headers = {"Authorization": f"Bearer {token}"}
        sheet = Path(folder) / "graduates.csv"
        with sheet.open("w", encoding="utf-8") as out:
            out.write(HEADER)
            out.writelines(sheet_row(n) for n in range(rows))
        with TestClient(create_app(ledger=ledger)) as client:
            start = time.perf_counter()
            if mode == "sheet":
                with sheet.open("rb") as file:
                    answer = client.post(
                        "/v1/issuance-jobs", files={"file": ("graduates.csv", file)}, data={"map": MAP}, headers=headers
                    )
                assert answer.status_code == 202, answer.text
                job = answer.json()["id"]
                while (progress := client.get(f"/v1/issuance-jobs/{job}", headers=headers).json())["state"] not in (
                    "ANCHORED",
                    "FAILED",
                ):
                    time.sleep(0.05)
                assert progress["rows"]["anchored"] == rows, progress
            else:
                last = ""
                for first in range(0, rows, BATCH):
                    documents = [
                        {"document_type": "academic-certificate", "fields": fields(n)}
                        for n in range(first, min(rows, first + BATCH))
                    ]
                    answer = client.post(
                        "/v1/documents/batch?wait=false", json={"documents": documents}, headers=headers
                    )
                    while answer.status_code == 503:  # the queue is full: as a client would, wait and send again
                        time.sleep(0.05)
                        answer = client.post(
                            "/v1/documents/batch?wait=false", json={"documents": documents}, headers=headers
                        )
                    assert answer.status_code == 202, answer.text
                    last = answer.json()["documents"][-1]["target_hash"]
                while ledger.queue.depth("qu") or client.get(f"/v1/documents/{last}").json()["stage"] != "ANCHORED":
                    time.sleep(0.05)
                while ledger.outbox.unsettled_batches():
                    time.sleep(0.05)
            elapsed = time.perf_counter() - start
        ledger.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows_per_second": rows / elapsed, "seconds": elapsed, "peak_mb": peak_mb}


def runs(sizes: tuple[int, ...]) -> Iterator[tuple[int, dict[str, float], dict[str, float]]]:
    for rows in sizes:
        measured = []
        for mode in ("sheet", "json"):
            command = [sys.executable, "-m", "benchmarks.spreadsheet_issuance", "--child", mode, str(rows)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            measured.append(json.loads(done.stdout.strip().splitlines()[-1]))
        yield rows, measured[0], measured[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="rows per run")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    with Results("spreadsheet_issuance") as out:
        out.print("one process per run: the service in process (API app, pipeline and job workers), SQLite, Anvil")
        out.print("")
        out.print(
            "| rows | spreadsheet (CSV upload): rows/s | peak memory | JSON batches of 1,000: rows/s | peak memory |"
        )
        out.print("|---:|---:|---:|---:|---:|")
        for rows, sheet, batches in runs(tuple(args.sizes)):
            out.print(
                f"| {rows:,} | {sheet['rows_per_second']:,.0f} rows/s ({sheet['seconds']:.1f} s) | "
                f"{sheet['peak_mb']:,.0f} MB | {batches['rows_per_second']:,.0f} rows/s ({batches['seconds']:.1f} s) | "
                f"{batches['peak_mb']:,.0f} MB |"
            )


if __name__ == "__main__":
    main()
