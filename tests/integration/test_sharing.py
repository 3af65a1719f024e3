"""QR codes, verification links and PDF certificates, checked with independent decoders."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader, PdfWriter
from typer.testing import CliRunner

from cli.main import app as cli
from ledger.documents.share import parse_link, unseal
from ledger.render.pdf import ATTACHMENT
from ledger.settings import Settings
from ledger.usecases.agencies import RegisteredAgency, register_agency
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth, example


@pytest.fixture
def issued(client: TestClient, moci: RegisteredAgency) -> dict[str, Any]:
    response = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token))
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return str(results[0].text)


def test_qr_png_decodes_to_a_link_that_opens_the_document(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, issued: dict[str, Any]
) -> None:
    response = client.get(f"/v1/documents/{issued['target_hash']}/qr.png", headers=auth(moci.token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    text = decode_qr(response.content)
    assert text == client.get(f"/v1/documents/{issued['target_hash']}/link", headers=auth(moci.token)).json()["link"]

    # Nothing personal in the part of the link a browser sends: it all rides in the fragment.
    parts = urlsplit(text)
    assert (parts.path, parts.query) == ("/verify", "")
    assert set(dict(parse_qsl(parts.fragment))) == {"v", "c", "r", "s", "k"}
    link = parse_link(text)
    assert (link.chain_id, link.registry) == (ledger.network.chain_id, ledger.network.registry)

    shared = client.get(f"/v1/shares/{link.reference}")
    assert shared.status_code == 200
    blob = base64.b64decode(shared.json()["blob"])
    assert b"Mariam" not in blob
    assert b"Pearl Coast" not in blob
    document = unseal(blob, link.key)
    assert document == issued["document"]
    assert client.post("/v1/verify", json=document).json()["status"] == "VALID"


def test_qr_svg_and_access_rules(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, issued: dict[str, Any]
) -> None:
    target = issued["target_hash"]
    svg = client.get(f"/v1/documents/{target}/qr.svg", headers=auth(moci.token))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert b"<title>" in svg.content
    other = register_agency(ledger, "qu", "Qatar University")
    assert client.get(f"/v1/documents/{target}/qr.png", headers=auth(other.token)).status_code == 403
    assert client.get(f"/v1/documents/{target}/qr.png").status_code == 401
    assert client.get(f"/v1/documents/{target}/qr.gif", headers=auth(moci.token)).status_code == 404
    assert client.get(f"/v1/documents/{target}.pdf", headers=auth(other.token)).status_code == 403
    assert client.get("/v1/shares/unknownreference").status_code == 404


def test_pdf_carries_text_qr_and_the_document(
    client: TestClient, moci: RegisteredAgency, issued: dict[str, Any], tmp_path: Path
) -> None:
    response = client.get(f"/v1/documents/{issued['target_hash']}.pdf", headers=auth(moci.token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = reader.pages[0].extract_text()
    for expected in (
        "Ministry of Commerce and Industry",
        "Commercial licence",
        "CL-2026-000123",
        "Pearl Coast Trading",
    ):
        assert expected in text
    fonts = {str(font) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts  # embedded fonts
    assert json.loads(reader.attachments[ATTACHMENT][0]) == issued["document"]
    images = reader.pages[0].images
    assert len(images) == 1
    qr_text = decode_qr(images[0].data)
    assert urlsplit(qr_text).path == "/verify"

    verified = client.post("/v1/verify/file", content=response.content, headers={"Content-Type": "application/pdf"})
    assert verified.status_code == 200
    assert verified.json()["result"]["status"] == "VALID"
    assert verified.json()["document"] == issued["document"]

    tampered = tamper_pdf(response.content)
    result = client.post("/v1/verify/file", content=tampered, headers={"Content-Type": "application/pdf"}).json()
    assert result["result"]["status"] == "TAMPERED"


def tamper_pdf(pdf: bytes) -> bytes:
    """The same PDF with one field of its embedded document changed."""
    reader = PdfReader(io.BytesIO(pdf))
    document = json.loads(reader.attachments[ATTACHMENT][0])
    subject = document["data"]["subject"]
    subject["licenceNumber"] = subject["licenceNumber"].replace("000123", "000999")
    writer = PdfWriter()
    writer.append(reader)
    writer._root_object.pop("/Names", None)  # drop the original attachment
    writer.add_attachment(ATTACHMENT, json.dumps(document).encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_cli_verifies_pdfs_and_draws_qr_codes(
    client: TestClient,
    settings: Settings,
    moci: RegisteredAgency,
    issued: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "SIJILL_DATA_DIR": str(settings.data_dir),
        "SIJILL_RPC_URL": settings.rpc_url,
        "SIJILL_DATABASE_URL": settings.database,
        "SIJILL_SEED_DEMO": "false",
    }.items():
        monkeypatch.setenv(name, value)
    pdf = client.get(f"/v1/documents/{issued['target_hash']}.pdf", headers=auth(moci.token)).content
    (tmp_path / "licence.pdf").write_bytes(pdf)
    (tmp_path / "tampered.pdf").write_bytes(tamper_pdf(pdf))
    runner = CliRunner()
    assert runner.invoke(cli, ["verify", str(tmp_path / "licence.pdf")]).exit_code == 0
    result = runner.invoke(cli, ["verify", str(tmp_path / "tampered.pdf")])
    assert result.exit_code == 1
    assert "TAMPERED" in result.output
    result = runner.invoke(cli, ["qr", issued["target_hash"], "--agency", "moci", "--out", str(tmp_path / "qr.png")])
    assert result.exit_code == 0, result.output
    assert urlsplit(decode_qr((tmp_path / "qr.png").read_bytes())).path == "/verify"


def test_uploads_that_are_not_documents(client: TestClient) -> None:
    for content, kind, status in (
        (b"%PDF-1.4 broken", "application/pdf", 422),
        (b"not json", "application/json", 400),  # refused by the JSON guard, as any malformed JSON body
        (b"[1]", "application/json", 422),
    ):
        response = client.post("/v1/verify/file", content=content, headers={"Content-Type": kind})
        assert response.status_code == status, response.text
    huge = client.post("/v1/verify/file", content=b"x" * (5 * 1024 * 1024 + 1))
    assert huge.status_code == 413


def pdf_with_attachment(content: bytes | None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if content is not None:
        writer.add_attachment(ATTACHMENT, content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "carries no sijill-document.json"),
        (b"not json", "is not valid JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "nests deeper"),
        (b"[1, 2]", "not a wrapped document"),
    ],
)
def test_pdfs_that_carry_no_document_are_422(client: TestClient, content: bytes | None, message: str) -> None:
    response = client.post(
        "/v1/verify/file", content=pdf_with_attachment(content), headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]
