"""Verified prefill (OpenID4VP 1.0 + DCQL) through the API, on a real chain.

A relying party registers and asks for a licence's claims and a degree's (or a second licence's);
the holder answers with copies that disclose only those claims; the party collects a verified result
once, with a decision by its rules. Refusals: a revoked document, a hidden required claim, a replayed
answer, an expired request, another request's state. The npm `dcql` package reads every query and
answer beside Sijill and must agree on whether the query is met.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.documents.wrap import obfuscate
from ledger.domain import ReasonCode
from ledger.settings import DEV_ADMIN_TOKEN
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key
from ledger.usecases.presentation_answer import read_presented
from ledger.usecases.status import Action, change_status
from tests.integration.conftest import auth, example, licence
from tests.interop.node import run_node

ORACLE = Path(__file__).resolve().parents[1] / "interop" / "dcql_oracle.mjs"
ADMIN = auth(DEV_ADMIN_TOKEN)
SUBJECT = ("credentialSubject",)

LICENCE_CLAIMS = [
    {"id": "name", "path": [*SUBJECT, "tradeName"]},
    {"id": "number", "path": [*SUBJECT, "licenceNumber"]},
    {"id": "owner", "path": [*SUBJECT, "owner", "name"]},
    {"id": "activity", "path": [*SUBJECT, "activities"]},
]
# What the loan form needs: a licence, and a degree OR a second licence (credential_sets).
QUERY: dict[str, Any] = {
    "credentials": [
        {
            "id": "licence",
            "format": "ldp_vc",
            "require_cryptographic_holder_binding": False,
            "meta": {"type_values": [["CommercialLicence"]]},
            "claims": LICENCE_CLAIMS,
        },
        {
            "id": "degree",
            "format": "ldp_vc",
            "require_cryptographic_holder_binding": False,
            "meta": {"type_values": [["AcademicCertificate"]]},
            "claims": [{"path": [*SUBJECT, "degree"]}, {"path": [*SUBJECT, "major"]}],
        },
        {
            "id": "other_licence",
            "format": "ldp_vc",
            "require_cryptographic_holder_binding": False,
            "meta": {"type_values": [["CommercialLicence"]]},
            "claims": [{"path": [*SUBJECT, "licenceNumber"]}],
        },
    ],
    "credential_sets": [{"options": [["licence"]]}, {"options": [["degree"], ["other_licence"]]}],
}
PURPOSE = {"en": "Business loan application", "ar": "طلب قرض تجاري"}
UNREQUESTED = ("28763400123", "Building 12, Street 340, Doha", "201904512", "2001-03-14", "magna-cum-laude")


@pytest.fixture
def qu(ledger: Ledger) -> RegisteredAgency:
    """Qatar University, which issues degrees."""
    registered = register_agency(ledger, "qu", "Qatar University", "جامعة قطر")
    add_issuer_key(ledger, "qu")
    return registered


@pytest.fixture
def bank(client: TestClient) -> dict[str, Any]:
    """A relying party registered by the admin: its record and token."""
    response = client.post(
        "/v1/admin/relying-parties",
        json={
            "id": "pearl-bank",
            "name": "Pearl Bank",
            "name_ar": "بنك اللؤلؤ",
            "redirect_uris": ["https://bank.example/done"],
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


def issued(client: TestClient, agency: RegisteredAgency, request: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/documents", json=request, headers=auth(agency.token))
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()["document"]
    return document


def ask(client: TestClient, bank: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"dcql_query": QUERY, "purpose": PURPOSE, **extra}
    response = client.post("/v1/presentations", json=body, headers=auth(bank["token"]))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def request_of(client: TestClient, created: dict[str, Any]) -> dict[str, Any]:
    response = client.get(created["request_uri"].removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200, response.text
    request: dict[str, Any] = response.json()
    return request


def answer(client: TestClient, request: dict[str, Any], vp_token: dict[str, Any], state: str | None = None) -> Any:
    """The holder's page posting its answer (direct_post, form-encoded)."""
    return client.post(
        request["response_uri"].removeprefix("http://127.0.0.1:8000"),
        data={"vp_token": json.dumps(vp_token), "state": state or request["state"]},
    )


def collect(client: TestClient, bank: dict[str, Any], created: dict[str, Any]) -> Any:
    return client.get(f"/v1/presentations/{created['id']}", headers=auth(bank["token"]))


def licence_copy(document: dict[str, Any]) -> dict[str, Any]:
    """What the consent page sends of a licence: the requested claims only."""
    return obfuscate(
        document,
        ["subject.owner.nationalId", "subject.address", "subject.legalForm", "subject.issueDate", "subject.expiryDate"],
    )


def degree_copy(document: dict[str, Any]) -> dict[str, Any]:
    return obfuscate(
        document,
        ["subject.certificateNumber", "subject.graduate", "subject.honours", "subject.gpa", "subject.graduationDate"],
    )


def oracle(ledger: Ledger, query: dict[str, Any], vp_token: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The npm dcql package's reading of the answer, as the credentials Sijill reads from it."""
    presentations = {
        query_id: [dict(read_presented(doc, ledger.catalog.names)[0].claims) for doc in docs]
        for query_id, docs in vp_token.items()
    }
    for query_id, docs in vp_token.items():  # a credential is read as it is; a wrapped document by its type
        for shown, doc in zip(presentations[query_id], docs, strict=True):
            shown.setdefault("type", doc.get("type"))
    return run_node(ORACLE, stdin={"query": query, "presentations": presentations})


@pytest.fixture
def documents(client: TestClient, moci: RegisteredAgency, qu: RegisteredAgency) -> dict[str, dict[str, Any]]:
    return {
        "licence": issued(client, moci, example("commercial-licence")),
        "degree": issued(client, qu, example("academic-certificate")),
    }


def test_the_relying_party_receives_the_requested_claims_verified_and_nothing_else(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    created = ask(client, bank, redirect_uri="https://bank.example/done")
    assert created["qr_code"].startswith("data:image/png;base64,")
    assert created["consent_url"].startswith("http://127.0.0.1:8000/present#request_uri=")
    request = request_of(client, created)
    assert request["client_metadata"] == {"client_name": "Pearl Bank", "client_name#ar": "بنك اللؤلؤ"}
    assert request["response_mode"] == "direct_post"
    assert request["purpose"] == PURPOSE
    assert len(request["state"]) >= 22
    assert len(request["nonce"]) >= 22

    vp_token = {"licence": [licence_copy(documents["licence"])], "degree": [degree_copy(documents["degree"])]}
    sent = answer(client, request, vp_token)
    assert sent.status_code == 200, sent.text
    redirect = sent.json().pop("redirect_uri")
    assert sent.json() | {"redirect_uri": None} == {"accepted": True, "reasons": [], "redirect_uri": None}
    assert redirect.startswith("https://bank.example/done?response_code=")
    code = redirect.partition("response_code=")[2]
    assert len(code) >= 22  # 128 bits
    assert oracle(ledger, QUERY, vp_token) == {
        "valid": True,
        "error": None,
        "satisfied": True,
        "matched": ["degree", "licence"],
    }

    path = f"/v1/presentations/{created['id']}"
    wrong = client.get(path, params={"response_code": "x" * 22}, headers=auth(bank["token"]))
    assert wrong.status_code == 403  # a session that did not bring the answer gets nothing, and the result stays
    collected = client.get(path, params={"response_code": code}, headers=auth(bank["token"]))
    assert collected.status_code == 200, collected.text
    result = collected.json()["result"]
    assert result["accepted"]
    assert result["satisfied"]
    assert result["decision"] == "approve"
    claims = {(c["credential"], tuple(c["path"][1:])): c for c in result["claims"]}
    assert claims["licence", ("tradeName",)]["value"] == {"en": "Pearl Coast Trading", "ar": "ساحل اللؤلؤ للتجارة"}
    assert claims["licence", ("licenceNumber",)]["value"] == "CL-2026-000123"
    assert claims["licence", ("owner", "name")]["value"]["en"] == "Mariam Al-Thani"
    assert claims["degree", ("major",)]["value"]["en"] == "Computer Engineering"
    record = claims["licence", ("licenceNumber",)]
    assert record["agency"] == {"id": "moci", "name": "Ministry of Commerce and Industry"}
    assert record["verdict"] == "VALID"
    assert record["document_type"] == "commercial-licence"
    assert record["anchor"]["block"] > 0
    assert record["anchor"]["transaction"].startswith("0x")
    assert record["valid_until"].startswith("2027-11-22")
    assert claims["degree", ("degree",)]["agency"]["name"] == "Qatar University"
    text = json.dumps(result, ensure_ascii=False)
    assert not [value for value in UNREQUESTED if value in text]
    again = collect(client, bank, created)
    assert again.status_code == 410
    assert "keeps no copy" in again.json()["error"]["message"]


def test_claims_shown_beyond_the_query_are_not_passed_on(
    client: TestClient, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    request = request_of(client, created := ask(client, bank))
    vp_token = {"licence": [documents["licence"]], "other_licence": [documents["licence"]]}  # everything shown
    assert answer(client, request, vp_token).json()["accepted"]
    result = collect(client, bank, created).json()["result"]
    text = json.dumps(result, ensure_ascii=False)
    assert "28763400123" not in text
    assert "Building 12" not in text
    licence_record = next(d for d in result["documents"] if d["credential"] == "licence")
    assert "credentialSubject.owner.nationalId" in licence_record["discarded"]


def test_a_revoked_document_is_refused_and_the_party_sees_why(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    change_status(
        ledger, Actor("moci"), documents["licence"]["signature"]["targetHash"], Action.REVOKE, ReasonCode.UNSPECIFIED
    )
    request = request_of(client, created := ask(client, bank))
    sent = answer(client, request, {"licence": [licence_copy(documents["licence"])], "degree": [documents["degree"]]})
    assert sent.status_code == 200
    assert not sent.json()["accepted"]
    assert "'licence' is REVOKED" in sent.json()["reasons"][0]
    result = collect(client, bank, created).json()["result"]
    assert not result["accepted"]
    assert result["claims"] == []
    assert result["decision"] is None
    assert "REVOKED" in result["reasons"][0]
    assert "Pearl Coast" not in json.dumps(result, ensure_ascii=False)  # a refused answer passes on no claim


def test_a_hidden_required_claim_is_refused_by_sijill_and_by_dcql(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    hidden = obfuscate(licence_copy(documents["licence"]), ["subject.tradeName"])
    vp_token = {"licence": [hidden], "degree": [degree_copy(documents["degree"])]}
    assert oracle(ledger, QUERY, vp_token)["satisfied"] is False
    request = request_of(client, created := ask(client, bank))
    sent = answer(client, request, vp_token).json()
    assert not sent["accepted"]
    assert sent["reasons"] == ["the document given for 'licence' lacks credentialSubject.tradeName"]
    assert collect(client, bank, created).json()["result"]["reasons"] == sent["reasons"]


def test_the_alternative_of_a_credential_set_is_met_and_an_unmet_set_is_named(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], moci: RegisteredAgency, documents: dict[str, Any]
) -> None:
    second = issued(client, moci, licence("CL-2026-000999"))
    vp_token = {"licence": [licence_copy(documents["licence"])], "other_licence": [second]}
    assert oracle(ledger, QUERY, vp_token)["satisfied"] is True
    assert answer(client, request_of(client, ask(client, bank)), vp_token).json()["accepted"]
    alone = {"licence": [licence_copy(documents["licence"])]}
    assert oracle(ledger, QUERY, alone)["satisfied"] is False
    refused = answer(client, request_of(client, ask(client, bank)), alone).json()
    assert refused["reasons"] == ["credential set 1 needs 'degree' or 'other_licence'"]


def test_a_replayed_answer_and_another_requests_state_are_refused_and_noted(
    client: TestClient, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    vp_token = {"licence": [licence_copy(documents["licence"])], "degree": [degree_copy(documents["degree"])]}
    first, second = ask(client, bank), ask(client, bank)
    request, other = request_of(client, first), request_of(client, second)
    wrong = answer(client, other, vp_token, state=request["state"])
    assert wrong.status_code == 422
    assert "another request" in wrong.json()["error"]["message"]
    assert answer(client, request, vp_token).json()["accepted"]
    replay = answer(client, request, vp_token)
    assert replay.status_code == 409
    assert "answered already" in replay.json()["error"]["message"]
    assert client.get(first["request_uri"].removeprefix("http://127.0.0.1:8000")).status_code == 410
    result = collect(client, bank, first).json()
    assert [r["reason"] for r in result["refusals"]] == ["replayed"]
    assert [r["reason"] for r in collect(client, bank, second).json()["refusals"]] == ["another request's state"]


def test_an_expired_request_is_refused_and_shown_expired(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    created = ask(client, bank, ttl_seconds=60)
    request = request_of(client, created)
    clock: Callable[[], Any] = ledger.clock
    ledger.clock = lambda: clock() + timedelta(seconds=61)  # type: ignore[method-assign]
    late = answer(client, request, {"licence": [documents["licence"]], "degree": [documents["degree"]]})
    assert late.status_code == 410
    assert "expired" in late.json()["error"]["message"]
    state = collect(client, bank, created).json()
    assert state["status"] == "EXPIRED"
    assert [r["reason"] for r in state["refusals"]] == ["expired"]


def test_rules_approve_or_refer_with_a_reason_for_each(
    client: TestClient, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    activity = [*SUBJECT, "activities"]
    rules = [
        {"credential": "licence", "status": "VALID", "label": "licence valid"},
        {"credential": "licence", "valid_for_days": 36_500, "label": "valid for a century"},
        {"credential": "licence", "path": [*SUBJECT, "licenceNumber"], "in": ["CL-2026-000123"]},
    ]
    created = ask(client, bank, rules=rules)
    vp_token = {"licence": [licence_copy(documents["licence"])], "degree": [degree_copy(documents["degree"])]}
    assert answer(client, request_of(client, created), vp_token).json()["accepted"]
    result = collect(client, bank, created).json()["result"]
    assert result["decision"] == "refer"
    outcomes = [(o["rule"]["label"], o["passed"]) for o in result["rules"]]
    assert outcomes == [
        ("licence valid", True),
        ("valid for a century", False),
        ("credentialSubject.licenceNumber in ['CL-2026-000123']", True),
    ]
    assert result["rules"][1]["reason"].startswith("valid until 2027-11-22")
    bad = client.post(
        "/v1/presentations",
        json={
            "dcql_query": QUERY,
            "purpose": PURPOSE,
            "rules": [{"credential": "licence", "path": activity[:1], "in": [1]}],
        },
        headers=auth(bank["token"]),
    )
    assert bad.status_code == 422
    assert "not among the claims" in bad.json()["error"]["message"]


def test_a_derived_credential_answers_like_the_wrapped_copy(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], moci: RegisteredAgency, documents: dict[str, Any]
) -> None:
    add_credential_key(ledger, "moci")
    target = documents["licence"]["signature"]["targetHash"]
    credential = client.get(f"/v1/documents/{target}/credential", headers=auth(moci.token)).json()
    pointers = [
        "/credentialSubject/tradeName",
        "/credentialSubject/licenceNumber",
        "/credentialSubject/owner/name",
        "/credentialSubject/activities",
    ]
    derived = client.post("/v1/credentials/derive", json={"credential": credential, "disclose": pointers}).json()
    vp_token = {"licence": [derived], "degree": [degree_copy(documents["degree"])]}
    assert oracle(ledger, QUERY, vp_token)["satisfied"] is True
    created = ask(client, bank)
    assert answer(client, request_of(client, created), vp_token).json()["accepted"]
    result = collect(client, bank, created).json()["result"]
    values = {tuple(c["path"][1:]): c["value"] for c in result["claims"] if c["credential"] == "licence"}
    assert values["licenceNumber",] == "CL-2026-000123"
    assert values["owner", "name"]["en"] == "Mariam Al-Thani"
    assert "28763400123" not in json.dumps(result)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: q["credentials"][0].pop("require_cryptographic_holder_binding"), "bound to no holder key"),
        (lambda q: q["credentials"][0].update(format="mso_mdoc"), "Sijill presents its documents as 'ldp_vc'"),
        (lambda q: q["credential_sets"][1]["options"].append(["passport"]), "'passport', which is no credential id"),
        (lambda q: q["credentials"][0]["claims"].append({"path": []}), "path must be a non-empty array"),
    ],
)
def test_a_query_sijill_cannot_answer_is_refused_with_the_part_named(
    client: TestClient, bank: dict[str, Any], change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    query = json.loads(json.dumps(QUERY))
    change(query)
    response = client.post(
        "/v1/presentations", json={"dcql_query": query, "purpose": PURPOSE}, headers=auth(bank["token"])
    )
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_only_the_asking_party_reads_its_result(
    client: TestClient, moci: RegisteredAgency, bank: dict[str, Any]
) -> None:
    created = ask(client, bank)
    other = client.post(
        "/v1/admin/relying-parties", json={"id": "other-bank", "name": "Other", "name_ar": "آخر"}, headers=ADMIN
    ).json()
    assert collect(client, other, created).status_code == 404
    assert client.get(f"/v1/presentations/{created['id']}", headers=ADMIN).status_code == 403
    assert (
        client.post(
            "/v1/presentations", json={"dcql_query": QUERY, "purpose": PURPOSE}, headers=auth(moci.token)
        ).status_code
        == 403
    )
    assert client.get("/v1/presentations/nope/request").status_code == 404


class Callback:
    """A relying party's callback endpoint on 127.0.0.1: what it received, and the status it answers."""

    def __init__(self, status: int) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sijill-results"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [204, 500])
def test_a_result_is_posted_signed_to_the_callback_once_or_kept_for_get(
    client: TestClient, documents: dict[str, dict[str, Any]], status: int
) -> None:
    endpoint = Callback(status)
    try:
        registered = client.post(
            "/v1/admin/relying-parties",
            json={"id": "hook-bank", "name": "Hook Bank", "name_ar": "بنك", "callback_url": endpoint.url},
            headers=ADMIN,
        ).json()
        created = ask(client, registered)
        vp_token = {"licence": [licence_copy(documents["licence"])], "degree": [degree_copy(documents["degree"])]}
        assert answer(client, request_of(client, created), vp_token).json()["accepted"]
    finally:
        endpoint.close()
    ((headers, body),) = endpoint.received
    secret = registered["callback_secret"].encode()
    assert headers["X-Sijill-Signature"] == "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    posted = json.loads(body)
    assert posted["id"] == created["id"]
    assert posted["result"]["decision"] == "approve"
    then = collect(client, registered, created)
    if status == 204:  # delivered: the service kept no copy
        assert then.status_code == 410
    else:  # the callback failed: the result waits for the party's GET
        assert then.json()["result"] == posted["result"]


def test_a_result_nobody_collects_is_dropped_in_time(
    client: TestClient, ledger: Ledger, bank: dict[str, Any], documents: dict[str, dict[str, Any]]
) -> None:
    created = ask(client, bank)
    vp_token = {"licence": [licence_copy(documents["licence"])], "degree": [degree_copy(documents["degree"])]}
    assert answer(client, request_of(client, created), vp_token).json()["accepted"]
    clock: Callable[[], Any] = ledger.clock
    ledger.clock = lambda: clock() + timedelta(hours=24, seconds=1)  # type: ignore[method-assign]
    late = collect(client, bank, created)
    assert late.status_code == 410
    assert "not collected within 24 hours" in late.json()["error"]["message"]
    kept = ledger.presentations.request(created["id"])
    assert kept is not None
    assert kept.result is None


@pytest.mark.parametrize(
    "vp_token", ["not json", '{"licence": [{"a": 1, "a": 2}]}', '{"\\ud800": {}}', '{"licence": NaN}', "[]"]
)
def test_a_malformed_vp_token_is_a_422_and_the_request_still_reads(
    client: TestClient, bank: dict[str, Any], vp_token: str
) -> None:
    created = ask(client, bank)
    request = request_of(client, created)
    response = client.post(
        request["response_uri"].removeprefix("http://127.0.0.1:8000"),
        data={"vp_token": vp_token, "state": request["state"]},
    )
    assert response.status_code == 422, response.text
    state = collect(client, bank, created)
    assert state.status_code == 200
    assert state.json()["status"] == "PENDING"


def test_a_relying_party_gets_a_new_key_from_the_admin(client: TestClient, bank: dict[str, Any]) -> None:
    response = client.post("/v1/admin/relying-parties/pearl-bank/api-keys", json={"label": "rotated"}, headers=ADMIN)
    assert response.status_code == 201, response.text
    key = response.json()
    assert key["key"]["scopes"] == ["relying-party"]
    assert key["key"]["relying_party_id"] == "pearl-bank"
    assert ask(client, {"token": key["token"]})["id"]
    missing = client.post("/v1/admin/relying-parties/nobody/api-keys", json={}, headers=ADMIN)
    assert missing.status_code == 404
