"""Every operation of the API, called by every kind of caller, answers with the exact status.

The callers: nobody (no token), another agency (every agency scope), the owning agency
holding every scope but the one the operation needs, the owning agency, the admin, an
installation key holding only `audit` (an auditor), a key that was revoked, and a relying
party's key (scope `relying-party`).
The table must name every operation of the OpenAPI document: a new route without a row
fails the test. Mutating calls each get a fresh document, so one cell cannot hide another.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.domain import ReasonCode
from ledger.settings import DEV_ADMIN_TOKEN
from ledger.sheets.mapping import parse_mapping
from ledger.usecases.actors import ADMIN, AGENCY_SCOPES, Actor, Scope
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.api_keys import create_api_key, revoke_api_key
from ledger.usecases.audit import audit_dir
from ledger.usecases.context import Ledger
from ledger.usecases.council import approve, enact, propose
from ledger.usecases.credentials import add_credential_key
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.issuance_jobs import run_job, start_job
from ledger.usecases.relying_parties import register_relying_party
from ledger.usecases.sharing import verification_link
from ledger.usecases.status import Action, change_status
from tests.graduates import MAP, write_graduates
from tests.integration.conftest import auth, example, example_type

ROLES = (
    "nobody",
    "other agency",
    "owner without the scope",
    "owner",
    "admin",
    "auditor",
    "revoked key",
    "relying party",
)


@dataclass
class World:
    """Two agencies with keys, a token per caller, and ways to make fresh things."""

    ledger: Ledger
    client: TestClient
    tokens: dict[str, str | None]
    scoped: dict[Scope | None, str]  # moci's tokens lacking one scope (None: lacking only admin)

    def presentation(self) -> str:
        """A fresh presentation request of the relying party's; its id."""
        body = {"dcql_query": QUERY, "purpose": {"en": "Matrix", "ar": "مصفوفة"}}
        created = self.client.post("/v1/presentations", json=body, headers=auth(str(self.tokens["relying party"])))
        return str(created.json()["id"])

    def document(self, agency: str = "moci") -> str:
        request = example("commercial-licence")
        batch = issue_documents(self.ledger, agency, [IssueRequest(request["document_type"], request["fields"])] * 2)
        return str(batch.documents[0]["signature"]["targetHash"])

    def suspended(self) -> str:
        target = self.document()
        change_status(self.ledger, Actor("moci"), target, Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
        return target


Request = tuple[str, dict[str, Any]]  # a path and the keyword arguments of the call


@dataclass(frozen=True)
class Row:
    """One operation: what it needs, how to call it once, and the status for each caller."""

    method: str
    path: str
    scope: Scope | None  # the scope the owner's key lacks in the third column
    call: Callable[[World], Request]
    expected: tuple[int, int, int, int, int]  # for the first five roles
    party: int | None = None  # a relying party's key: 403 unless the route is public or set here

    def statuses(self) -> tuple[int, ...]:
        """All eight: an installation audit key reads the audit routes only; a revoked key is nobody; a
        relying party's key reaches the public routes and its own."""
        public = self.expected == PUBLIC
        auditor = 200 if public or self.scope is Scope.AUDIT else 403
        party = self.party if self.party is not None else 200 if public else 403
        return (*self.expected, auditor, 200 if public else 401, party)


def _fixed(path: str, **kwargs: Any) -> Callable[[World], Request]:
    return lambda _world: (path, kwargs)


def _on_document(suffix: str, **kwargs: Any) -> Callable[[World], Request]:
    return lambda world: (f"/v1/documents/{world.document()}{suffix}", kwargs)


def _share(world: World) -> Request:
    link = verification_link(world.ledger, ADMIN, world.document())
    reference = parse_qs(urlsplit(link).fragment)["s"][0]
    return f"/v1/shares/{reference}", {}


def _wrapped_file(world: World) -> Request:
    wrapped = world.client.get(f"/v1/documents/{world.document()}/wrapped", headers=auth(DEV_ADMIN_TOKEN)).json()
    return "/v1/verify/file", {"content": json.dumps(wrapped), "headers": {"Content-Type": "application/json"}}


def _verify(world: World) -> Request:
    wrapped = world.client.get(f"/v1/documents/{world.document()}/wrapped", headers=auth(DEV_ADMIN_TOKEN)).json()
    return "/v1/verify", {"json": wrapped}


def _anchor(world: World) -> Request:
    wrapped = world.client.get(f"/v1/documents/{world.document()}/wrapped", headers=auth(DEV_ADMIN_TOKEN)).json()
    signature = wrapped["signature"]
    body = {"target_hash": signature["targetHash"], "merkle_root": signature["merkleRoot"], "proof": signature["proof"]}
    return "/v1/verify/anchor", {"json": body}


def _credential_anchor(world: World) -> Request:
    credential = world.client.get(f"/v1/documents/{world.document()}/credential", headers=auth(DEV_ADMIN_TOKEN)).json()
    stripped = {key: value for key, value in credential.items() if key != "credentialSubject"}
    stripped["proof"] = {key: value for key, value in credential["proof"].items() if key != "proofValue"}
    return "/v1/verify/credential-anchor", {"json": {"credential": stripped}}


def _obfuscate(world: World) -> Request:
    wrapped = world.client.get(f"/v1/documents/{world.document()}/wrapped", headers=auth(DEV_ADMIN_TOKEN)).json()
    return "/v1/obfuscate", {"json": {"document": wrapped, "fields": ["subject.owner"]}}


def _derive(world: World) -> Request:
    target = world.document()
    credential = world.client.get(f"/v1/documents/{target}/credential", headers=auth(DEV_ADMIN_TOKEN)).json()
    return "/v1/credentials/derive", {"json": {"credential": credential, "disclose": ["/credentialSubject/tradeName"]}}


def _retire_credential_key(world: World) -> Request:
    return f"/v1/admin/credential-keys/{add_credential_key(world.ledger, 'moci').key_id}/retire", {"json": {}}


def _answer(world: World) -> Request:
    request_id = world.presentation()
    request = world.client.get(f"/v1/presentations/{request_id}/request").json()
    wrapped = world.client.get(f"/v1/documents/{world.document()}/wrapped", headers=auth(DEV_ADMIN_TOKEN)).json()
    body = {"vp_token": json.dumps({"licence": [wrapped]}), "state": request["state"]}
    return f"/v1/presentations/{request_id}/response", {"data": body}


def _retire(world: World) -> Request:
    return f"/v1/admin/keys/{add_issuer_key(world.ledger, 'moci').address}/retire", {"json": {}}


def _new_agency(_world: World) -> Request:
    return "/v1/admin/agencies", {"json": {"agency_id": f"mx-{secrets.token_hex(3)}", "name": "Matrix Agency"}}


def _new_type(_world: World) -> Request:
    definition = example_type("food-health-certificate")
    return "/v1/document-types", {"json": {**definition, "id": f"mx-{secrets.token_hex(4)}"}}


def _sheet(world: World, *, valid: bool) -> Path:
    path = world.ledger.settings.data_dir / f"matrix-{secrets.token_hex(4)}.csv"
    write_graduates(path, 1, invalid=() if valid else {0})
    return path


def _upload(world: World) -> Request:
    content = _sheet(world, valid=True).read_bytes()
    return "/v1/issuance-jobs", {"files": {"file": ("graduates.csv", content, "text/csv")}, "data": {"map": MAP}}


def _job(suffix: str) -> Callable[[World], Request]:
    """A fresh job of moci's, read to its end (its one row invalid: nothing waits for an anchor)."""

    def call(world: World) -> Request:
        mapping = parse_mapping(MAP)
        job, _ = start_job(
            world.ledger, "moci", source=_sheet(world, valid=False), source_name="g.csv", mapping=mapping
        )
        run_job(world.ledger, job.id)
        return f"/v1/issuance-jobs/{job.id}{suffix}", {}

    return call


def _revoke_api_key(world: World) -> Request:
    key = create_api_key(world.ledger, agency_id="moci", scopes={Scope.ISSUE}, label="to revoke").key
    return f"/v1/admin/api-keys/{key.id}/revoke", {}


def _guardian_proposal() -> dict[str, Any]:
    return {"action": "add-guardian", "arguments": {"address": Account.create().address}}


def _proposal(world: World, *, approvals: int = 1) -> int:
    body = _guardian_proposal()
    view = propose(world.ledger, world.ledger.council_signers[0], body["action"], body["arguments"])
    for member in world.ledger.council_signers[1:approvals]:
        approve(world.ledger, member, view.id)
    return view.id


def _approve(world: World) -> Request:
    return f"/v1/governance/proposals/{_proposal(world)}/approve", {}


def _execute(world: World) -> Request:
    return f"/v1/governance/proposals/{_proposal(world, approvals=2)}/execute", {}


def _read_proposal(world: World) -> Request:
    return f"/v1/governance/proposals/{_proposal(world)}", {}


QUERY = {
    "credentials": [
        {
            "id": "licence",
            "format": "ldp_vc",
            "require_cryptographic_holder_binding": False,
            "meta": {"type_values": [["CommercialLicence"]]},
            "claims": [{"path": ["credentialSubject", "licenceNumber"]}],
        }
    ]
}
PUBLIC = (200, 200, 200, 200, 200)
NOT_AGENCIES = (401, 403, 403, 403, 403)  # a relying party's own routes: no agency's, not the admin's
OWNER_OR_ADMIN = (401, 403, 403, 200, 200)
OWNER_ONLY = (401, 403, 403, 200, 403)
ADMIN_ONLY = (401, 403, 403, 403, 200)
ADMIN_CREATES = (401, 403, 403, 403, 201)
ISSUE = (401, 201, 403, 201, 403)  # another agency issues its own document
JOB_READERS = (401, 404, 403, 200, 200)  # another agency's job is none of its business: not found
AUDIT = (401, 200, 403, 200, 200)  # another agency reads its own entries, or the public ledger's report

TABLE = (
    Row("GET", "/health", None, _fixed("/health"), PUBLIC),
    Row("GET", "/metrics", None, _fixed("/metrics"), ADMIN_ONLY),  # or a monitor key: test_metrics.py
    Row("GET", "/verify", None, _fixed("/verify"), PUBLIC),
    Row("GET", "/present", None, _fixed("/present"), PUBLIC),
    Row("GET", "/v1/network", None, _fixed("/v1/network"), PUBLIC),
    Row("GET", "/v1/document-types", None, _fixed("/v1/document-types"), PUBLIC),
    Row("POST", "/v1/issuance-jobs", Scope.ISSUE, _upload, (401, 202, 403, 202, 403)),  # an agency's own sheet
    Row("GET", "/v1/issuance-jobs/{job_id}", Scope.ISSUE, _job(""), JOB_READERS),
    Row("GET", "/v1/issuance-jobs/{job_id}/results.csv", Scope.ISSUE, _job("/results.csv"), JOB_READERS),
    Row("GET", "/v1/issuance-jobs/{job_id}/certificates.zip", Scope.ISSUE, _job("/certificates.zip"), JOB_READERS),
    Row("GET", "/v1/document-types/{type_id}", None, _fixed("/v1/document-types/building-permit"), PUBLIC),
    Row("POST", "/v1/document-types", Scope.ISSUE, _new_type, (401, 201, 403, 201, 201)),  # the admin's is shared
    Row("GET", "/v1/agencies", None, _fixed("/v1/agencies"), PUBLIC),
    Row("GET", "/v1/agencies/{agency_id}", None, _fixed("/v1/agencies/moci"), PUBLIC),
    Row("GET", "/v1/documents/{target_hash}", None, _on_document(""), PUBLIC),
    Row("POST", "/v1/verify", None, _verify, PUBLIC),
    Row("POST", "/v1/verify/file", None, _wrapped_file, PUBLIC),
    Row("POST", "/v1/verify/anchor", None, _anchor, PUBLIC),
    Row("POST", "/v1/verify/credential-anchor", None, _credential_anchor, PUBLIC),
    Row("POST", "/v1/obfuscate", None, _obfuscate, PUBLIC),
    Row("GET", "/v1/shares/{reference}", None, _share, PUBLIC),
    Row("GET", "/agencies/{agency_id}/did.json", None, _fixed("/agencies/moci/did.json"), PUBLIC),
    Row(
        "GET",
        "/v1/status-lists/{agency_id}/{purpose}/{number}",
        None,
        _fixed("/v1/status-lists/moci/revocation/0"),
        PUBLIC,
    ),
    Row("POST", "/v1/credentials/derive", None, _derive, PUBLIC),
    Row("GET", "/v1/documents/{target_hash}/credential", Scope.ISSUE, _on_document("/credential"), OWNER_OR_ADMIN),
    Row("POST", "/v1/documents", Scope.ISSUE, _fixed("/v1/documents", json=example("commercial-licence")), ISSUE),
    Row(
        "POST",
        "/v1/documents/batch",
        Scope.ISSUE,
        _fixed("/v1/documents/batch", json={"documents": [example("commercial-licence")] * 2}),
        (401, 201, 403, 201, 403),
    ),
    Row("GET", "/v1/documents/{target_hash}/wrapped", Scope.ISSUE, _on_document("/wrapped"), OWNER_OR_ADMIN),
    Row("GET", "/v1/documents/{target_hash}.pdf", Scope.ISSUE, _on_document(".pdf"), OWNER_OR_ADMIN),
    Row("GET", "/v1/documents/{target_hash}/qr.{kind}", Scope.ISSUE, _on_document("/qr.png"), OWNER_OR_ADMIN),
    Row("GET", "/v1/documents/{target_hash}/link", Scope.ISSUE, _on_document("/link"), OWNER_OR_ADMIN),
    Row("DELETE", "/v1/documents/{target_hash}", Scope.ISSUE, _on_document(""), OWNER_OR_ADMIN),
    Row(
        "POST",
        "/v1/documents/{target_hash}/revoke",
        Scope.REVOKE,
        _on_document("/revoke", json={"reason": "fraud"}),
        OWNER_OR_ADMIN,
    ),
    Row(
        "POST",
        "/v1/documents/{target_hash}/suspend",
        Scope.REVOKE,
        _on_document("/suspend", json={"reason": "under_investigation"}),
        OWNER_ONLY,
    ),
    Row(
        "POST",
        "/v1/documents/{target_hash}/reinstate",
        Scope.REVOKE,
        lambda world: (f"/v1/documents/{world.suspended()}/reinstate", {}),
        OWNER_ONLY,
    ),
    Row("GET", "/v1/audit/latest", Scope.AUDIT, _fixed("/v1/audit/latest"), AUDIT),
    Row("GET", "/v1/access-log", Scope.AUDIT, _fixed("/v1/access-log"), AUDIT),
    Row("POST", "/v1/admin/agencies", None, _new_agency, ADMIN_CREATES),
    Row(
        "POST",
        "/v1/admin/agencies/{agency_id}/keys",
        None,
        _fixed("/v1/admin/agencies/moci/keys", json={}),
        ADMIN_CREATES,
    ),
    Row("POST", "/v1/admin/keys/{address}/retire", None, _retire, ADMIN_ONLY),
    Row(
        "POST",
        "/v1/admin/agencies/{agency_id}/credential-keys",
        None,
        _fixed("/v1/admin/agencies/moci/credential-keys", json={}),
        ADMIN_CREATES,
    ),
    Row("POST", "/v1/admin/credential-keys/{key_id}/retire", None, _retire_credential_key, ADMIN_ONLY),
    Row(
        "POST",
        "/v1/admin/agencies/{agency_id}/keys/rotate",
        None,
        _fixed("/v1/admin/agencies/moci/keys/rotate", json={"overlap_seconds": 600}),
        ADMIN_ONLY,
    ),
    Row(
        "POST",
        "/v1/admin/agencies/{agency_id}/api-keys",
        None,
        _fixed("/v1/admin/agencies/moci/api-keys", json={"scopes": ["issue"], "label": "matrix"}),
        ADMIN_CREATES,
    ),
    Row("POST", "/v1/admin/api-keys", None, _fixed("/v1/admin/api-keys", json={"scopes": ["audit"]}), ADMIN_CREATES),
    Row("GET", "/v1/admin/api-keys", None, _fixed("/v1/admin/api-keys"), ADMIN_ONLY),
    Row("POST", "/v1/admin/api-keys/{key_id}/revoke", None, _revoke_api_key, ADMIN_ONLY),
    Row("POST", "/v1/admin/pause", None, _fixed("/v1/admin/pause"), ADMIN_ONLY),
    Row("POST", "/v1/admin/unpause", None, _fixed("/v1/admin/unpause"), ADMIN_ONLY),
    Row("GET", "/v1/governance/proposals", None, _fixed("/v1/governance/proposals"), ADMIN_ONLY),
    Row("GET", "/v1/governance/proposals/{proposal_id}", None, _read_proposal, ADMIN_ONLY),
    Row(
        "POST",
        "/v1/governance/proposals",
        None,
        lambda _world: ("/v1/governance/proposals", {"json": _guardian_proposal()}),
        ADMIN_CREATES,
    ),
    Row("POST", "/v1/governance/proposals/{proposal_id}/approve", None, _approve, ADMIN_ONLY),
    Row("POST", "/v1/governance/proposals/{proposal_id}/execute", None, _execute, ADMIN_ONLY),
    Row(
        "POST",
        "/v1/admin/relying-parties",
        None,
        lambda _world: (
            "/v1/admin/relying-parties",
            {"json": {"id": f"rp-{secrets.token_hex(3)}", "name": "Matrix Bank", "name_ar": "بنك"}},
        ),
        ADMIN_CREATES,
    ),
    Row("GET", "/v1/admin/relying-parties", None, _fixed("/v1/admin/relying-parties"), ADMIN_ONLY),
    Row(
        "POST",
        "/v1/admin/relying-parties/{party_id}/api-keys",
        None,
        _fixed("/v1/admin/relying-parties/matrix-bank/api-keys", json={"label": "matrix"}),
        ADMIN_CREATES,
    ),
    Row(
        "POST",
        "/v1/presentations",
        None,
        _fixed("/v1/presentations", json={"dcql_query": QUERY, "purpose": {"en": "Matrix", "ar": "مصفوفة"}}),
        NOT_AGENCIES,
        party=201,
    ),
    Row(
        "GET",
        "/v1/presentations/{request_id}/request",
        None,
        lambda world: (f"/v1/presentations/{world.presentation()}/request", {}),
        PUBLIC,
    ),
    Row("POST", "/v1/presentations/{request_id}/response", None, _answer, PUBLIC),
    Row(
        "GET",
        "/v1/presentations/{request_id}",
        None,
        lambda world: (f"/v1/presentations/{world.presentation()}", {}),
        NOT_AGENCIES,
        party=200,
    ),
)


@pytest.fixture
def world(ledger: Ledger) -> Iterator[World]:
    """moci and qu with issuer keys; moci's keys each lacking one scope."""
    moci = register_agency(ledger, "moci", "Ministry of Commerce and Industry")
    add_issuer_key(ledger, "moci")
    add_credential_key(ledger, "moci")
    qu = register_agency(ledger, "qu", "Qatar University")
    add_issuer_key(ledger, "qu")
    scoped: dict[Scope | None, str] = {None: moci.token}
    for scope in AGENCY_SCOPES:
        scoped[scope] = create_api_key(ledger, agency_id="moci", scopes=AGENCY_SCOPES - {scope}, label="less").token
    tokens: dict[str, str | None] = {"nobody": None, "other agency": qu.token, "owner": moci.token}
    tokens["admin"] = DEV_ADMIN_TOKEN
    tokens["auditor"] = create_api_key(ledger, agency_id=None, scopes={Scope.AUDIT}, label="state audit").token
    revoked = create_api_key(ledger, agency_id="moci", scopes=AGENCY_SCOPES, label="revoked")
    revoke_api_key(ledger, revoked.key.id)
    tokens["revoked key"] = revoked.token
    tokens["relying party"] = register_relying_party(
        ledger, party_id="matrix-bank", name="Matrix Bank", name_ar="بنك المصفوفة", redirect_uris=[]
    ).key.token
    audit_dir(ledger).mkdir(parents=True, exist_ok=True)
    (audit_dir(ledger) / "latest-report.json").write_text('{"findings": []}', encoding="utf-8")
    with TestClient(create_app(ledger=ledger), raise_server_exceptions=False) as client:
        try:
            yield World(ledger=ledger, client=client, tokens=tokens, scoped=scoped)
        finally:
            if ledger.registry.is_paused():
                enact(ledger, "unpause", {})


def test_the_table_names_every_operation(ledger: Ledger) -> None:
    schema = create_app(ledger=ledger).openapi()
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert operations == {(row.method, row.path) for row in TABLE}


def test_every_operation_answers_every_caller_exactly(world: World) -> None:
    seen: dict[tuple[str, str], tuple[int, ...]] = {}
    for row in TABLE:
        statuses = []
        for role in ROLES:
            token = world.scoped[row.scope] if role == "owner without the scope" else world.tokens[role]
            path, kwargs = row.call(world)
            headers = dict(kwargs.pop("headers", {}))
            if token is not None:
                headers.update(auth(token))
            response = world.client.request(row.method, path, headers=headers, **kwargs)
            statuses.append(response.status_code)
            if response.status_code >= 400:
                assert response.json()["error"]["message"], f"{row.method} {row.path} as {role}: no message"
        seen[(row.method, row.path)] = tuple(statuses)
    wrong = [
        f"{row.method} {row.path}: got {seen[(row.method, row.path)]}, expected {row.statuses()}"
        for row in TABLE
        if seen[(row.method, row.path)] != row.statuses()
    ]
    assert not wrong, "\n".join(wrong)
