"""Document schemas, reason codes, agency ids and settings."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.documents.definitions import load_shared_schemas, parse_definition, shipped_definitions
from ledger.documents.types import DocumentTypeCatalog
from ledger.domain import ReasonCode, agency_id_from_bytes32, agency_id_to_bytes32, normalize_hash
from ledger.errors import ConfigurationError, InvalidRequestError, SchemaValidationError, UnknownDocumentTypeError
from ledger.settings import DEV_COUNCIL_KEYS, Settings
from tests.unit.documents import licence_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def catalog() -> DocumentTypeCatalog:
    return DocumentTypeCatalog.shipped()


def test_three_government_types(catalog: DocumentTypeCatalog) -> None:
    assert catalog.names == ["academic-certificate", "building-permit", "commercial-licence"]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_examples_satisfy_their_schemas(example: Path) -> None:
    """Each example document against its type: a shipped one, or the example definition beside it."""
    shared = load_shared_schemas()
    registered = [
        parse_definition(json.loads(path.read_text(encoding="utf-8")), owner="example", version=1, shared=shared)
        for path in sorted((EXAMPLES / "types").glob("*.json"))
    ]
    catalog = DocumentTypeCatalog(definitions=[*shipped_definitions(), *registered], shared=shared)
    request = json.loads(example.read_text(encoding="utf-8"))
    catalog.validate(request["document_type"], request["fields"])


def test_arabic_only_and_english_only_text_are_accepted(catalog: DocumentTypeCatalog) -> None:
    fields = copy.deepcopy(licence_data()["subject"])
    fields["tradeName"] = {"ar": "ساحل اللؤلؤ"}
    fields["address"] = {"en": "Doha"}
    catalog.validate("commercial-licence", fields)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.pop("licenceNumber"), "fields"),
        (lambda f: f.update(licenceNumber="lowercase-bad"), "fields.licenceNumber"),
        (lambda f: f["owner"]["name"].update(fr="Nom"), "fields.owner.name"),
        (lambda f: f.update(issueDate="2026-13-45"), "fields.issueDate"),
        (lambda f: f["activities"][0].update(code="x"), "fields.activities.0.code"),
        (lambda f: f.update(extra=1), "fields"),
    ],
)
def test_schema_errors_name_the_field(catalog: DocumentTypeCatalog, change: object, field: str) -> None:
    fields = copy.deepcopy(licence_data()["subject"])
    change(fields)  # type: ignore[operator]
    with pytest.raises(SchemaValidationError) as caught:
        catalog.validate("commercial-licence", fields)
    assert caught.value.field == field


def test_unknown_type_lists_the_known_ones(catalog: DocumentTypeCatalog) -> None:
    with pytest.raises(UnknownDocumentTypeError, match="building-permit"):
        catalog.validate("passport", {})


def test_reason_codes_parse_by_name_or_number() -> None:
    assert ReasonCode.parse("key-compromise") is ReasonCode.KEY_COMPROMISE
    assert ReasonCode.parse(3) is ReasonCode.FRAUD
    assert ReasonCode.parse("1") is ReasonCode.SUPERSEDED
    with pytest.raises(InvalidRequestError, match="superseded"):
        ReasonCode.parse("because")


def test_agency_ids_round_trip_and_are_checked() -> None:
    assert agency_id_from_bytes32(agency_id_to_bytes32("moci-2")) == "moci-2"
    for bad in ("M", "has space", "x" * 32, "-lead"):
        with pytest.raises(InvalidRequestError):
            agency_id_to_bytes32(bad)


def test_hashes_are_normalized() -> None:
    assert normalize_hash("0x" + "AB" * 32) == "ab" * 32
    with pytest.raises(InvalidRequestError):
        normalize_hash("abc")


def test_production_refuses_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="SIJILL_ADMIN_PRIVATE_KEY"):
        Settings(mode="production", seed_demo=False)
    production: dict[str, Any] = {
        "mode": "production",
        "seed_demo": False,
        "admin_private_key": "0x" + "11" * 32,
        "admin_token": "a" * 40,
        "key_encryption_key": "k" * 40,
        "demo_agency_token": "t" * 40,
        "council_members": [f"0x{n:040x}" for n in (1, 2, 3)],
        "council_member_keys": ["0x" + "22" * 32],
        "public_base_url": "https://sijill.example.gov.qa",
    }
    settings = Settings(**production)
    assert not settings.development
    with pytest.raises(ConfigurationError, match="SIJILL_COUNCIL_MEMBER_KEYS"):
        Settings(**{**production, "council_member_keys": list(DEV_COUNCIL_KEYS[:1])})
    with pytest.raises(ConfigurationError, match="never hold enough keys to decide alone"):
        Settings(**{**production, "council_member_keys": ["0x" + "22" * 32, "0x" + "33" * 32]})
    with pytest.raises(ConfigurationError, match="SIJILL_COUNCIL_MEMBERS"):
        Settings(**{**production, "council_members": []})
    with pytest.raises(ConfigurationError, match="demo"):
        Settings(**{**production, "seed_demo": True})
    with pytest.raises(ConfigurationError, match="SIJILL_PUBLIC_BASE_URL must be the service's https"):
        Settings(**{**production, "public_base_url": "http://sijill.example.gov.qa"})


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIJILL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SIJILL_RPC_URL", "http://127.0.0.1:9999")
    settings = Settings()
    assert settings.rpc_url == "http://127.0.0.1:9999"
    assert settings.deployment_path == tmp_path / "deployment.json"
    assert settings.database.endswith("sijill.db")
