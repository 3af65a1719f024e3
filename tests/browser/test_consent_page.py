"""The holder's consent page and the demo loan form, end to end in a real Chromium against a real service
and chain: a bank asks, the holder adds a licence PDF and a degree file, consents, and the bank's form fills
itself with the verified values. Every request the browser sends is recorded: the requested values leave
the device, no other value of the documents does."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, Playwright, Request, expect

from cli.demo import loan_form
from ledger.chain.deployment import DeploymentRecord
from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import obfuscate
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key
from ledger.usecases.setup import DEMO_FORM_PATH, seed_demo_relying_party
from tests.browser.conftest import CHROMIUM_FLAGS, ServerThread, Service, chromium_path, serve, y4m_video
from tests.integration.conftest import auth, example
from tests.nodes import ChainNode

# Values of the two documents the bank's query does not ask for: none may leave the browser. (The licence's
# expiry date is not among them: a document's validity is always shown, since its verdict rests on it.)
UNREQUESTED = (
    "28763400123",
    "limited-liability-company",
    "2026-11-23",
    "201904512",
    "2001-03-14",
    "magna-cum-laude",
    "QU-BSC-2026-0815",
    "2026-06-15",
)
REQUESTED = (
    "Pearl Coast Trading",
    "CL-2026-000123",
    "Mariam Al-Thani",
    "Building 12, Street 340, Doha",
    "4690",
    "Noora Al-Mannai",
    "Bachelor of Science",
    "Computer Engineering",
)


@pytest.fixture
def bank_service(tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord) -> Iterator[Service]:
    """The service with the demo bank registered and its loan form served at /demo/loan, as `sijill up` does."""
    settings, port = serve(tmp_path, chain_node.url, deployment)
    ledger = Ledger(settings)
    seed_demo_relying_party(ledger)
    with ServerThread(ledger, port, mounts={DEMO_FORM_PATH: loan_form(settings)}):
        yield Service(url=settings.public_base_url, ledger=ledger)
    ledger.close()


@pytest.fixture
def agencies(bank_service: Service) -> dict[str, RegisteredAgency]:
    registered = {}
    for agency, name, name_ar in (
        ("moci", "Ministry of Commerce and Industry", "وزارة التجارة والصناعة"),
        ("qu", "Qatar University", "جامعة قطر"),
    ):
        registered[agency] = register_agency(bank_service.ledger, agency, name, name_ar)
        add_issuer_key(bank_service.ledger, agency)
    return registered


def issue(service: Service, agency: RegisteredAgency, name: str) -> dict[str, Any]:
    response = httpx.post(f"{service.url}/v1/documents", json=example(name), headers=auth(agency.token), timeout=30)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


@pytest.fixture
def files(bank_service: Service, agencies: dict[str, RegisteredAgency], tmp_path: Path) -> dict[str, Path]:
    """The holder's files: the licence as its PDF, the degree as its JSON document."""
    licence = issue(bank_service, agencies["moci"], "commercial-licence")
    pdf = httpx.get(
        f"{bank_service.url}/v1/documents/{licence['target_hash']}.pdf",
        headers=auth(agencies["moci"].token),
        timeout=30,
    )
    (tmp_path / "licence.pdf").write_bytes(pdf.content)
    (tmp_path / "licence.json").write_text(json.dumps(licence["document"]), encoding="utf-8")
    degree = issue(bank_service, agencies["qu"], "academic-certificate")
    (tmp_path / "degree.json").write_text(json.dumps(degree["document"]), encoding="utf-8")
    (tmp_path / "licence-target").write_text(licence["target_hash"], encoding="utf-8")
    return {
        "licence": tmp_path / "licence.pdf",
        "licence_json": tmp_path / "licence.json",
        "degree": tmp_path / "degree.json",
        "licence_target": tmp_path / "licence-target",
    }


class Recorder:
    """Every request the browser sends: its URL and body, form fields decoded."""

    def __init__(self, page: Page) -> None:
        self.sent: list[tuple[str, str, str]] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        body = request.post_data or ""
        if "application/x-www-form-urlencoded" in (request.headers.get("content-type") or ""):
            body = json.dumps(parse_qs(body), ensure_ascii=False)
        self.sent.append((request.method, unquote(request.url), body))

    def leaked(self, values: tuple[str, ...]) -> list[str]:
        return [value for value in values for _, url, body in self.sent if value in url or value in body]

    def answers(self) -> list[dict[str, Any]]:
        """The vp_tokens the page posted."""
        return [
            json.loads(json.loads(body)["vp_token"][0])
            for method, url, body in self.sent
            if method == "POST" and url.endswith("/response")
        ]


def open_consent(page: Page, service: Service) -> None:
    """From the bank's form to Sijill's consent page, through the request's QR code and link."""
    page.goto(f"{service.url}{DEMO_FORM_PATH}/")
    page.click("#fill")
    png = page.locator("img").get_attribute("src") or ""
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(_data_uri(png))))
    link = page.locator("#consent-link").get_attribute("href")
    assert decoded.text == link
    page.click("#consent-link")
    expect(page.locator("#asks")).to_have_text("Pearl Bank (demo) asks for details of your documents")


def _data_uri(uri: str) -> bytes:
    return base64.b64decode(uri.split(",", 1)[1])


def test_consenting_fills_the_loan_form_with_verified_values_and_sends_nothing_else(
    page: Page, bank_service: Service, files: dict[str, Path]
) -> None:
    recorder = Recorder(page)
    open_consent(page, bank_service)
    expect(page.locator("#purpose")).to_contain_text("business loan application")
    expect(page.locator("#rules")).to_contain_text("at least 90 days")
    expect(page.locator("#consent")).to_be_disabled()
    page.set_input_files("#file", [str(files["licence"]), str(files["degree"])])
    expect(page.locator("#documents")).to_contain_text("Pearl Coast Trading")
    expect(page.locator("#documents")).to_contain_text("Issued by Ministry of Commerce and Industry", ignore_case=True)
    expect(page.locator("#documents")).not_to_contain_text("28763400123")  # an unrequested value is not even shown
    page.click("#consent")
    expect(page.locator("#outcome-text")).to_have_text("Pearl Bank (demo) received the verified details.")
    page.click("#back")

    expect(page.locator("#trade_name")).to_have_value("Pearl Coast Trading")
    expect(page.locator("#licence_number")).to_have_value("CL-2026-000123")
    expect(page.locator("#owner")).to_have_value("Mariam Al-Thani")
    expect(page.locator("#address")).to_have_value("Building 12, Street 340, Doha")
    expect(page.locator("#activity")).to_have_value("4690 Wholesale trade")
    expect(page.locator("#degree")).to_have_value("Bachelor of Science")
    expect(page.locator("#graduate")).to_have_value("Noora Al-Mannai")
    expect(page.locator("#trade_name-source")).to_contain_text("Ministry of Commerce and Industry · VALID")
    expect(page.locator("#degree-source")).to_contain_text("Qatar University · VALID")
    expect(page.locator("#decision")).to_have_text("Decision: approve")

    (answer,) = recorder.answers()
    shown = json.dumps([unsalt_data(doc["data"]) for docs in answer.values() for doc in docs], ensure_ascii=False)
    assert [value for value in REQUESTED if value not in shown] == []
    assert recorder.leaked(UNREQUESTED) == []


def test_refusing_sends_nothing_in_either_language(page: Page, bank_service: Service, files: dict[str, Path]) -> None:
    recorder = Recorder(page)
    open_consent(page, bank_service)
    page.set_input_files("#file", [str(files["licence_json"]), str(files["degree"])])
    expect(page.locator("#consent")).to_be_enabled()
    page.get_by_role("button", name="عرض الصفحة بالعربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#asks")).to_have_text("تطلب بنك اللؤلؤ (تجريبي) تفاصيل من وثائقك")
    expect(page.locator("#consent")).to_have_text("شارك هذه التفاصيل")
    page.click("#refuse")
    expect(page.locator("#outcome-text")).to_have_text("لم يُرسل شيء. يمكنك إغلاق هذه الصفحة.")
    assert recorder.answers() == []
    assert recorder.leaked(REQUESTED + UNREQUESTED) == []


def test_a_copy_hiding_a_required_claim_is_not_sent_and_the_page_says_what_is_missing(
    page: Page, bank_service: Service, files: dict[str, Path], tmp_path: Path
) -> None:
    licence = json.loads(files["licence_json"].read_text(encoding="utf-8"))
    (tmp_path / "hidden.json").write_text(json.dumps(obfuscate(licence, ["subject.tradeName"])), encoding="utf-8")
    recorder = Recorder(page)
    open_consent(page, bank_service)
    page.set_input_files("#file", [str(tmp_path / "hidden.json"), str(files["degree"])])
    expect(page.locator("#missing")).to_contain_text("Still needed: Commercial licence")
    expect(page.locator("#consent")).to_be_disabled()
    assert recorder.answers() == []


def test_a_revoked_licence_and_a_replayed_answer_end_in_refusals_the_bank_sees(
    page: Page, bank_service: Service, files: dict[str, Path], agencies: dict[str, RegisteredAgency]
) -> None:
    target = files["licence_target"].read_text(encoding="utf-8")
    revoked = httpx.post(
        f"{bank_service.url}/v1/documents/{target}/revoke",
        json={"reason": "fraud"},
        headers=auth(agencies["moci"].token),
        timeout=30,
    )
    assert revoked.status_code == 200
    recorder = Recorder(page)
    open_consent(page, bank_service)
    page.set_input_files("#file", [str(files["licence"]), str(files["degree"])])
    page.click("#consent")
    expect(page.locator("#outcome-text")).to_have_text("The service did not accept the details:")
    expect(page.locator("#outcome-reasons")).to_contain_text("is REVOKED")
    (_method, url, body) = next(item for item in recorder.sent if item[1].endswith("/response"))
    fields = {name: values[0] for name, values in json.loads(body).items()}
    replay = page.request.post(url, form=fields)
    assert replay.status == 409
    page.click("#back")
    expect(page.locator("#reasons")).to_contain_text("'licence' is REVOKED")
    expect(page.locator("#refusals")).to_contain_text("replayed: this request was answered already")


def test_an_expired_request_is_refused_on_the_page_and_shown_to_the_bank(
    page: Page, bank_service: Service, files: dict[str, Path]
) -> None:
    open_consent(page, bank_service)
    page.set_input_files("#file", [str(files["licence"]), str(files["degree"])])
    clock = bank_service.ledger.clock
    bank_service.ledger.clock = lambda: clock() + timedelta(minutes=11)  # type: ignore[method-assign]
    page.click("#consent")
    expect(page.locator("#outcome-reasons")).to_contain_text("this request expired at")
    page.goto(f"{bank_service.url}{DEMO_FORM_PATH}/return")
    expect(page.locator("#outcome")).to_have_text("The request is expired.")
    page.go_back()
    page.reload()
    expect(page.locator("#message")).to_contain_text("This request has ended")


def test_a_credential_answers_through_a_copy_derived_in_the_browser(
    page: Page, bank_service: Service, files: dict[str, Path], agencies: dict[str, RegisteredAgency], tmp_path: Path
) -> None:
    add_credential_key(bank_service.ledger, "moci")
    target = files["licence_target"].read_text(encoding="utf-8")
    credential = httpx.get(
        f"{bank_service.url}/v1/documents/{target}/credential", headers=auth(agencies["moci"].token), timeout=30
    )
    assert credential.status_code == 200, credential.text
    (tmp_path / "credential.json").write_text(credential.text, encoding="utf-8")
    recorder = Recorder(page)
    open_consent(page, bank_service)
    page.set_input_files("#file", [str(tmp_path / "credential.json"), str(files["degree"])])
    expect(page.locator("#documents")).to_contain_text("Issued by Ministry of Commerce and Industry", ignore_case=True)
    page.click("#consent")
    expect(page.locator("#outcome-text")).to_have_text("Pearl Bank (demo) received the verified details.")
    page.click("#back")
    expect(page.locator("#trade_name")).to_have_value("Pearl Coast Trading")
    expect(page.locator("#owner")).to_have_value("Mariam Al-Thani")
    expect(page.locator("#trade_name-source")).to_contain_text("Ministry of Commerce and Industry · VALID")
    (answer,) = recorder.answers()
    (derived,) = answer["licence"]
    assert derived["proof"]["proofValue"].startswith("u2V0B")  # a derived proof: the base one stayed here
    assert set(derived["credentialSubject"]) == {"tradeName", "licenceNumber", "owner", "address", "activities"}
    assert recorder.leaked(UNREQUESTED) == []


def test_a_document_is_added_by_scanning_its_qr_code(
    playwright: Playwright,
    bank_service: Service,
    files: dict[str, Path],
    agencies: dict[str, RegisteredAgency],
    tmp_path: Path,
) -> None:
    """Chromium's fake camera shows the licence's QR code: the consent page opens its share link itself."""
    target = files["licence_target"].read_text(encoding="utf-8")
    png = httpx.get(f"{bank_service.url}/v1/documents/{target}/qr.png", headers=auth(agencies["moci"].token))
    y4m_video(png.content, tmp_path / "qr.y4m")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={tmp_path / 'qr.y4m'}",
    ]
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    try:
        context = browser.new_context(viewport={"width": 412, "height": 915})
        context.grant_permissions(["camera"], origin=bank_service.url)
        page = context.new_page()
        open_consent(page, bank_service)
        page.get_by_role("button", name="Scan a document's QR code").click()
        expect(page.locator("#documents")).to_contain_text("Pearl Coast Trading", timeout=20_000)
        expect(page.locator("#camera")).to_be_hidden()
        page.set_input_files("#file", str(files["degree"]))
        expect(page.locator("#consent")).to_be_enabled()
    finally:
        browser.close()


def test_the_consent_page_is_keyboard_usable_and_self_contained(
    page: Page, bank_service: Service, files: dict[str, Path]
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_consent(page, bank_service)
    response = page.request.get(page.url)
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "language"
    expect(page.get_by_label("Drop a Sijill PDF, JSON document or credential here, or choose one")).to_be_attached()
    expect(page.get_by_label("Or paste the document's verification link")).to_be_attached()
    page.set_input_files("#file", [str(files["licence_json"]), str(files["degree"])])
    page.locator("#consent").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#outcome-text")).to_have_text("Pearl Bank (demo) received the verified details.")
    assert all(url.startswith(bank_service.url) for url in requests), requests
