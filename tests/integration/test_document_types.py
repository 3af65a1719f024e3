"""Document types as data, on a real chain: registered through the API, issued under, verified, versioned."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.app import create_app
from ledger.chain.anvil import free_port
from ledger.chain.deployment import DeploymentRecord
from ledger.documents.definitions import parse_definition
from ledger.documents.wrap import wrap_documents
from ledger.domain import HexHash
from ledger.settings import DEV_ADMIN_TOKEN, Settings
from ledger.store.models import DocumentTypeRow
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, agency_admin_signer, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, build_document_data
from ledger.usecases.sending import send_call
from ledger.usecases.verify import verify_document
from tests.integration.conftest import auth, example, example_type
from tests.integration.test_nodes import proxies, verifier  # noqa: F401 (proxies: the fixture)
from tests.nodes import ChainNode
from tests.rpc_proxy import RpcProxy


@pytest.fixture
def moi(ledger: Ledger) -> RegisteredAgency:
    """The Ministry of Interior, which issues visitors' entry permits, with an issuer key."""
    registered = register_agency(ledger, "moi", "Ministry of Interior", "وزارة الداخلية")
    add_issuer_key(ledger, "moi")
    return registered


def register(client: TestClient, token: str, definition: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/document-types", json=definition, headers=auth(token))
    assert response.status_code == 201, response.text
    return dict(response.json())


def issue(client: TestClient, token: str, name: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    request = example(name)
    body = {"document_type": request["document_type"], "fields": fields or request["fields"]}
    response = client.post("/v1/documents", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    return dict(response.json()["document"])


def type_check(result: dict[str, Any]) -> dict[str, Any]:
    return next(check for check in result["checks"] if check["name"] == "document_type")


def test_an_agency_registers_a_type_issues_under_it_and_anyone_verifies_it(
    client: TestClient, moi: RegisteredAgency
) -> None:
    registered = register(client, moi.token, example_type("visitor-entry-permit"))
    assert (registered["id"], registered["version"], registered["owner"]) == ("visitor-entry-permit", 1, "moi")
    assert registered["registered"] is True
    assert registered["transaction"].startswith("0x")

    document = issue(client, moi.token, "visitor-entry-permit")
    result = client.post("/v1/verify", json=document).json()
    assert result["status"] == "VALID", result["summary"]
    check = type_check(result)
    assert check["outcome"] == "passed"
    assert check["evidence"]["owner"] == "moi"
    assert check["evidence"]["registered_definition"] == registered["definition_hash"]

    listed = {kind["id"]: kind for kind in client.get("/v1/document-types").json()}
    assert listed["visitor-entry-permit"]["definition_hash"] == registered["definition_hash"]
    assert listed["commercial-licence"]["shipped"] is True
    assert listed["commercial-licence"]["registered"] is True  # the registry was born with it


def test_version_2_leaves_version_1_documents_valid(client: TestClient, moi: RegisteredAgency) -> None:
    first = example_type("visitor-entry-permit")
    register(client, moi.token, first)
    old = issue(client, moi.token, "visitor-entry-permit")
    second = example_type("visitor-entry-permit")
    second["schema"]["properties"]["purpose"]["enum"].append("study")
    second["schema"]["title"] = "Visitor entry permit (2027)"
    assert register(client, moi.token, second)["version"] == 2
    fields = {**example("visitor-entry-permit")["fields"], "purpose": "study"}
    new = issue(client, moi.token, "visitor-entry-permit", fields)

    for document, version in ((old, 1), (new, 2)):
        result = client.post("/v1/verify", json=document).json()
        assert result["status"] == "VALID", result["summary"]
        assert type_check(result)["message"].startswith(f"'visitor-entry-permit' version {version} ")
    versions = client.get("/v1/document-types/visitor-entry-permit").json()["versions"]
    assert [(v["version"], v["schema"]["title"]) for v in versions] == [
        (1, "Visitor entry permit"),
        (2, "Visitor entry permit (2027)"),
    ]


def test_a_type_id_clash_is_409_and_only_the_owner_issues_its_type(
    client: TestClient, moi: RegisteredAgency, moci: RegisteredAgency
) -> None:
    register(client, moi.token, example_type("visitor-entry-permit"))
    clash = client.post("/v1/document-types", json=example_type("visitor-entry-permit"), headers=auth(moci.token))
    assert clash.status_code == 409
    assert "belongs to agency 'moi'" in clash.json()["error"]["message"]
    shipped = {**example_type("visitor-entry-permit"), "id": "commercial-licence"}
    assert client.post("/v1/document-types", json=shipped, headers=auth(moci.token)).status_code == 409

    request = example("visitor-entry-permit")
    refused = client.post("/v1/documents", json=request, headers=auth(moci.token))
    assert refused.status_code == 403
    assert "belongs to agency 'moi'" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda d: d["schema"].update({"type": "object", "properties": {"a": {"type": 5}}}),
            "schema.properties.a.type",
        ),
        (lambda d: d["schema"]["properties"]["grade"].pop("x-title-ar"), "schema.properties.grade"),
        (lambda d: d.update({"neverHidden": ["stars"]}), "neverHidden"),
        (lambda d: d.update({"id": "Food Health"}), "id"),
    ],
)
def test_a_definition_that_is_not_one_gets_a_422_naming_the_part(
    client: TestClient, moci: RegisteredAgency, change: Any, field: str
) -> None:
    definition = example_type("food-health-certificate")
    change(definition)
    response = client.post("/v1/document-types", json=definition, headers=auth(moci.token))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert client.get("/v1/document-types/food-health-certificate").status_code == 404  # nothing kept


def test_the_admin_registers_a_shared_type_through_the_council(client: TestClient, moci: RegisteredAgency) -> None:
    registered = register(client, DEV_ADMIN_TOKEN, example_type("company-registration"))
    assert registered["owner"] is None
    document = issue(client, moci.token, "company-registration")  # any agency issues a shared type
    result = client.post("/v1/verify", json=document).json()
    assert result["status"] == "VALID", result["summary"]
    assert type_check(result)["evidence"]["owner"] == "shared"


@pytest.mark.parametrize("claim", ["an altered definition", "an unregistered version"])
def test_a_document_claiming_an_unregistered_or_altered_definition_is_not_valid(
    ledger: Ledger, client: TestClient, moi: RegisteredAgency, claim: str
) -> None:
    """The agency's own key anchors it (the chain cannot see inside a batch): the type check refuses it."""
    registered = register(client, moi.token, example_type("visitor-entry-permit"))
    agency = ledger.store.get_agency("moi")
    assert agency is not None
    data = build_document_data(ledger, agency, IssueRequest(**example("visitor-entry-permit")))
    if claim == "an altered definition":
        data["sijill"]["documentType"]["definition"] = "0x" + "77" * 32
    else:
        data["sijill"]["documentType"]["version"] = 9
    document = wrap_documents([data])[0]
    (key,) = ledger.store.keys_of("moi")
    signer = ledger.vault.decrypt(key.encrypted_key, key.address)
    registry = ledger.registry
    send_call(ledger, signer, registry.address, registry.anchor_call(document["signature"]["merkleRoot"], 1))

    result = client.post("/v1/verify", json=document).json()
    assert result["status"] == "UNKNOWN_ISSUER"
    check = type_check(result)
    assert check["outcome"] == "failed"
    expected = "but the ledger registered" if claim == "an altered definition" else "version 9 of document type"
    assert expected in check["message"], check["message"]
    if claim == "an altered definition":
        assert check["evidence"]["registered_definition"] == registered["definition_hash"]


@pytest.mark.parametrize("proofs", [False, True], ids=["quorum", "proofs"])
def test_a_quorum_or_proofs_read_an_agencys_type_as_the_network_holds_it(
    ledger: Ledger,
    client: TestClient,
    moi: RegisteredAgency,
    tmp_path: Path,
    chain_node: ChainNode,
    deployment: DeploymentRecord,
    proxies: list[RpcProxy],  # noqa: F811
    proofs: bool,
) -> None:
    register(client, moi.token, example_type("visitor-entry-permit"))
    document = issue(client, moi.token, "visitor-entry-permit")
    reader = verifier(tmp_path / "reader", chain_node, deployment, proxies, verify_quorum=2, verify_proofs=proofs)
    try:
        result = verify_document(reader, document)
        assert result.status.value == "VALID", result.summary
        check = next(check for check in result.checks if check.name == "document_type")
        assert check.evidence["owner"] == "moi"
    finally:
        reader.close()


YEAR_TWO = {
    "visitor-entry-permit": ("Visitor entry permit", "تصريح دخول زائر", "PA8830412", "آنا صوفيا مارتينيز"),
    "company-registration": ("Company registration certificate", "شهادة السجل التجاري", "184533", "خالد الكواري"),
    "food-health-certificate": (
        "Food establishment health certificate",
        "شهادة صحية لمنشأة غذائية",
        "FH-2026-018842",
        "مخبز سوق واقف",
    ),
}


def _words(text: str) -> str:
    """Text as a reader sees it: Arabic presentation forms folded to letters; spaces and the control
    characters pypdf leaves between shaped Arabic glyphs removed."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(char for char in folded if not char.isspace() and not unicodedata.category(char).startswith("C"))


def _arabic(text: str) -> str:
    """The Arabic letters of `text` alone, in order: pypdf reads some glyphs fpdf2 shapes (a lam-alef, a
    ligature) as stray marks between them."""
    return "".join(char for char in _words(text) if "\u0621" <= char <= "\u064a")


@pytest.mark.anvil_only  # the certificate's text: no answer of the node's changes it
@pytest.mark.parametrize("name", sorted(YEAR_TWO))
def test_the_year_two_types_print_in_both_languages_in_their_layout_order(
    client: TestClient, moci: RegisteredAgency, name: str
) -> None:
    """No type-specific code: the certificate takes titles and labels from the registered definition.

    pypdf reads Arabic back letter by letter in drawing order, with some glyphs fpdf2 shapes (a lam-alef, a
    ligature in a word of several) out of place: the Arabic title, value and agency are checked here, and
    every Arabic label on the page in Chromium (tests/browser/test_document_types_page.py)."""
    definition = example_type(name)
    register(client, moci.token, definition)
    issued = client.post("/v1/documents", json=example(name), headers=auth(moci.token)).json()
    response = client.get(f"/v1/documents/{issued['target_hash']}.pdf", headers=auth(moci.token))
    assert response.status_code == 200
    text = _words(PdfReader(io.BytesIO(response.content)).pages[0].extract_text())
    english, arabic, value, arabic_value = YEAR_TWO[name]
    for expected in (english, value):
        assert _words(expected) in text, expected
    for expected in (arabic, arabic_value, "وزارة التجارة والصناعة"):
        assert _arabic(expected) in _arabic(text), expected
    # The English labels, each after the one before it: the layout's order, not the document's.
    properties, place = definition["schema"]["properties"], text.find(_words(english))
    for field in (f for f in definition["layout"] if f in issued["document"]["data"]["subject"]):
        found = text.find(_words(properties[field]["title"]).upper(), place)
        assert found > place, (field, definition["layout"])
        place = found


def test_a_retry_answers_the_same_version_and_a_crash_after_the_chain_took_it_loses_nothing(
    ledger: Ledger, client: TestClient, moi: RegisteredAgency
) -> None:
    first = register(client, moi.token, example_type("visitor-entry-permit"))
    again = client.post("/v1/document-types", json=example_type("visitor-entry-permit"), headers=auth(moi.token))
    assert again.status_code == 200  # the latest version already: nothing registered
    assert (again.json()["version"], again.json()["definition_hash"]) == (1, first["definition_hash"])

    # Version 2 reaches the chain, then the process dies before the store hears of it.
    second = example_type("visitor-entry-permit")
    second["schema"]["properties"]["entries"]["enum"].append("transit-only")
    definition = parse_definition(second, owner="moi", version=2, shared=ledger.catalog.shared)
    ledger.document_types.add(
        DocumentTypeRow(
            type_id=definition.id,
            version=2,
            owner="moi",
            definition=definition.as_dict(),
            definition_hash=definition.hash,
            tx_hash="",
            registered_at=0,
        )
    )
    call = ledger.registry.register_type_call(definition.id, 2, "moi", HexHash(definition.hash))
    send_call(ledger, agency_admin_signer(ledger, "moi"), ledger.registry.address, call)
    versions = client.get("/v1/document-types/visitor-entry-permit").json()["versions"]
    assert [(v["version"], v["registered"]) for v in versions] == [(1, True), (2, True)]  # confirmed from the chain
    retried = client.post("/v1/document-types", json=second, headers=auth(moi.token))
    assert (retried.status_code, retried.json()["version"]) == (200, 2)
    fields = {**example("visitor-entry-permit")["fields"], "entries": "transit-only"}
    document = issue(client, moi.token, "visitor-entry-permit", fields)
    assert client.post("/v1/verify", json=document).json()["status"] == "VALID"


def test_the_types_are_listed_while_the_chain_is_down(settings: Settings) -> None:
    """The verification page labels fields from this list: a chain that does not answer leaves the
    registry's record unknown (null), never the types missing or a 503."""
    dead = Ledger(settings.model_copy(update={"rpc_url": f"http://127.0.0.1:{free_port()}", "rpc_timeout_seconds": 1}))
    try:
        listed = TestClient(create_app(ledger=dead)).get("/v1/document-types")
        assert listed.status_code == 200, listed.text
        kinds = {kind["id"]: kind for kind in listed.json()}
        assert kinds["academic-certificate"]["registered"] is None
        assert kinds["academic-certificate"]["schema"]["properties"]["graduate"]["x-title-ar"]
    finally:
        dead.close()
