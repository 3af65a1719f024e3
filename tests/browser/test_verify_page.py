"""The verification page as people meet it, in a real Chromium against a real service and chain."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, Playwright, expect

from ledger.chain.anvil import free_port
from ledger.chain.deployment import DeploymentRecord
from ledger.settings import Settings
from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key
from tests.browser.conftest import CHROMIUM_FLAGS, ROOT, ServerThread, Service, chromium_path, serve, y4m_video
from tests.integration.conftest import auth, example
from tests.nodes import ChainNode
from tests.rpc_proxy import RpcProxy

VERDICT = "#verdict"


def issue(service: Service, token: str, name: str = "commercial-licence") -> dict[str, Any]:
    response = httpx.post(f"{service.url}/v1/documents", json=example(name), headers=auth(token), timeout=30)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def qr_link(service: Service, token: str, target: str) -> str:
    png = httpx.get(f"{service.url}/v1/documents/{target}/qr.png", headers=auth(token), timeout=30).content
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return str(decoded.text)


def test_qr_link_shows_valid_then_revoked(page: Page, service: Service, moci: RegisteredAgency) -> None:
    issued = issue(service, moci.token)
    link = qr_link(service, moci.token, issued["target_hash"])
    page.goto(link)
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    expect(page.locator(".status-label")).to_have_text("Valid")
    expect(page.locator("#issuer")).to_have_text("Ministry of Commerce and Industry")
    expect(page.locator("#fields")).to_contain_text("Pearl Coast Trading")
    expect(page.locator("#ev-tx")).to_have_text(issued["anchor"]["transaction"])

    revoked = httpx.post(
        f"{service.url}/v1/documents/{issued['target_hash']}/revoke",
        json={"reason": "fraud"},
        headers=auth(moci.token),
        timeout=30,
    )
    assert revoked.status_code == 200
    page.reload()
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "REVOKED")
    expect(page.locator(".status-summary")).to_contain_text("fraud")


def test_pdf_upload_is_valid_and_arabic_reads_right_to_left(
    page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path
) -> None:
    issued = issue(service, moci.token, "building-permit")
    pdf = httpx.get(f"{service.url}/v1/documents/{issued['target_hash']}.pdf", headers=auth(moci.token), timeout=30)
    (tmp_path / "permit.pdf").write_bytes(pdf.content)
    page.goto(f"{service.url}/verify")
    page.set_input_files("#file", str(tmp_path / "permit.pdf"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    expect(page.locator("#document-title")).to_have_text("Building permit")
    expect(page.locator("#fields")).to_contain_text("Khalid Al-Kuwari")

    page.get_by_role("button", name="عرض الصفحة بالعربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator(".status-label")).to_have_text("صالحة")
    expect(page.locator("#document-title")).to_have_text("رخصة بناء")
    expect(page.locator("#fields")).to_contain_text("خالد الكواري")
    expect(page.locator("#expires")).to_contain_text("٢٠٢٨")  # Arabic-Indic digits in an Arabic date
    page.screenshot(path=str(ROOT / "docs" / "verify-page-ar.png"), full_page=True)


def test_tampered_file_and_hidden_fields(page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path) -> None:
    issued = issue(service, moci.token)
    hidden = httpx.post(
        f"{service.url}/v1/obfuscate", json={"document": issued["document"], "fields": ["subject.owner"]}, timeout=30
    ).json()
    (tmp_path / "shared.json").write_text(json.dumps(hidden), encoding="utf-8")
    page.goto(f"{service.url}/verify")
    page.set_input_files("#file", str(tmp_path / "shared.json"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    expect(page.locator("#fields .hidden-field").first).to_have_text("Hidden by the holder")
    page.screenshot(path=str(ROOT / "docs" / "verify-page.png"), full_page=True)

    tampered = json.loads(json.dumps(issued["document"]))
    number = tampered["data"]["subject"]["licenceNumber"]
    tampered["data"]["subject"]["licenceNumber"] = number.replace("000123", "000124")
    (tmp_path / "tampered.json").write_text(json.dumps(tampered), encoding="utf-8")
    page.set_input_files("#file", str(tmp_path / "tampered.json"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "TAMPERED")
    expect(page.locator(".status-label")).to_have_text("Tampered")


def test_links_for_other_ledgers_or_damaged_are_refused(page: Page, service: Service, moci: RegisteredAgency) -> None:
    issued = issue(service, moci.token)
    link = qr_link(service, moci.token, issued["target_hash"])
    foreign = link.replace("&c=31337&", "&c=1&")
    page.goto(foreign)
    expect(page.locator("#message")).to_contain_text("belongs to another ledger")
    expect(page.locator(VERDICT)).to_be_hidden()
    page.goto(f"{service.url}/verify#v=1&c=31337&r=x&s=y&k=z&url=https://example.org")
    expect(page.locator("#message")).to_contain_text("damaged or incomplete")
    page.goto(link[: link.rindex("&k=")] + "&k=" + "A" * 43)
    expect(page.locator("#message")).to_contain_text("damaged or incomplete")


def test_a_chain_that_is_down_is_said_plainly(
    page: Page,
    tmp_path: Path,
    chain_node: ChainNode,
    deployment: DeploymentRecord,
    service: Service,
    moci: RegisteredAgency,
) -> None:
    document = issue(service, moci.token)["document"]
    (tmp_path / "licence.json").write_text(json.dumps(document), encoding="utf-8")
    settings, port = serve(tmp_path / "down", f"http://127.0.0.1:{free_port()}", deployment)
    settings = Settings(**{**settings.model_dump(), "database_url": service.ledger.settings.database})
    down = Ledger(settings)
    with ServerThread(down, port):
        page.goto(f"{settings.public_base_url}/verify")
        page.set_input_files("#file", str(tmp_path / "licence.json"))
        expect(page.locator("#message")).to_contain_text("cannot reach the ledger")
        expect(page.locator("#message")).to_contain_text("does not mean it is invalid")
        expect(page.locator(VERDICT)).to_be_hidden()
    down.close()


def test_nodes_that_disagree_are_said_plainly_and_never_as_invalid(
    page: Page, tmp_path: Path, chain_node: ChainNode, deployment: DeploymentRecord, service: Service,
    moci: RegisteredAgency,
) -> None:  # fmt: skip
    """Three endpoints, a quorum of three, and one that lies: the page says the nodes disagree, in
    both languages, and shows no verdict."""
    document = issue(service, moci.token)["document"]
    (tmp_path / "licence.json").write_text(json.dumps(document), encoding="utf-8")
    proxies = [RpcProxy(chain_node.url) for _ in range(3)]
    proxies[2].rewrite["eth_call"] = lambda _params, result: result[:-64] + "1".rjust(64, "0")  # "paused"
    settings, port = serve(tmp_path / "split", chain_node.url, deployment)
    settings = settings.model_copy(
        update={
            "database_url": service.ledger.settings.database,
            "rpc_urls": [p.url for p in proxies],
            "verify_quorum": 3,
        }
    )
    split = Ledger(settings)
    try:
        with ServerThread(split, port):
            page.goto(f"{settings.public_base_url}/verify")
            page.set_input_files("#file", str(tmp_path / "licence.json"))
            expect(page.locator("#message")).to_contain_text("nodes disagree")
            expect(page.locator("#message")).to_contain_text("not a verdict on the document")
            expect(page.locator("#message")).not_to_contain_text("cannot reach")
            expect(page.locator(VERDICT)).to_be_hidden()
            page.locator("#language").click()
            expect(page.locator("#message")).to_contain_text("غير متفقة")
    finally:
        split.close()
        for proxy in proxies:
            proxy.close()


def test_page_is_keyboard_usable_and_self_contained(page: Page, service: Service) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(f"{service.url}/verify")
    assert response is not None
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "language"
    expect(page.get_by_label("Drop a Sijill PDF, JSON document or credential here, or choose one")).to_be_attached()
    assert all(url.startswith(service.url) for url in requests), requests


def test_a_file_replaces_the_open_link_and_the_link_can_be_checked_again(
    page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path
) -> None:
    issued = issue(service, moci.token)
    link = qr_link(service, moci.token, issued["target_hash"])
    page.goto(link)
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    tampered = json.loads(json.dumps(issued["document"]))
    tampered["data"]["subject"]["legalForm"] = tampered["data"]["subject"]["legalForm"] + "x"
    (tmp_path / "tampered.json").write_text(json.dumps(tampered), encoding="utf-8")
    page.set_input_files("#file", str(tmp_path / "tampered.json"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "TAMPERED")
    assert page.evaluate("location.hash") == ""
    page.goto(link)
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")


def test_the_camera_reads_a_qr_code(
    playwright: Playwright, service: Service, moci: RegisteredAgency, tmp_path: Path
) -> None:
    """Chromium's fake camera shows the QR code; the page's bundled decoder reads it and verifies."""
    issued = issue(service, moci.token)
    png = httpx.get(f"{service.url}/v1/documents/{issued['target_hash']}/qr.png", headers=auth(moci.token)).content
    y4m_video(png, tmp_path / "qr.y4m")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={tmp_path / 'qr.y4m'}",
    ]
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    try:
        context = browser.new_context(viewport={"width": 412, "height": 915})
        context.grant_permissions(["camera"], origin=service.url)
        page = context.new_page()
        page.goto(f"{service.url}/verify")
        page.get_by_role("button", name="Scan a QR code with the camera").click()
        expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID", timeout=20_000)
        assert page.evaluate("location.hash").startswith("#v=1&c=")
        expect(page.locator("#camera")).to_be_hidden()
        (ROOT / "test-artifacts" / "browser").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ROOT / "test-artifacts" / "browser" / "camera.png"), full_page=True)
    finally:
        browser.close()


def test_a_rate_limit_is_said_plainly_not_as_a_bad_file(
    page: Page,
    tmp_path: Path,
    deployment: DeploymentRecord,
    chain_node: ChainNode,
    service: Service,
    moci: RegisteredAgency,
) -> None:
    document = issue(service, moci.token)["document"]
    for name in ("licence.json", "again.json"):
        (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")
    settings, port = serve(tmp_path / "busy", chain_node.url, deployment)
    update = {"database_url": service.ledger.settings.database, "public_requests_per_minute": 1}
    busy = Ledger(Settings(**{**settings.model_dump(), **update}))
    with ServerThread(busy, port):
        page.goto(f"{settings.public_base_url}/verify")
        page.set_input_files("#file", str(tmp_path / "licence.json"))
        expect(page.locator(VERDICT)).to_contain_text("Valid")
        page.set_input_files("#file", str(tmp_path / "again.json"))
        expect(page.locator("#message")).to_contain_text("Too many checks from this network")
        expect(page.locator("#message")).to_contain_text("says nothing about the document")
    busy.close()


def test_a_credential_verifies_and_its_holder_makes_a_copy_showing_only_what_they_choose(
    page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path
) -> None:
    add_credential_key(service.ledger, "moci")
    target = issue(service, moci.token)["target_hash"]
    credential = httpx.get(f"{service.url}/v1/documents/{target}/credential", headers=auth(moci.token), timeout=30)
    assert credential.status_code == 200, credential.text
    (tmp_path / "credential.json").write_text(credential.text, encoding="utf-8")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url} {request.post_data or ''}"))
    page.goto(f"{service.url}/verify")
    page.set_input_files("#file", str(tmp_path / "credential.json"))
    expect(page.locator(VERDICT)).not_to_have_attribute("data-status", "CHECKING")
    assert page.locator(VERDICT).get_attribute("data-status") == "VALID", page.locator("#checks").text_content()
    expect(page.locator("#issuer")).to_have_text("Ministry of Commerce and Industry")
    expect(page.locator("#fields")).to_contain_text("CL-2026-000123")
    expect(page.locator("#disclose")).to_be_visible()
    page.locator("#derive").click()
    expect(page.locator("#derive-message")).to_have_text("Choose at least one detail to show.")
    page.locator("#disclose-fields input[value='licenceNumber']").check()
    page.locator("#disclose-fields input[value='tradeName']").check()
    with page.expect_download() as download:
        page.locator("#derive").click()
        page.locator("#derived-download").click()
    copy = Path(download.value.path()).read_text(encoding="utf-8")
    assert "28763400123" not in copy  # the owner's national id is not in the copy at all
    (tmp_path / "shared.json").write_text(copy, encoding="utf-8")
    page.set_input_files("#file", str(tmp_path / "shared.json"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    expect(page.locator("#hidden-count")).to_have_text(
        "The holder chose not to show some details; what is shown is as issued."
    )
    expect(page.locator("#fields")).not_to_contain_text("Mariam")
    expect(page.locator("#disclose")).to_be_hidden()  # a copy is shared as it is
    # The proofs were checked and the copy derived in the browser: no claim left it.
    assert [line for line in sent if line.startswith("POST") and "/v1/verify/credential-anchor " not in line] == []
    assert [value for value in FIELD_VALUES for line in sent if value in line] == []


FIELD_VALUES = (
    "Pearl Coast Trading",
    "CL-2026-000123",
    "Mariam Al-Thani",
    "28763400123",
    "Building 12, Street 340",
    "limited-liability-company",
    "Wholesale trade",
    "4690",
)


def test_the_page_sends_no_field_value_of_a_document_it_verifies(
    page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path
) -> None:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url} {request.post_data or ''}"))
    issued = issue(service, moci.token)
    page.goto(qr_link(service, moci.token, issued["target_hash"]))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    expect(page.locator("#fields")).to_contain_text("Pearl Coast Trading")  # shown, from the browser's own copy
    pdf = httpx.get(f"{service.url}/v1/documents/{issued['target_hash']}.pdf", headers=auth(moci.token), timeout=30)
    (tmp_path / "licence.pdf").write_bytes(pdf.content)
    (tmp_path / "licence.json").write_text(json.dumps(issued["document"]), encoding="utf-8")
    for name in ("licence.pdf", "licence.json"):
        page.set_input_files("#file", str(tmp_path / name))
        expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
        expect(page.locator("#ev-tx")).to_have_text(issued["anchor"]["transaction"])
    posts = [line for line in sent if line.startswith("POST")]
    assert posts
    assert all(f"{service.url}/v1/verify/anchor " in line for line in posts), posts
    assert [value for value in FIELD_VALUES for line in sent if value in line] == []
