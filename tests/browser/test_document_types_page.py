"""The year-two document types on the verification page, in Chromium: registered as data, shown in both
languages with no code of their own; a copy hiding what its type says no holder may hide is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from ledger.documents.digest import field_hash
from ledger.usecases.agencies import RegisteredAgency
from tests.browser.conftest import Service
from tests.integration.conftest import auth, example, example_type

VERDICT = "#verdict"
TYPES = ("visitor-entry-permit", "company-registration", "food-health-certificate")


def register_and_issue(service: Service, token: str, name: str) -> dict[str, Any]:
    registered = httpx.post(
        f"{service.url}/v1/document-types", json=example_type(name), headers=auth(token), timeout=60
    )
    assert registered.status_code == 201, registered.text
    issued = httpx.post(f"{service.url}/v1/documents", json=example(name), headers=auth(token), timeout=30)
    assert issued.status_code == 201, issued.text
    body: dict[str, Any] = issued.json()
    return body


@pytest.mark.parametrize("name", TYPES)
def test_a_year_two_document_reads_in_english_and_arabic_from_its_pdf(
    page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path, name: str
) -> None:
    issued = register_and_issue(service, moci.token, name)
    pdf = httpx.get(f"{service.url}/v1/documents/{issued['target_hash']}.pdf", headers=auth(moci.token), timeout=30)
    (tmp_path / "document.pdf").write_bytes(pdf.content)
    schema = example_type(name)["schema"]
    shown = [field for field in schema["properties"] if field in issued["document"]["data"]["subject"]]

    page.goto(f"{service.url}/verify")
    page.set_input_files("#file", str(tmp_path / "document.pdf"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")
    expect(page.locator("#document-title")).to_have_text(schema["title"])
    for field in shown:
        expect(page.locator("#fields")).to_contain_text(schema["properties"][field]["title"])

    page.get_by_role("button", name="عرض الصفحة بالعربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#document-title")).to_have_text(schema["x-title-ar"])
    for field in shown:
        expect(page.locator("#fields")).to_contain_text(schema["properties"][field]["x-title-ar"])


def test_a_copy_cut_past_its_never_hidden_fields_is_tampered_in_the_browser(
    page: Page, service: Service, moci: RegisteredAgency, tmp_path: Path
) -> None:
    issued = register_and_issue(service, moci.token, "visitor-entry-permit")
    allowed = httpx.post(
        f"{service.url}/v1/obfuscate",
        json={"document": issued["document"], "fields": ["subject.sponsor", "subject.holder"]},
        timeout=30,
    ).json()
    refused = httpx.post(
        f"{service.url}/v1/obfuscate",
        json={"document": issued["document"], "fields": ["subject.passportNumber"]},
        timeout=30,
    )
    assert refused.status_code == 422
    assert "no holder may hide" in refused.json()["error"]["message"]
    (tmp_path / "allowed.json").write_text(json.dumps(allowed), encoding="utf-8")
    page.goto(f"{service.url}/verify")
    page.set_input_files("#file", str(tmp_path / "allowed.json"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "VALID")

    cut = json.loads(json.dumps(issued["document"]))  # hidden by hand, as obfuscation would, past the refusal
    leaf = cut["data"]["subject"].pop("passportNumber")
    cut["privacy"] = {"obfuscatedData": [field_hash("subject.passportNumber", leaf)]}
    (tmp_path / "cut.json").write_text(json.dumps(cut), encoding="utf-8")
    page.set_input_files("#file", str(tmp_path / "cut.json"))
    expect(page.locator(VERDICT)).to_have_attribute("data-status", "TAMPERED")
    expect(page.locator(".status-summary")).to_contain_text("subject.passportNumber")
