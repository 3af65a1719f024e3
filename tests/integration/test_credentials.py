"""Documents as W3C Verifiable Credentials, on a real chain, through the API.

An agency's credential key is registered on chain; each issued document gets one signed credential
with a status index of its own; the holder derives a copy showing only chosen claims; POST
/v1/verify judges full and derived copies by their proof and the chain; the agency's status lists
are rebuilt from the registry's events and agree with the chain, which decides when they do not.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from web3 import Web3
from web3.types import RPCEndpoint

from ledger.audit.replay import REVOKED
from ledger.domain import ReasonCode
from ledger.settings import DEV_ADMIN_TOKEN
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import RegisteredAgency, register_agency
from ledger.usecases.audit import run_audit
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key, set_credential_key_valid_until
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.status import Action, change_status
from ledger.vc.credential import mandatory_pointers
from ledger.vc.ecdsa_sd import add_base_proof
from ledger.vc.multikey import did_key, did_key_method, encode_public
from ledger.vc.status_list import MIN_ENTRIES, StatusBits
from tests.integration.conftest import auth, example, licence

SUBJECT_VALUES = ("Mariam Al-Thani", "28763400123", "Building 12, Street 340, Doha")


@pytest.fixture
def credential_key(ledger: Ledger, moci: RegisteredAgency) -> str:
    """moci's credential key, registered on chain now; its key id."""
    return add_credential_key(ledger, "moci").key_id


def issue(client: TestClient, moci: RegisteredAgency, request: dict[str, Any] | None = None) -> str:
    """Issue one licence through the API; its target hash."""
    response = client.post("/v1/documents", json=request or example("commercial-licence"), headers=auth(moci.token))
    assert response.status_code == 201, response.text
    return str(response.json()["target_hash"])


def get_credential(client: TestClient, moci: RegisteredAgency, target: str) -> dict[str, Any]:
    response = client.get(f"/v1/documents/{target}/credential", headers=auth(moci.token))
    assert response.status_code == 200, response.text
    credential: dict[str, Any] = response.json()
    return credential


def verify(client: TestClient, credential: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/verify", json=credential)
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()
    return verdict


def checks(verdict: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in verdict["checks"]}


def listed(client: TestClient, credential: dict[str, Any], purpose: str) -> bool:
    """The credential's bit in the agency's published list for `purpose`."""
    entry = next(item for item in credential["credentialStatus"] if item["statusPurpose"] == purpose)
    published = client.get(entry["statusListCredential"].removeprefix("http://127.0.0.1:8000"))
    assert published.status_code == 200, published.text
    subject = published.json()["credentialSubject"]
    assert subject["statusPurpose"] == purpose
    return StatusBits.decode(subject["encodedList"]).get(int(entry["statusListIndex"]))


def test_an_agency_without_a_credential_key_is_told_how_to_add_one(client: TestClient, moci: RegisteredAgency) -> None:
    target = issue(client, moci)
    response = client.get(f"/v1/documents/{target}/credential", headers=auth(moci.token))
    assert response.status_code == 409
    assert "credential-keys" in response.json()["error"]["message"]
    assert "sijill key add-credential moci" in response.json()["error"]["message"]


def test_an_issued_document_is_a_vc2_credential_signed_once_that_verifies(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str
) -> None:
    target = issue(client, moci)
    credential = get_credential(client, moci, target)
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["type"] == ["VerifiableCredential", "CommercialLicence"]
    assert credential["id"] == f"urn:sijill:{target}"
    assert credential["issuer"] == "did:web:127.0.0.1%3A8000:agencies:moci"
    assert credential["validUntil"] == "2027-11-22T23:59:59Z"  # the anchored expiry
    assert credential["credentialSubject"]["licenceNumber"] == "CL-2026-000123"
    assert [entry["statusPurpose"] for entry in credential["credentialStatus"]] == ["revocation", "suspension"]
    assert credential["evidence"][0]["targetHash"] == target
    assert credential["evidence"][0]["registry"] == ledger.network.registry
    assert credential["proof"]["cryptosuite"] == "ecdsa-sd-2023"
    assert credential["proof"]["verificationMethod"].startswith("did:web:127.0.0.1%3A8000:agencies:moci#zDn")
    assert get_credential(client, moci, target) == credential  # signed once, its status index kept
    verdict = verify(client, credential)
    assert verdict["status"] == "VALID", verdict["summary"]
    assert checks(verdict)["credential_key"]["evidence"]["key_id"] == credential_key
    assert checks(verdict)["status_list"]["outcome"] == "passed"
    assert checks(verdict)["proof"]["evidence"]["derived"] is False


def test_status_indexes_are_never_shared(client: TestClient, moci: RegisteredAgency, credential_key: str) -> None:
    targets = [issue(client, moci, licence(f"CL-IDX-{n}")) for n in range(6)]
    entries = {
        (entry["statusListCredential"], entry["statusListIndex"])
        for target in targets
        for entry in get_credential(client, moci, target)["credentialStatus"]
        if entry["statusPurpose"] == "revocation"
    }
    assert len(entries) == len(targets)


def test_a_holder_discloses_only_what_they_choose_and_the_copy_verifies(
    client: TestClient, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, issue(client, moci))
    body = {"credential": credential, "disclose": ["/credentialSubject/licenceNumber", "/credentialSubject/tradeName"]}
    response = client.post("/v1/credentials/derive", json=body)
    assert response.status_code == 200, response.text
    derived = response.json()
    text = json.dumps(derived, ensure_ascii=False)
    for hidden in SUBJECT_VALUES:
        assert hidden not in text
    assert set(derived["credentialSubject"]) == {"licenceNumber", "tradeName"}
    assert {pointer.lstrip("/") for pointer in mandatory_pointers(credential)} <= set(derived)
    verdict = verify(client, derived)
    assert verdict["status"] == "VALID", verdict["summary"]
    assert checks(verdict)["proof"]["evidence"]["derived"] is True
    derived["credentialSubject"]["licenceNumber"] = "CL-2026-999999"  # a claim forged in the copy
    forged = verify(client, derived)
    assert forged["status"] == "TAMPERED"
    assert checks(forged)["proof"]["outcome"] == "failed"


def test_what_cannot_be_derived_is_refused_with_a_reason(
    client: TestClient, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, issue(client, moci))
    nothing = client.post("/v1/credentials/derive", json={"credential": credential, "disclose": ["/nope"]})
    assert nothing.status_code == 422
    assert "'/nope' names nothing" in nothing.json()["error"]["message"]
    derived = client.post(
        "/v1/credentials/derive", json={"credential": credential, "disclose": ["/credentialSubject/legalForm"]}
    ).json()
    again = client.post("/v1/credentials/derive", json={"credential": derived, "disclose": ["/credentialSubject"]})
    assert again.status_code == 422  # a derived copy is not a base to derive from


def test_revoke_suspend_and_reinstate_move_the_verdict_and_the_lists_alike(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, target := issue(client, moci))
    assert not listed(client, credential, "revocation")
    assert not listed(client, credential, "suspension")
    change_status(ledger, Actor("moci"), target, Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
    assert verify(client, credential)["status"] == "SUSPENDED"
    assert listed(client, credential, "suspension")
    assert not listed(client, credential, "revocation")
    change_status(ledger, Actor("moci"), target, Action.REINSTATE, ReasonCode.UNSPECIFIED)
    assert verify(client, credential)["status"] == "VALID"
    assert not listed(client, credential, "suspension")
    change_status(ledger, Actor("moci"), target, Action.REVOKE, ReasonCode.FRAUD)
    verdict = verify(client, credential)
    assert verdict["status"] == "REVOKED"
    assert checks(verdict)["status_list"]["outcome"] == "passed"
    assert listed(client, credential, "revocation")


def test_revoking_a_batch_sets_the_bit_of_every_document_in_it(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str
) -> None:
    requests = [IssueRequest("commercial-licence", licence(f"CL-B-{n}")["fields"]) for n in range(3)]
    batch = issue_documents(ledger, "moci", requests)
    targets = [document["signature"]["targetHash"] for document in batch.documents]
    credentials = [get_credential(client, moci, target) for target in targets]
    change_status(ledger, Actor("moci"), batch.merkle_root, Action.REVOKE, ReasonCode.SUPERSEDED)
    for credential in credentials:
        assert listed(client, credential, "revocation")
        assert verify(client, credential)["status"] == "REVOKED"


def test_when_the_list_and_the_chain_disagree_the_chain_decides_and_says_so(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, target := issue(client, moci))
    assert verify(client, credential)["status"] == "VALID"  # the replay now holds the anchor
    replay = ledger.status_replay
    root = credential["evidence"][0]["merkleRoot"]
    anchor = replay.state.anchors.get(root)
    assert anchor is not None
    replay.state.anchors[root] = anchor._replace(status=REVOKED)  # a list that lies (or lags)
    replay.signed.clear()
    assert listed(client, credential, "revocation")
    verdict = verify(client, credential)
    assert verdict["status"] == "VALID"
    assert checks(verdict)["status_list"]["outcome"] == "failed"
    assert "the chain decided" in verdict["summary"]
    assert target == verdict["target_hash"]


def resigned(
    ledger: Ledger, credential: dict[str, Any], key: ec.EllipticCurvePrivateKey, method: str
) -> dict[str, Any]:
    """`credential` signed anew by `key`, named `method` (issuer and all else unchanged)."""
    unsigned = {name: value for name, value in credential.items() if name != "proof"}
    return add_base_proof(
        unsigned,
        key=key,
        verification_method=method,
        created=credential["proof"]["created"],
        mandatory_pointers=mandatory_pointers(unsigned),
        loader=ledger.contexts,
    )


def test_a_key_the_chain_did_not_hold_for_the_agency_then_gives_unknown_issuer(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, issue(client, moci))
    issuer = credential["issuer"]
    stranger = ec.generate_private_key(ec.SECP256R1())
    self_issued = resigned(
        ledger,
        {**credential, "issuer": did_key(stranger.public_key())},
        stranger,
        did_key_method(stranger.public_key()),
    )
    assert "not a credential key on the registry" in checks(verify(client, self_issued))["credential_key"]["message"]
    named_as_moci = resigned(ledger, credential, stranger, f"{issuer}#{encode_public(stranger.public_key())}")
    register_agency(ledger, "qu", "Qatar University")
    other = add_credential_key(ledger, "qu")
    assert ledger.credentials.get_key(other.key_id) is not None
    qu_private = ec.derive_private_key(
        int.from_bytes(
            ledger.vault.unseal(ledger.credentials.get_key(other.key_id).encrypted_key, other.key_id), "big"
        ),
        ec.SECP256R1(),
    )
    by_qu = resigned(ledger, credential, qu_private, f"{issuer}#{other.public_key}")
    future = add_credential_key(ledger, "moci", valid_from=ledger.registry.chain_time() + 3600)
    future_private = ec.derive_private_key(
        int.from_bytes(ledger.vault.unseal(future.encrypted_key, future.key_id), "big"), ec.SECP256R1()
    )
    too_early = resigned(ledger, credential, future_private, f"{issuer}#{future.public_key}")
    for forged, words in (
        (named_as_moci, "not a credential key on the registry"),
        (by_qu, "the key is agency 'qu''s"),
        (too_early, "was not valid at the credential's validFrom"),
    ):
        verdict = verify(client, forged)
        assert verdict["status"] == "UNKNOWN_ISSUER", verdict["summary"]
        assert words in checks(verdict)["credential_key"]["message"]


def test_a_retired_key_signs_nothing_new_and_what_it_signed_stays_valid(
    client: TestClient, ledger: Ledger, web3: Web3, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, issue(client, moci))
    multikey = credential["proof"]["verificationMethod"].partition("#")[2]
    assert multikey in json.dumps(client.get("/agencies/moci/did.json").json())
    set_credential_key_valid_until(ledger, credential_key)  # its window ends after the current second
    web3.provider.make_request(RPCEndpoint("evm_increaseTime"), [2])
    web3.provider.make_request(RPCEndpoint("evm_mine"), [])
    document = client.get("/agencies/moci/did.json").json()
    assert document["id"] == "did:web:127.0.0.1%3A8000:agencies:moci"
    assert multikey not in json.dumps(document)
    assert verify(client, credential)["status"] == "VALID"  # signed while the key was valid
    later = issue(client, moci, licence("CL-AFTER"))
    refused = client.get(f"/v1/documents/{later}/credential", headers=auth(moci.token))
    assert refused.status_code == 409
    assert "no credential key valid now" in refused.json()["error"]["message"]


def test_an_erased_document_has_no_credential_and_keeps_its_index(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str
) -> None:
    target = issue(client, moci)
    get_credential(client, moci, target)
    assert client.delete(f"/v1/documents/{target}", headers=auth(moci.token)).status_code == 200
    gone = client.get(f"/v1/documents/{target}/credential", headers=auth(moci.token))
    assert gone.status_code == 410
    kept = ledger.credentials.get(target)
    assert kept is not None
    assert kept.credential is None
    assert ledger.credentials.taken("moci") == 1


def test_what_is_not_a_sijill_credential_gets_a_clear_refusal(
    client: TestClient, moci: RegisteredAgency, credential_key: str
) -> None:
    credential = get_credential(client, moci, issue(client, moci))
    cases = {
        "names no anchored document": {**credential, "id": "urn:uuid:1"},
        "ecdsa-sd-2023": {**credential, "proof": {**credential["proof"], "cryptosuite": "eddsa-rdfc-2022"}},
        "no Sijill anchor evidence": {name: value for name, value in credential.items() if name != "evidence"},
    }
    for words, body in cases.items():
        response = client.post("/v1/verify", json=body)
        assert response.status_code == 422, response.text
        assert words in response.json()["error"]["message"]
    garbled = {**credential, "proof": {**credential["proof"], "proofValue": "u2V0Agarbage"}}
    response = client.post("/v1/verify", json=garbled)
    assert response.status_code == 422
    assert "base proof" in response.json()["error"]["message"]


def test_status_lists_that_do_not_exist_are_404(
    client: TestClient, moci: RegisteredAgency, credential_key: str
) -> None:
    assert client.get("/v1/status-lists/moci/refresh/0").status_code == 404
    assert client.get("/v1/status-lists/moci/revocation/7").status_code == 404
    assert client.get("/v1/status-lists/nobody/revocation/0").status_code == 404
    published = client.get("/v1/status-lists/moci/revocation/0").json()
    assert StatusBits.decode(published["credentialSubject"]["encodedList"]).size == MIN_ENTRIES
    assert published["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert client.post("/v1/verify", json=published).status_code == 422  # a list is not a document's credential


def test_the_admin_adds_and_retires_credential_keys_through_the_api(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    created = client.post("/v1/admin/agencies/moci/credential-keys", json={}, headers=auth(DEV_ADMIN_TOKEN))
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["valid_until"] is None
    assert key["public_key"].startswith("zDn")
    assert ledger.registry.credential_key(key["key_id"]).agency_id == "moci"
    retired = client.post(f"/v1/admin/credential-keys/{key['key_id']}/retire", json={}, headers=auth(DEV_ADMIN_TOKEN))
    assert retired.status_code == 200
    assert retired.json()["valid_until"] is not None
    unknown = client.post(
        "/v1/admin/credential-keys/0x" + "ab" * 32 + "/retire", json={}, headers=auth(DEV_ADMIN_TOKEN)
    )
    assert unknown.status_code == 404


def test_the_audit_rebuilds_every_published_list_from_the_events_and_names_a_list_that_differs(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency, credential_key: str, tmp_path: Path
) -> None:
    targets = [issue(client, moci, licence(f"CL-AUD-{n}")) for n in range(3)]
    credentials = [get_credential(client, moci, target) for target in targets]
    change_status(ledger, Actor("moci"), targets[0], Action.REVOKE, ReasonCode.FRAUD)
    change_status(ledger, Actor("moci"), targets[1], Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
    clean = run_audit(ledger, folder=tmp_path / "audit")
    assert clean.findings == []
    assert clean.checked["status_lists"] == 2
    assert clean.checked["status_entries"] == 3
    # The service's own view of the events goes wrong (a lie, or a replay that missed a block).
    root = credentials[2]["evidence"][0]["merkleRoot"]
    anchor = ledger.status_replay.state.anchors.get(root)
    assert anchor is not None
    ledger.status_replay.state.anchors[root] = anchor._replace(status=REVOKED)
    run = run_audit(ledger, folder=tmp_path / "audit")
    index = int(credentials[2]["credentialStatus"][0]["statusListIndex"])
    assert [(f.rule, f.evidence["purpose"], f.evidence["entries"]) for f in run.findings] == [
        ("status-list", "revocation", [index])
    ]


def test_issuing_with_credential_true_hands_over_both_forms_at_once(
    client: TestClient, moci: RegisteredAgency, credential_key: str
) -> None:
    one = client.post("/v1/documents?credential=true", json=example("commercial-licence"), headers=auth(moci.token))
    assert one.status_code == 201, one.text
    body = one.json()
    assert body["credential"]["id"] == f"urn:sijill:{body['target_hash']}"
    assert body["credential_error"] is None
    assert verify(client, body["credential"])["status"] == "VALID"
    assert verify(client, body["document"])["status"] == "VALID"
    batch = {"documents": [licence("CL-CRED-1"), licence("CL-CRED-2")]}
    many = client.post("/v1/documents/batch?credential=true", json=batch, headers=auth(moci.token)).json()
    ids = [credential["id"] for credential in many["credentials"]]
    assert ids == [f"urn:sijill:{document['signature']['targetHash']}" for document in many["documents"]]
    assert many["credential_errors"] == [None, None]
    plain = client.post("/v1/documents", json=licence("CL-PLAIN"), headers=auth(moci.token)).json()
    assert plain["credential"] is None  # only when asked: issuing keeps its pace


def test_credentials_asked_for_that_cannot_be_signed_are_refused_before_anything_is_issued(
    client: TestClient, ledger: Ledger, moci: RegisteredAgency
) -> None:
    refused = client.post("/v1/documents?credential=true", json=example("commercial-licence"), headers=auth(moci.token))
    assert refused.status_code == 409
    assert "no credential key valid now" in refused.json()["error"]["message"]
    queued = client.post(
        "/v1/documents?credential=true&wait=false", json=example("commercial-licence"), headers=auth(moci.token)
    )
    assert queued.status_code == 422
    assert "wait=true" in queued.json()["error"]["message"]
    assert [batch for batches in ledger.store.batch_summaries() for batch in batches] == []  # nothing issued
    assert ledger.queue.depth("moci") == 0


def test_a_credential_dated_before_its_document_was_anchored_is_refused(
    client: TestClient, ledger: Ledger, web3: Web3, moci: RegisteredAgency, credential_key: str
) -> None:
    key_row = ledger.credentials.get_key(credential_key)
    assert key_row is not None
    web3.provider.make_request(RPCEndpoint("evm_increaseTime"), [100])
    credential = get_credential(client, moci, issue(client, moci))
    private = ec.derive_private_key(
        int.from_bytes(ledger.vault.unseal(key_row.encrypted_key, key_row.key_id), "big"), ec.SECP256R1()
    )
    early = datetime.fromtimestamp(key_row.valid_from + 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    backdated = resigned(ledger, {**credential, "validFrom": early}, private, credential["proof"]["verificationMethod"])
    verdict = verify(client, backdated)
    assert verdict["status"] == "UNKNOWN_ISSUER"
    assert "before its document was anchored" in verdict["summary"]
