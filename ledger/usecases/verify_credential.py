"""Verifying a Verifiable Credential that Sijill issued (the holder's full copy or a derived selection).

The verdicts are a wrapped document's: the proof must hold (TAMPERED), the credential must name the
trusted chain and registry and a credential key the chain held for its agency when the credential
says it was issued (UNKNOWN_ISSUER), and the anchor it stands for decides the rest, read from the
chain as for a wrapped document. The agency's status list is compared with the chain; where they
differ, the chain decides and the verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ledger.audit.status_lists import PURPOSES
from ledger.chain.quorum import PinnedBlock
from ledger.errors import InvalidRequestError, LedgerNodesDisagreeError
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import key_id_of, status_list_url
from ledger.usecases.sharing import read_document_file
from ledger.usecases.status_lists import chain_status
from ledger.usecases.verify import chain_evidence, verify_document
from ledger.vc.rdf import check_shape
from ledger.vc.reading import CredentialClaims, check_proof, read_claims
from ledger.vc.status_list import MIN_ENTRIES
from ledger.verification import Check, Outcome, VerificationResult, VerificationStatus, judge_on_chain, verdict


def _iso(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def verify_credential(ledger: Ledger, credential: Any, *, pinned: PinnedBlock | None = None) -> VerificationResult:
    """Verify a Sijill credential against its proof and the chain.

    Raises `CredentialError` when it is not a credential Sijill issued at all (no anchor named, no
    readable proof); `ChainUnavailableError`, `NodeAnswerError` and `LedgerNodesDisagreeError` as
    `verify_document` does. Every other problem is a verdict (TAMPERED, UNKNOWN_ISSUER, REVOKED, ...).
    """
    claims = read_claims(credential)
    now = ledger.clock()
    base: dict[str, Any] = {"target_hash": claims.target_hash, "merkle_root": claims.merkle_root, "checked_at": now}
    # 1. The proof, offline: every disclosed statement is the issuer's.
    proof = check_proof(credential, claims, ledger.contexts)
    checks = [
        Check(
            "proof",
            Outcome.PASSED if proof.verified else Outcome.FAILED,
            ("the holder's selection is signed by the issuer" if claims.derived else "signed by the issuer")
            if proof.verified
            else f"the credential was altered: {proof.reason}",
            proof.as_dict(),
        )
    ]
    if not proof.verified:
        return verdict(VerificationStatus.TAMPERED, checks, base, "the credential was altered after it was issued")
    return _judge(ledger, claims, checks, base, pinned)


def verify_credential_anchor(ledger: Ledger, credential: Any) -> VerificationResult:
    """The verdict on a credential whose proof the verifier checked itself (the verification page, in the
    browser), sent without its claims and without the proof's value: its anchor, issuer, validity, status
    entries and the proof's key, judged as `verify_credential` judges them after the proof.

    Raises `InvalidRequestError` when the claims or the proof's value were sent after all, and as
    `verify_credential` does.
    """
    if not isinstance(credential, dict) or "credentialSubject" in credential:
        raise InvalidRequestError(
            "send the credential without its credentialSubject: its claims stay with the verifier", field="credential"
        )
    if isinstance(credential.get("proof"), dict) and "proofValue" in credential["proof"]:
        raise InvalidRequestError("send the proof without its proofValue: the verifier checks it", field="credential")
    check_shape(credential, ledger.contexts)  # what is left of it: known contexts only, no keyword, no null
    claims = read_claims(credential)
    base: dict[str, Any] = {
        "target_hash": claims.target_hash,
        "merkle_root": claims.merkle_root,
        "checked_at": ledger.clock(),
    }
    return _judge(ledger, claims, [], base, None)


def _judge(
    ledger: Ledger, claims: CredentialClaims, checks: list[Check], base: dict[str, Any], pinned: PinnedBlock | None
) -> VerificationResult:
    """Steps 2 to 5 of a credential's verdict, once its proof holds."""
    now = base["checked_at"]
    # 2. The trusted chain and registry.
    network = ledger.network
    same = claims.chain_id == network.chain_id and (claims.registry or "").lower() == network.registry.lower()
    checks.append(
        Check(
            "network",
            Outcome.PASSED if same else Outcome.FAILED,
            "the credential names the trusted chain and registry"
            if same
            else f"the credential names chain {claims.chain_id} and registry {claims.registry}, but this service "
            f"trusts chain {network.chain_id} and registry {network.registry}",
            {"credential_chain_id": claims.chain_id, "credential_registry": claims.registry},
        )
    )
    if not same:
        return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, checks[-1].message)
    try:
        # 3. The credential key, on chain: whose it is, and valid when the credential says it was issued.
        key_check, agency_id = _credential_key_check(ledger, claims)
        checks.append(key_check)
        if key_check.outcome is Outcome.FAILED:
            return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, key_check.message)
        # 4. The anchor it stands for, as for a wrapped document.
        evidence = chain_evidence(ledger, claims.target_hash, claims.merkle_root, pinned=pinned)
        anchored_at = evidence.view.anchored_at
        if anchored_at and claims.valid_from < anchored_at:  # signed for an anchor that did not exist yet
            checks.append(
                Check(
                    "credential_date",
                    Outcome.FAILED,
                    f"the credential says it was issued at {_iso(claims.valid_from)}, before its document was "
                    f"anchored ({_iso(anchored_at)})",
                    {"credential_valid_from": _iso(claims.valid_from), "anchored_at": _iso(anchored_at)},
                )
            )
            return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, checks[-1].message)
        on_chain = {"agency_id": agency_id, "issuer_name": None, "valid_until": claims.valid_until}
        result = judge_on_chain(checks, base, on_chain, evidence, now)
        # 5. The status lists beside the chain.
        listed = _status_list_check(ledger, claims, result)
        summary = result.summary + (f" ({listed.message})" if listed.outcome is Outcome.FAILED else "")
        result = replace(result, checks=(*result.checks, listed), summary=summary)
    except LedgerNodesDisagreeError:
        ledger.metrics.nodes_disagreed()
        raise
    ledger.metrics.verdict(result.status.value)
    return result


def _credential_key_check(ledger: Ledger, claims: CredentialClaims) -> tuple[Check, str | None]:
    key_id = key_id_of(claims.public_key)
    info = ledger.registry.credential_key(key_id)
    agency_id = claims.agency_id or info.agency_id
    evidence = {
        "verification_method": claims.verification_method,
        "key_id": key_id,
        "agency_id": info.agency_id,
        "valid_from": _iso(info.valid_from) if info.agency_id else None,
        "valid_until": _iso(info.valid_until) if info.agency_id and info.valid_until < 2**40 - 1 else None,
        "credential_valid_from": _iso(claims.valid_from),
    }
    if info.agency_id is None:
        message = f"the key {claims.verification_method} is not a credential key on the registry"
    elif info.agency_id != agency_id:
        message = f"the issuer {claims.issuer} names agency '{agency_id}', but the key is agency '{info.agency_id}''s"
    elif not info.valid_at(claims.valid_from):
        message = f"agency '{agency_id}''s key was not valid at the credential's validFrom ({_iso(claims.valid_from)})"
    else:
        return Check(
            "credential_key", Outcome.PASSED, f"signed with a key of agency '{agency_id}' valid then", evidence
        ), agency_id
    return Check("credential_key", Outcome.FAILED, message, evidence), agency_id


def _status_list_check(ledger: Ledger, claims: CredentialClaims, result: VerificationResult) -> Check:
    """What the agency's status lists say of the credential beside what the chain says (the chain decides)."""
    outcomes = {check.name: check.outcome for check in result.checks}
    if "not_revoked" not in outcomes:
        return Check("status_list", Outcome.SKIPPED, "no status to compare: the chain holds no valid anchor", {})
    chain = (outcomes["not_revoked"] is Outcome.FAILED, outcomes["not_suspended"] is Outcome.FAILED)
    kept = ledger.credentials.get(claims.target_hash)
    entries = {entry.get("statusPurpose"): entry for entry in claims.status}
    if kept is None or set(entries) != set(PURPOSES):
        return Check("status_list", Outcome.SKIPPED, "the status lists are not this service's; the chain decided", {})
    number, offset = divmod(kept.status_index, MIN_ENTRIES)
    expected = {purpose: status_list_url(ledger, kept.agency_id, purpose, number) for purpose in PURPOSES}
    named = {
        purpose: (entry.get("statusListCredential"), str(entry.get("statusListIndex")))
        for purpose, entry in entries.items()
    }
    evidence: dict[str, Any] = {"lists": expected, "index": offset}
    if any(named[purpose] != (expected[purpose], str(offset)) for purpose in PURPOSES):
        return Check(
            "status_list",
            Outcome.FAILED,
            "the credential's status entries are not those the agency gave it; the chain decided",
            {**evidence, "named": named},
        )

    listed = chain_status(ledger, claims.target_hash, kept.batch_root)
    evidence["list"] = {"revoked": listed[0], "suspended": listed[1]}
    evidence["chain"] = {"revoked": chain[0], "suspended": chain[1]}
    if listed[0] != chain[0] or (listed[1] != chain[1] and not chain[0]):
        return Check(
            "status_list", Outcome.FAILED, "the status lists and the chain disagree; the chain decided", evidence
        )
    return Check("status_list", Outcome.PASSED, "the agency's status lists agree with the chain", evidence)


def is_credential(submitted: Any) -> bool:
    """Whether a submitted JSON object is a Verifiable Credential (else it is read as a wrapped document)."""
    if not isinstance(submitted, dict) or "@context" not in submitted:
        return False
    kinds = submitted.get("type")
    return "VerifiableCredential" in (kinds if isinstance(kinds, list) else [kinds])


def verify_submission(ledger: Ledger, submitted: Any, *, pinned: PinnedBlock | None = None) -> VerificationResult:
    """Verify what a relying party submitted: a Sijill credential, or a wrapped document.

    Raises as `verify_credential` or `verify_document` does.
    """
    if is_credential(submitted):
        return verify_credential(ledger, submitted, pinned=pinned)
    return verify_document(ledger, submitted, pinned=pinned)


@dataclass(frozen=True, slots=True)
class FileVerification:
    """The verdict on an uploaded file, and the wrapped document it held."""

    result: VerificationResult
    document: dict[str, Any]


def verify_file(ledger: Ledger, content: bytes) -> FileVerification:
    """Verify an uploaded file: a JSON credential or wrapped document, or a Sijill PDF."""
    document = read_document_file(content)
    return FileVerification(result=verify_submission(ledger, document), document=document)
