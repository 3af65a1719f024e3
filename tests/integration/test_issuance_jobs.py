"""Issuing from a spreadsheet on a real chain: the upload, the job's progress, the results file and the
certificates; bad files refused with a clear 4xx; a job killed mid-way resumed with every row issued once."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.settings import Settings
from ledger.store.models import DocumentRow, IssuanceJobEntryRow, QueuedDocumentRow
from ledger.usecases.agencies import RegisteredAgency, register_agency
from ledger.usecases.context import Ledger
from tests.graduates import MAP, write_graduates
from tests.integration.conftest import auth

ROOT = Path(__file__).resolve().parents[2]


def upload(client: TestClient, token: str, path: Path, **fields: str) -> Any:
    with path.open("rb") as file:
        return client.post(
            "/v1/issuance-jobs", files={"file": (path.name, file, "text/csv")}, data=fields, headers=auth(token)
        )


def wait_anchored(client: TestClient, token: str, job_id: str, *, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress: dict[str, Any] = client.get(f"/v1/issuance-jobs/{job_id}", headers=auth(token)).json()
        if progress["state"] in ("ANCHORED", "FAILED"):
            return progress
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {progress}")


def test_a_sheet_uploaded_is_issued_row_by_row_with_results_and_certificates(
    client: TestClient, moci: RegisteredAgency, tmp_path: Path
) -> None:
    sheet = tmp_path / "graduates.csv"
    valid = write_graduates(sheet, 12, invalid={3, 7})
    created = upload(client, moci.token, sheet, map=MAP)
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["state"] in ("READING", "ACCEPTED", "ANCHORED")
    assert job["status_url"].endswith(f"/v1/issuance-jobs/{job['id']}")

    done = wait_anchored(client, moci.token, job["id"])
    assert done["state"] == "ANCHORED"
    assert done["rows"] == {"read": 12, "invalid": 2, "queued": 10, "anchored": 10}
    assert done["finished"] is True

    results = client.get(f"/v1/issuance-jobs/{job['id']}/results.csv", headers=auth(moci.token))
    assert results.status_code == 200
    rows = list(csv.DictReader(io.StringIO(results.text)))
    assert [int(row["row"]) for row in rows] == list(range(2, 14))
    assert {int(row["row"]) for row in rows if row["status"] == "anchored"} == valid
    invalid = [row for row in rows if row["status"] == "invalid"]
    assert [int(row["row"]) for row in invalid] == [5, 9]
    assert all("GPA" in row["problems"] for row in invalid)
    for row in rows:
        if row["status"] == "anchored":
            assert "/verify#" in row["verification_link"]
            record = client.get(f"/v1/documents/{row['target_hash']}").json()
            assert record["stage"] == "ANCHORED"

    certificates = client.get(f"/v1/issuance-jobs/{job['id']}/certificates.zip", headers=auth(moci.token))
    assert certificates.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(certificates.content)).namelist()
    assert len(names) == 10
    assert all(name.startswith("row-") and name.endswith(".pdf") for name in names)

    again = upload(client, moci.token, sheet, map=MAP)  # the same file and mapping: a new job, the old one done
    assert again.status_code == 202
    assert again.json()["id"] != job["id"]


def test_a_dry_run_reports_every_problem_and_issues_nothing(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, tmp_path: Path
) -> None:
    sheet = tmp_path / "graduates.csv"
    write_graduates(sheet, 20, invalid={0, 9})
    report = upload(client, moci.token, sheet, type="academic-certificate", dry_run="true")
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["ready"]) == (20, 18)
    assert [(p["row"], p["column"], p["field"]) for p in body["problems"]] == [
        ("2", "GPA", "gpa"),
        ("11", "GPA", "gpa"),
    ]
    assert ledger.queue.depth("moci") == 0


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("graduates.csv", "Certificate number,GPA\n".encode("utf-16"), 422, "UTF-16"),
        ("graduates.txt", b"a,b\n1,2\n", 422, "not a .csv or .xlsx"),
        ("graduates.xlsx", b"PK\x03\x04 not really a workbook", 422, "not an XLSX workbook"),
        ("graduates.csv", b"", 422, "empty"),
        ("graduates.csv", b"Name,Town\nA,B\n", 422, "names none of the sheet's columns"),
    ],
)
def test_bad_files_get_a_clear_4xx_and_leave_nothing(
    client: TestClient,
    ledger: Ledger,
    moci: RegisteredAgency,
    tmp_path: Path,
    name: str,
    content: bytes,
    status: int,
    words: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    response = upload(client, moci.token, path, map=MAP)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    assert ledger.queue.depth("moci") == 0
    assert not list((ledger.settings.data_dir / "jobs" / "incoming").glob("*"))


def test_an_upload_past_the_limit_is_413_and_no_file_no_form_are_422(
    client: TestClient, moci: RegisteredAgency
) -> None:
    def chunks() -> Iterator[bytes]:  # a 100 MB upload, sent without a length: counted as it streams
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for _ in range(100):
            yield b"a" * (1 << 20)

    headers = {**auth(moci.token), "Content-Type": "multipart/form-data; boundary=x"}
    response = client.post("/v1/issuance-jobs", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert "larger than 64 MB" in response.json()["error"]["message"]
    declared = client.post(
        "/v1/issuance-jobs", content=b"", headers={**headers, "Content-Length": str(100 * (1 << 20))}
    )
    assert declared.status_code == 413
    no_file = client.post("/v1/issuance-jobs", data={"map": MAP}, files={"x": ("", b"")}, headers=auth(moci.token))
    assert no_file.status_code == 422
    json_body = client.post("/v1/issuance-jobs", json={"map": MAP}, headers=auth(moci.token))
    assert json_body.status_code == 422
    assert "multipart/form-data" in json_body.json()["error"]["message"]


def test_another_agency_never_sees_a_job(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, tmp_path: Path
) -> None:
    sheet = tmp_path / "graduates.csv"
    write_graduates(sheet, 3)
    job = upload(client, moci.token, sheet, map=MAP).json()
    other = register_agency(ledger, "qu", "Qatar University")
    for path in ("", "/results.csv", "/certificates.zip"):
        assert client.get(f"/v1/issuance-jobs/{job['id']}{path}", headers=auth(other.token)).status_code == 404
    assert client.get(f"/v1/issuance-jobs/{job['id']}").status_code == 401


def test_a_job_killed_mid_way_resumes_and_issues_every_valid_row_exactly_once(
    env: Settings, ledger: Ledger, moci: RegisteredAgency, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL while the command reads the sheet, then the same command again: it resumes the job after its
    last recorded chunk, and each valid row becomes exactly one anchored document."""
    sheet, mapping = tmp_path / "graduates.csv", tmp_path / "map.yaml"
    monkeypatch.setenv("SIJILL_LEASE_SECONDS", "2")  # the killed command's lease on the job runs out soon
    valid = write_graduates(sheet, 3000, invalid=range(0, 3000, 97))
    mapping.write_text(MAP, encoding="utf-8")
    command = [sys.executable, "-m", "cli", "issue", "--from", str(sheet), "--agency", "moci", "--map", str(mapping)]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            recorded = _count(ledger, IssuanceJobEntryRow)
            if 0 < recorded < 2000:
                break
            time.sleep(0.01)
        assert first.poll() is None, "the command ended before it could be stopped"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    stopped_at = _count(ledger, IssuanceJobEntryRow)
    assert 0 < stopped_at < 3000, stopped_at

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr
    assert "resumed after row" in second.stderr
    assert _count(ledger, IssuanceJobEntryRow) == 3000
    assert _count(ledger, QueuedDocumentRow) == 0
    assert _count(ledger, DocumentRow) == len(valid)  # nothing issued twice, nothing lost
    with ledger.store.session() as session:
        entries = session.execute(select(IssuanceJobEntryRow.row_number, IssuanceJobEntryRow.target_hash)).all()
    issued = {row for row, target in entries if target is not None}
    assert issued == valid
    assert len({target for _, target in entries if target is not None}) == len(valid)
    results = list(csv.DictReader((tmp_path / "graduates.results.csv").open(encoding="utf-8")))
    assert len(results) == 3000
    assert {int(row["row"]) for row in results if row["status"] == "anchored"} == valid


def _count(ledger: Ledger, table: Any) -> int:
    with ledger.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)
