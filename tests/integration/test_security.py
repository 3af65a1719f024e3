"""API keys, secrets that never leave, limits, browser rules, key rotation and the access log."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import string
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from ledger.chain.rpc import connect
from ledger.documents.merkle import MerkleTree
from ledger.domain import HexHash
from ledger.errors import AlreadyRevokedError, ChainUnavailableError
from ledger.settings import DEV_ADMIN_TOKEN, DEV_KEY_ENCRYPTION_KEY, Settings
from ledger.store.repository import MIGRATIONS
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.api_keys import authenticate
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.sending import send_call
from ledger.usecases.status import get_record
from ledger.usecases.verify import verify_document
from ledger.verification import VerificationStatus
from tests.integration.conftest import auth, example
from tests.integration.silent_node import outcome_within, silent_node

ADMIN = auth(DEV_ADMIN_TOKEN)


def _error(response: Any) -> str:
    return str(response.json()["error"]["message"])


# --- API keys ----------------------------------------------------------------------


def test_an_api_key_is_shown_once_kept_as_argon2id_and_revoked_at_once(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    made = client.post("/v1/admin/agencies/moci/api-keys", json={"scopes": ["revoke"], "label": "desk"}, headers=ADMIN)
    assert made.status_code == 201
    token, key_id = made.json()["token"], made.json()["key"]["key_id"]
    assert token.startswith(f"sjl_{key_id}_")
    listed = client.get("/v1/admin/api-keys", params={"agency_id": "moci"}, headers=ADMIN)
    assert token not in listed.text
    assert {key["key_id"]: key["scopes"] for key in listed.json()}[key_id] == ["revoke"]

    engine = create_engine(ledger.settings.database)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).all()
    engine.dispose()
    stored = " ".join(str(value) for row in rows for value in row)
    assert all(row.secret_hash.startswith("$argon2id$") for row in rows)
    for secret in (token, moci.token):
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() not in stored

    # The key has only 'revoke': issuing is refused, by name of the missing scope.
    refused = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(token))
    assert refused.status_code == 403
    assert "'issue' scope" in _error(refused)

    assert client.post(f"/v1/admin/api-keys/{key_id}/revoke", headers=ADMIN).json()["revoked_at"]
    gone = client.get("/v1/access-log", headers=auth(token))
    assert gone.status_code == 401
    assert "revoked" in _error(gone)


@pytest.mark.parametrize(
    ("path", "scopes", "message"),
    [
        ("/v1/admin/agencies/moci/api-keys", ["admin"], "only issue, revoke and audit"),
        ("/v1/admin/api-keys", ["issue"], "name the agency"),
        ("/v1/admin/agencies/moci/api-keys", ["read"], "no scope 'read'"),
        ("/v1/admin/agencies/nobody/api-keys", ["issue"], "no agency 'nobody'"),
    ],
)
def test_scopes_an_api_key_may_not_hold_are_refused(
    client: TestClient, moci: RegisteredAgency, path: str, scopes: list[str], message: str
) -> None:
    response = client.post(path, json={"scopes": scopes}, headers=ADMIN)
    assert response.status_code in (404, 422)
    assert message in _error(response)


def test_tokens_handed_out_before_argon2id_keep_working(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(text("INSERT INTO agencies (id, name, created_at) VALUES ('moci', 'M', '2026-01-01')"))
        digest = hashlib.sha256(b"a-token-from-the-earlier-release").hexdigest()
        connection.execute(
            text("INSERT INTO agency_tokens VALUES (:digest, 'moci', 'default', '2026-01-01')"), {"digest": digest}
        )
    engine.dispose()
    ledger = Ledger(Settings(data_dir=tmp_path, database_url=url, seed_demo=False))
    try:
        assert ledger.store.list_api_keys("moci")[0].secret_hash.startswith("$argon2id$")
        actor = authenticate(ledger, "a-token-from-the-earlier-release")
        assert actor.agency_id == "moci"
        assert actor.scopes == {"issue", "revoke", "audit"}
    finally:
        ledger.close()


# --- secrets never leave ---------------------------------------------------------


def test_no_private_key_or_token_appears_in_any_answer_or_log(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        client.post("/v1/admin/agencies/moci/keys", json={}, headers=ADMIN),
        client.get("/v1/agencies/moci"),
        client.get("/v1/agencies"),
        client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)),
        client.post("/v1/documents", json={"document_type": "x", "fields": {}}, headers=auth(moci.token)),
        client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token + "x")),
        client.post("/v1/admin/agencies/moci/keys/rotate", json={"overlap_seconds": 0}, headers=ADMIN),
        client.get("/v1/admin/api-keys", headers=ADMIN),
    ]
    issued = answers[3].json()["target_hash"]
    answers.append(client.post(f"/v1/documents/{issued}/revoke", json={}, headers=auth(moci.token)))
    answers.append(client.get("/v1/access-log", headers=ADMIN))
    secrets = [
        bytes(ledger.vault.decrypt(row.encrypted_key, row.address).key).hex() for row in ledger.store.keys_of("moci")
    ]
    secrets += [ledger.settings.admin_private_key.get_secret_value()[2:], DEV_KEY_ENCRYPTION_KEY, moci.token]
    seen = "\n".join(answer.text for answer in answers) + "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert secret.lower() not in seen.lower()
    assert all(answer.status_code < 500 for answer in answers)


# --- limits --------------------------------------------------------------------------


@pytest.fixture
def limited(ledger: Ledger) -> Iterator[TestClient]:
    settings = ledger.settings.model_copy(update={"public_requests_per_minute": 3, "api_key_requests_per_minute": 2})
    strict = Ledger(settings)
    with TestClient(create_app(ledger=strict), raise_server_exceptions=False) as test_client:
        yield test_client
    strict.close()


def test_public_routes_are_limited_per_address(limited: TestClient, moci: RegisteredAgency) -> None:
    document = limited.post("/v1/obfuscate", json={"document": {}, "fields": []})
    assert document.status_code == 422
    answers = [limited.post("/v1/verify", json={}).status_code for _ in range(2)]
    assert answers == [422, 422]
    refused = limited.post("/v1/verify", json={})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "too many requests from this address" in _error(refused)
    assert limited.get("/v1/network").status_code == 200  # reading the network is not limited


def test_authenticated_routes_are_limited_per_api_key(
    limited: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    qu = register_agency(ledger, "qu", "Qatar University")
    assert [limited.get("/v1/access-log", headers=auth(moci.token)).status_code for _ in range(2)] == [200, 200]
    refused = limited.get("/v1/access-log", headers=auth(moci.token))
    assert refused.status_code == 429
    assert "this API key" in _error(refused)
    assert limited.get("/v1/access-log", headers=auth(qu.token)).status_code == 200  # another key has its own


def test_a_node_that_never_answers_times_out_as_unavailable(ledger: Ledger, moci: RegisteredAgency) -> None:
    add_issuer_key(ledger, "moci")
    with TestClient(create_app(ledger=ledger)) as client:
        wrapped = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()
    with silent_node() as url:
        hanging = Ledger(ledger.settings.model_copy(update={"rpc_url": url, "rpc_timeout_seconds": 1}))
        outcome = outcome_within(lambda: verify_document(hanging, wrapped["document"]))
        hanging.close()
    assert isinstance(outcome, ChainUnavailableError), outcome


# --- the browser's rules ----------------------------------------------------------------


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.inline.append("<script> without src")
        self.inline += [f"{tag}[{name}]" for name in names if name.startswith("on") or name == "style"]
        if tag == "style":
            self.inline.append("<style>")


def test_the_page_has_a_strict_policy_and_nothing_inline(client: TestClient) -> None:
    page = client.get("/verify")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    parser = _Scripts()
    parser.feed(page.text)
    assert parser.inline == []
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/v1/network").headers["content-security-policy"].startswith("default-src 'none'")


def test_cors_is_closed_unless_origins_are_configured(ledger: Ledger) -> None:
    preflight = {"Origin": "https://bank.example", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(ledger=ledger)) as closed:
        assert "access-control-allow-origin" not in closed.options("/v1/verify", headers=preflight).headers
        assert "access-control-allow-origin" not in closed.get("/v1/network", headers=preflight).headers
    opened = Ledger(ledger.settings.model_copy(update={"cors_origins": ["https://bank.example"]}))
    with TestClient(create_app(ledger=opened)) as configured:
        allowed = configured.options("/v1/verify", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://bank.example"
        other = configured.options("/v1/verify", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    opened.close()


# --- key rotation ---------------------------------------------------------------------------


def test_rotating_keys_keeps_what_the_old_key_issued_valid(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    add_issuer_key(ledger, "moci")
    before = client.post("/v1/documents", json=example("commercial-licence"), headers=auth(moci.token)).json()
    rotated = client.post("/v1/admin/agencies/moci/keys/rotate", json={"overlap_seconds": 0}, headers=ADMIN).json()
    old_key = before["anchor"]["key"]
    assert old_key in [key["address"] for key in rotated["retired"]]
    after = client.post("/v1/documents", json=example("building-permit"), headers=auth(moci.token)).json()
    assert after["anchor"]["key"] == rotated["new_key"]["address"]
    assert client.post("/v1/verify", json=before["document"]).json()["status"] == "VALID"
    assert client.post("/v1/verify", json=after["document"]).json()["status"] == "VALID"
    revoked = client.post(f"/v1/documents/{before['target_hash']}/revoke", json={}, headers=auth(moci.token))
    assert revoked.status_code == 200  # the new key changes what the old one issued
    assert client.post("/v1/verify", json=before["document"]).json()["status"] == "REVOKED"


# --- the access log ---------------------------------------------------------------------------


def test_the_access_log_names_who_did_what_and_nothing_personal(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    add_issuer_key(ledger, "moci")
    qu = register_agency(ledger, "qu", "Qatar University")
    request = example("commercial-licence")
    issued = client.post("/v1/documents", json=request, headers=auth(moci.token)).json()
    target = issued["target_hash"]
    client.get(f"/v1/documents/{target}/wrapped", headers=auth(moci.token))
    client.get(f"/v1/documents/{target}/wrapped", headers=auth(qu.token))  # refused, and recorded
    guessed = moci.token[: moci.token.rindex("_") + 1] + "not-the-secret"  # moci's key id, a wrong secret
    assert client.get(f"/v1/documents/{target}/wrapped", headers=auth(guessed)).status_code == 401
    client.post(f"/v1/documents/{target}/revoke", json={"reason": "fraud"}, headers=auth(moci.token))

    everything = client.get("/v1/access-log", headers=ADMIN).json()
    moci_key = authenticate(ledger, moci.token).key_id
    assert [(e["actor"], e["action"], e["target"], e["status"]) for e in everything if e["target"] == target] == [
        ("agency:moci", "wrapped", target, 200),
        ("agency:qu", "wrapped", target, 403),
        ("unauthenticated", "wrapped", target, 401),  # the key id it claimed, never the token
        ("agency:moci", "revoke", target, 200),
    ]
    assert {e["key_id"] for e in everything if e["actor"] in ("agency:moci", "unauthenticated")} == {moci_key}
    own = client.get("/v1/access-log", headers=auth(qu.token)).json()
    assert own
    assert {e["agency_id"] for e in own} == {"qu"}

    engine = create_engine(ledger.settings.database)
    with engine.connect() as connection:
        log_text = " ".join(str(v) for row in connection.execute(text("SELECT * FROM access_log")) for v in row)
    engine.dispose()
    # A short run of hex digits (an activity code, "4690") turns up in random hashes and key ids by
    # chance; it is left out, as values under four characters are.
    personal = [
        value
        for value in _strings(request["fields"])
        if len(value) >= 4 and not (len(value) < 8 and all(c in string.hexdigits for c in value))
    ]
    assert personal
    for value in personal:
        assert value not in log_text
    assert "127.0.0.1" not in log_text
    assert "not-the-secret" not in log_text
    assert "testclient" not in log_text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- forged proofs against the real chain ---------------------------------------------------------


@pytest.mark.parametrize("proofs", [False, True], ids=["plain", "proof-mode"])
def test_every_single_bit_change_of_a_proof_fails_against_the_chain(
    ledger: Ledger, moci: RegisteredAgency, proofs: bool
) -> None:
    add_issuer_key(ledger, "moci")
    requests = [example("commercial-licence")] * 4
    batch = issue_documents(ledger, "moci", [IssueRequest(r["document_type"], r["fields"]) for r in requests])
    document = batch.documents[1]
    if proofs:  # the registry's answers checked with eth_getProof against each block's state root
        ledger = Ledger(ledger.settings.model_copy(update={"verify_proofs": True}))
        verdict = verify_document(ledger, document)
        assert any(check.name == "ledger_read" and check.evidence["proof"] for check in verdict.checks)
    assert verify_document(ledger, document).status is VerificationStatus.VALID
    signature = document["signature"]
    places: list[tuple[str, int | None]] = [("targetHash", None), ("merkleRoot", None)]
    places += [("proof", n) for n in range(len(signature["proof"]))]
    verdicts: dict[str, int] = {}
    for name, position in places:
        original = signature[name] if position is None else signature["proof"][position]
        for bit in range(256):
            forged = copy.deepcopy(document)
            flipped = f"{int(original, 16) ^ (1 << bit):064x}"
            if position is None:
                forged["signature"][name] = flipped
            else:
                forged["signature"]["proof"][position] = flipped
            status = verify_document(ledger, forged).status.value
            verdicts[status] = verdicts.get(status, 0) + 1
    assert verdicts == {"TAMPERED": 256 * len(places)}
    if proofs:
        ledger.close()


# --- erasure -----------------------------------------------------------------------------------------


def test_erasing_a_document_leaves_nothing_personal_and_the_holder_copy_valid(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    add_issuer_key(ledger, "moci")
    request = example("commercial-licence")
    request["fields"]["owner"] = {"name": {"en": "Hamad Al-Sulaiti", "ar": "حمد السليطي"}, "nationalId": "27863400999"}
    issued = client.post("/v1/documents", json=request, headers=auth(moci.token)).json()
    target, holder_copy = issued["target_hash"], issued["document"]
    link = client.get(f"/v1/documents/{target}/link", headers=auth(moci.token)).json()["link"]
    reference = link.split("&s=")[1].split("&")[0]
    assert client.get(f"/v1/shares/{reference}").status_code == 200

    erased = client.delete(f"/v1/documents/{target}", headers=auth(moci.token))
    assert erased.json() == {"target_hash": target, "already_erased": False}
    assert client.delete(f"/v1/documents/{target}", headers=auth(moci.token)).json()["already_erased"] is True
    gone = client.get(f"/v1/documents/{target}/wrapped", headers=auth(moci.token))
    assert gone.status_code == 410
    assert "holder's copy still verifies" in _error(gone)
    assert client.get(f"/v1/shares/{reference}").status_code == 404
    assert client.post("/v1/verify", json=holder_copy).json()["status"] == "VALID"
    database = Path(ledger.settings.database.removeprefix("sqlite:///"))
    stored = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
    for value in ("Hamad Al-Sulaiti", "حمد السليطي", "27863400999"):
        assert value.encode() not in stored
    assert client.post(f"/v1/documents/{target}/revoke", json={}, headers=auth(moci.token)).status_code == 200
    assert client.post("/v1/verify", json=holder_copy).json()["status"] == "REVOKED"


# --- hostile bodies ---------------------------------------------------------------------------------

BOMB = "[" * 150_000  # deep enough to overflow the C stack if a parser ever got to it


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        # UTF-16 hides the brackets from a byte scan that assumes UTF-8 (U+4122 is the bytes '"A')
        (('["\u4122",' + BOMB).encode("utf-16-le"), [("content-type", "application/json")], 400),
        (BOMB.encode(), [("content-type", "Application/JSON; charset=utf-8")], 422),
        (BOMB.encode(), [("content-type", "application/vnd.sijill+json")], 422),
        (BOMB.encode(), [("content-type", "application/json"), ("content-type", "text/plain")], 400),
        (b"x" * (6 * 2**20 + 1), [("content-type", "text/plain")], 413),
    ],
    ids=["utf-16", "upper-case type", "+json type", "two types", "large text"],
)
@pytest.mark.parametrize("path", ["/v1/verify", "/v1/obfuscate", "/v1/verify/file", "/v1/admin/agencies"])
def test_hostile_bodies_are_refused_before_any_parser_sees_them(
    client: TestClient, path: str, body: bytes, headers: list[tuple[str, str]], status: int
) -> None:
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_a_utf16_file_upload_is_not_json(client: TestClient) -> None:
    bomb = ('["\u4122",' + BOMB).encode("utf-16-le")
    response = client.post("/v1/verify/file", content=bomb, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code in (400, 422)
    assert "not valid JSON" in _error(response)


def test_failed_logins_spend_the_address_allowance(limited: TestClient, moci: RegisteredAgency) -> None:
    wrong = [limited.get("/v1/access-log", headers=auth(moci.token + "x")).status_code for _ in range(3)]
    assert wrong == [401, 401, 401]
    refused = limited.get("/v1/access-log", headers=auth(moci.token + "x"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


# --- a revocation hidden by another agency's record ---------------------------------------------------


def test_another_agency_cannot_undo_a_revocation_by_taking_the_record_over(ledger: Ledger) -> None:
    """The registry keeps one record per document: agency B, which anchored the same hash
    before A's second anchor of it, once took the record over after A revoked through that
    second batch (OpenAttestation's isRevoked then read false). A revocation is now final for
    every agency: B's changes are refused, and both readers see the revocation."""
    register_agency(ledger, "moci", "Ministry of Commerce and Industry")
    a_row = add_issuer_key(ledger, "moci")
    register_agency(ledger, "qu", "Qatar University")
    b_row = add_issuer_key(ledger, "qu")
    a = ledger.vault.decrypt(a_row.encrypted_key, a_row.address)
    b = ledger.vault.decrypt(b_row.encrypted_key, b_row.address)
    request = example("commercial-licence")
    document = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])] * 2)
    document = document.documents[0]
    target = document["signature"]["targetHash"]
    registry = ledger.registry

    def batch_with_target() -> MerkleTree:
        return MerkleTree.build([target, os.urandom(32).hex()])

    time.sleep(1.1)  # each batch claims a later second
    theirs = batch_with_target()
    send_call(ledger, b, registry.address, registry.anchor_call(theirs.root, 2))
    time.sleep(1.1)
    again = batch_with_target()
    send_call(ledger, a, registry.address, registry.anchor_call(again.root, 2))
    send_call(ledger, a, registry.address, registry.status_call("revoke", HexHash(target), again.proof(target), 3))
    assert verify_document(ledger, document).status is VerificationStatus.REVOKED
    with pytest.raises(AlreadyRevokedError):
        send_call(
            ledger, b, registry.address, registry.status_call("suspend", HexHash(target), theirs.proof(target), 7)
        )
    with pytest.raises(AlreadyRevokedError):
        send_call(ledger, b, registry.address, registry.status_call("reinstate", HexHash(target), theirs.proof(target)))
    assert registry.inspect(target, document["signature"]["merkleRoot"]).document_agency_id == "moci"
    _is_issued, is_revoked = registry.open_attestation_calls(target)
    answer = connect(ledger.settings.rpc_url).eth.call({"to": registry.address, "data": is_revoked})  # type: ignore[typeddict-item]
    assert answer[-1] == 1  # OpenAttestation's isRevoked(target) reads true
    assert verify_document(ledger, document).status is VerificationStatus.REVOKED
    assert get_record(ledger, target).as_dict()["status"] == "REVOKED"


def test_an_unexpected_error_is_a_plain_500_with_the_strict_headers(
    ledger: Ledger, moci: RegisteredAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here one injected into the registry read) answers 500 with no trace, and its answer carries
    the same strict headers as every other: Starlette makes it outside the middleware that adds them."""
    request = example("commercial-licence")
    document = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])]).documents[0]

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug in the registry read")

    monkeypatch.setattr(ledger.registry, "inspect_latest", broken)
    with TestClient(create_app(ledger=ledger), raise_server_exceptions=False) as client:
        answer = client.post("/v1/verify", json=document)
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "a bug" not in answer.text  # nothing of the failure leaks
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
