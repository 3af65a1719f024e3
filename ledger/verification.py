"""Verification of a wrapped document against what the chain says. Pure.

`evaluate` runs every check in order and returns a `VerificationResult`: the
overall status and each check with its evidence. The use case in
`ledger.usecases.verify` gathers the chain evidence and calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ledger.documents.merkle import root_from_proof
from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import WrappedDocument
from ledger.domain import NO_END, AnchorView, ChainEvidence, ChainStatus, Network, ReasonCode, TypeRegistration
from ledger.errors import InvalidDocumentError


class VerificationStatus(StrEnum):
    """The verdict, from the most to the least severe failure."""

    VALID = "VALID"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    TAMPERED = "TAMPERED"
    NOT_ISSUED = "NOT_ISSUED"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"


class Outcome(StrEnum):
    """How one check ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    """One check: its name, outcome, a sentence for people and its evidence."""

    name: str
    outcome: Outcome
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict on one document, with every check behind it."""

    status: VerificationStatus
    summary: str
    target_hash: str | None
    merkle_root: str | None
    checks: tuple[Check, ...]
    checked_at: datetime
    issuer: dict[str, Any] | None = None
    anchor: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        """True only for `VerificationStatus.VALID`."""
        return self.status is VerificationStatus.VALID

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data: what the API answers and `sijill verify --json` prints."""
        return {
            "status": self.status.value,
            "valid": self.valid,
            "summary": self.summary,
            "target_hash": self.target_hash,
            "merkle_root": self.merkle_root,
            "issuer": self.issuer,
            "anchor": self.anchor,
            "checked_at": self.checked_at.isoformat(),
            "checks": [{**asdict(check), "outcome": check.outcome.value} for check in self.checks],
        }


def document_claims(document: WrappedDocument) -> dict[str, Any]:
    """The unsalted Sijill claims of a document: chain, registry, agency, type, validity."""
    return claims_of(unsalt_data(document.data))


def claims_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """The Sijill claims of a document's unsalted data (`document_claims`)."""
    raw_sijill, raw_issuers = data.get("sijill"), data.get("issuers")
    sijill: dict[str, Any] = raw_sijill if isinstance(raw_sijill, dict) else {}
    issuers: list[Any] = raw_issuers if isinstance(raw_issuers, list) else []
    issuer: dict[str, Any] = issuers[0] if issuers and isinstance(issuers[0], dict) else {}
    return {
        "chain_id": sijill.get("chainId"),
        "registry": sijill.get("registry"),
        "agency_id": sijill.get("agencyId"),
        "document_store": issuer.get("documentStore"),
        "issuer_name": issuer.get("name"),
        "document_type": data.get("documentType"),
        "valid_until": data.get("validUntil"),
        "sijill_version": sijill.get("version"),
        "type_binding": sijill.get("documentType"),
    }


def type_claim(claims: Mapping[str, Any]) -> tuple[str, int] | None:
    """The registered type and version a document claims (``sijill.documentType``), None when it claims
    none or claims it malformed."""
    binding = claims.get("type_binding")
    if not isinstance(binding, Mapping):
        return None
    type_id, version = binding.get("id"), binding.get("version")
    if not isinstance(type_id, str) or isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return None
    if not 3 <= len(type_id) <= 32 or not type_id.isascii():
        return None
    return type_id, version


def never_hidden_check(data: Mapping[str, Any], claims: Mapping[str, Any]) -> Check | None:
    """Does the copy show every field its type says a holder may never hide? None when the document
    names no such fields (a document issued before types were registered, or a type without any)."""
    binding = claims.get("type_binding")
    paths = binding.get("neverHidden") if isinstance(binding, Mapping) else None
    if not isinstance(paths, list) or not paths:
        return None
    hidden = [path for path in paths if not isinstance(path, str) or not _visible(data, path)]
    return Check(
        "never_hidden",
        Outcome.FAILED if hidden else Outcome.PASSED,
        f"the copy hides {', '.join(map(str, hidden))}, which its type says no holder may hide"
        if hidden
        else "every field the type says no holder may hide is shown",
        {"never_hidden": paths, "hidden": hidden},
    )


def _visible(data: Any, path: str) -> bool:
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def integrity_checks(document: WrappedDocument) -> list[Check]:
    """The two offline checks: target hash over the data, proof up to the root."""
    try:
        computed = document.computed_target_hash()
    except InvalidDocumentError as error:
        computed = f"(cannot be calculated: {error.message})"
    checks = [
        Check(
            "integrity",
            Outcome.PASSED if computed == document.target_hash else Outcome.FAILED,
            "the content matches its target hash"
            if computed == document.target_hash
            else f"the content was altered: expected target hash {document.target_hash}, calculated {computed}",
            {"expected_target_hash": document.target_hash, "calculated_target_hash": computed},
        )
    ]
    checks.append(proof_check(document.merkle_root, document.computed_root()))
    return checks


def proof_check(stated_root: str, root: str) -> Check:
    """Does the Merkle proof lead from the target hash to the root the document states?"""
    return Check(
        "merkle_proof",
        Outcome.PASSED if root == stated_root else Outcome.FAILED,
        "the proof links the document to its batch root"
        if root == stated_root
        else f"the proof does not lead to the stated root: expected {stated_root}, calculated {root}",
        {"expected_merkle_root": stated_root, "calculated_merkle_root": root},
    )


def network_check(claims: Mapping[str, Any], network: Network) -> Check:
    """Does the document name the chain and registry this installation trusts?"""
    evidence = {
        "document_chain_id": claims["chain_id"],
        "document_registry": claims["registry"],
        "trusted_chain_id": network.chain_id,
        "trusted_registry": network.registry,
    }
    registry = str(claims["registry"] or "").lower()
    store = str(claims["document_store"] or "").lower()
    if claims["chain_id"] != network.chain_id or registry != network.registry.lower():
        return Check(
            "network",
            Outcome.FAILED,
            f"the document names chain {claims['chain_id']} and registry {claims['registry']}, "
            f"but this service trusts chain {network.chain_id} and registry {network.registry}",
            evidence,
        )
    if store != registry:
        return Check(
            "network",
            Outcome.FAILED,
            f"the issuer's document store {claims['document_store']} is not the registry {claims['registry']}",
            evidence,
        )
    return Check("network", Outcome.PASSED, "the document names the trusted chain and registry", evidence)


def ledger_read_check(read: Mapping[str, Any]) -> Check:
    """The check that says how the chain was read when no single node decided (quorum, proofs, a pin)."""
    agreed, block = read["agreed"], read["block_number"]
    how = [f"{len(agreed)} of the ledger's endpoints agree on block {block} ({read['block_hash']})"]
    if read["pinned_to_checkpoint"]:
        how.append("the block an auditor's signed checkpoint vouches for")
    if read["proof"]:
        how.append(f"the registry's answer is proven against its state root ({read['proven_by']}'s proofs)")
    if len(agreed) == 1 and not read["pinned_to_checkpoint"]:
        how.append("one endpoint alone vouches for the block: a quorum or an auditor's checkpoint would check it")
    return Check("ledger_read", Outcome.PASSED, "; ".join(how), dict(read))


def evaluate(
    document: WrappedDocument,
    *,
    network: Network,
    fetch_evidence: Callable[[], ChainEvidence],
    now: datetime,
) -> VerificationResult:
    """Run every check on `document` and decide its status.

    `fetch_evidence` reads what the chain says about the document; it is called
    only once the offline checks pass, and its errors (chain down) propagate. The order of precedence is
    TAMPERED, UNKNOWN_ISSUER (network), NOT_ISSUED, UNKNOWN_ISSUER (agency or key),
    REVOKED, SUSPENDED, EXPIRED, VALID.
    """
    # 1. Offline integrity: the data hashes to the target hash, the proof to the root.
    checks = integrity_checks(document)
    base = {"target_hash": document.target_hash, "merkle_root": document.merkle_root, "checked_at": now}
    if any(check.outcome is Outcome.FAILED for check in checks):
        return verdict(VerificationStatus.TAMPERED, checks, base, "the document was altered after it was issued")

    # 2. The copy must show what its type says no holder may hide.
    data = unsalt_data(document.data)
    claims = claims_of(data)
    shown = never_hidden_check(data, claims)
    if shown is not None:
        checks.append(shown)
        if shown.outcome is Outcome.FAILED:
            return verdict(VerificationStatus.TAMPERED, checks, base, shown.message)

    # 3. The document must belong to the trusted network.
    network_result = network_check(claims, network)
    checks.append(network_result)
    if network_result.outcome is Outcome.FAILED:
        return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, network_result.message)
    return judge_on_chain(checks, base, claims, fetch_evidence(), now)


def evaluate_anchor(
    *,
    target_hash: str,
    merkle_root: str,
    proof: Sequence[str],
    claims: Mapping[str, Any],
    network: Network,
    fetch_evidence: Callable[[], ChainEvidence],
    now: datetime,
) -> VerificationResult:
    """The verdict on a document known by its target hash, Merkle proof and root, and the claims that name
    its issuer and validity (`document_claims`' keys), never by its fields: what the verification page asks
    once it has found in the browser that the content hashes to `target_hash`. The same checks and order
    as `evaluate` after the content's own.
    """
    checks = [proof_check(merkle_root, root_from_proof(target_hash, proof))]
    base = {"target_hash": target_hash, "merkle_root": merkle_root, "checked_at": now}
    if checks[0].outcome is Outcome.FAILED:
        return verdict(VerificationStatus.TAMPERED, checks, base, "the document was altered after it was issued")
    network_result = network_check(claims, network)
    checks.append(network_result)
    if network_result.outcome is Outcome.FAILED:
        return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, network_result.message)
    return judge_on_chain(checks, base, claims, fetch_evidence(), now)


def judge_on_chain(
    checks: list[Check], base: dict[str, Any], claims: Mapping[str, Any], evidence: ChainEvidence, now: datetime
) -> VerificationResult:
    """The chain's part of a verdict, after the offline checks (`checks`) passed: anchored, by the agency
    `claims` names with a key valid then, not revoked, not suspended, not expired (by the anchor or
    `claims`' ``valid_until``). `base` holds the target hash, Merkle root and time of the check."""
    view = evidence.view
    if evidence.read is not None:
        checks.append(ledger_read_check(evidence.read))

    # 3. The root must be anchored.
    anchored = view.batch_status is not ChainStatus.NONE
    anchor = {
        "block_number": view.anchored_block,
        "transaction": evidence.anchor_tx,
        "anchored_at": _iso(view.anchored_at),
        "expires_at": _iso(view.expires_at) if view.expires_at else None,
        "key": view.key,
        "document_count": view.document_count,
        "read_at_block": evidence.read_at_block,
    }
    checks.append(
        Check(
            "anchored",
            Outcome.PASSED if anchored else Outcome.FAILED,
            f"the batch root was anchored in block {view.anchored_block}"
            if anchored
            else "the registry holds no anchor for this document's root",
            {**anchor, "merkle_root": base["merkle_root"]} if anchored else {"merkle_root": base["merkle_root"]},
        )
    )
    if not anchored:
        return verdict(VerificationStatus.NOT_ISSUED, checks, base, "the document was never issued on this registry")
    base["anchor"] = anchor

    # 4. The anchoring agency must be the one the document names, with a valid key.
    issuer = {"agency_id": view.agency_id, "name": evidence.agency_name, "claimed_name": claims["issuer_name"]}
    base["issuer"] = issuer
    agency_ok = view.agency_id is not None and view.agency_id == claims["agency_id"]
    checks.append(
        Check(
            "issuer",
            Outcome.PASSED if agency_ok else Outcome.FAILED,
            f"issued by the registered agency '{view.agency_id}' ({evidence.agency_name})"
            if agency_ok
            else f"the document claims agency '{claims['agency_id']}' but was anchored by '{view.agency_id}'",
            issuer,
        )
    )
    key_ok = view.key_valid_from <= view.anchored_at < view.key_valid_until
    checks.append(
        Check(
            "issuer_key",
            Outcome.PASSED if key_ok else Outcome.FAILED,
            f"key {view.key} was authorized for the agency when it anchored the document"
            if key_ok
            else f"key {view.key} was outside its validity window when it anchored the document",
            {
                "key": view.key,
                "valid_from": _iso(view.key_valid_from),
                "valid_until": None if view.key_valid_until >= NO_END else _iso(view.key_valid_until),
                "anchored_at": _iso(view.anchored_at),
                "valid_at_anchor": key_ok,
            },
        )
    )
    if not agency_ok or not key_ok:
        failed = next(c for c in checks if c.outcome is Outcome.FAILED)
        return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, failed.message)

    # 4b. The document's type: registered with this definition, by this agency or shared, before the anchor.
    if "type_binding" in claims:
        checked_type = type_check(claims, evidence.type_registration, view)
        checks.append(checked_type)
        if checked_type.outcome is Outcome.FAILED:
            return verdict(VerificationStatus.UNKNOWN_ISSUER, checks, base, checked_type.message)

    # 5. Revocation and suspension, of the batch or of this document alone.
    status, reason, scope = current_status(view)
    document_status = own_document_status(view)
    revoked = status is ChainStatus.REVOKED
    suspended = status is ChainStatus.SUSPENDED
    status_evidence = {
        "batch_status": view.batch_status.name,
        "document_status": document_status.name,
        "reason": reason_name(reason) if revoked or suspended else None,
        "scope": scope,
    }
    checks.append(
        Check(
            "not_revoked",
            Outcome.FAILED if revoked else Outcome.PASSED,
            f"the {scope} was revoked ({reason_name(reason)})" if revoked else "not revoked",
            status_evidence,
        )
    )
    checks.append(
        Check(
            "not_suspended",
            Outcome.FAILED if suspended else Outcome.PASSED,
            f"the {scope} is suspended ({reason_name(reason)})" if suspended else "not suspended",
            status_evidence,
        )
    )

    # 6. Expiry: the anchor's and the one written in the document.
    expiry_check = _expiry_check(view.expires_at, claims["valid_until"], now)
    checks.append(expiry_check)

    if revoked:
        return verdict(VerificationStatus.REVOKED, checks, base, checks[-3].message)
    if suspended:
        return verdict(VerificationStatus.SUSPENDED, checks, base, checks[-2].message)
    if expiry_check.outcome is Outcome.FAILED:
        return verdict(VerificationStatus.EXPIRED, checks, base, expiry_check.message)
    return verdict(VerificationStatus.VALID, checks, base, f"issued by {evidence.agency_name} and valid")


def type_check(claims: Mapping[str, Any], registration: TypeRegistration | None, view: AnchorView) -> Check:
    """Was the type version the document claims registered, with the definition hash it claims, by the
    anchoring agency (or shared), before the anchor? Skipped for a document issued before types were
    registered (``sijill.version`` 1), which claims none."""
    binding, claimed = claims.get("type_binding"), type_claim(claims)
    version = claims.get("sijill_version")
    if binding is None and isinstance(version, int) and not isinstance(version, bool) and version < 2:
        return Check(
            "document_type",
            Outcome.SKIPPED,
            "issued before document types were registered on the ledger: its type is not checked",
            {"sijill_version": version, "document_type": claims.get("document_type")},
        )
    definition = binding.get("definition") if isinstance(binding, Mapping) else None
    evidence: dict[str, Any] = {"claimed": binding}
    if claimed is None or not isinstance(definition, str) or claimed[0] != claims.get("document_type"):
        why = "its type's registration is hidden or malformed" if claimed is None else "it names two types"
        return Check(
            "document_type", Outcome.FAILED, f"the document cannot be tied to a registered type: {why}", evidence
        )
    type_id, type_version = claimed
    if registration is None or not registration.registered:
        return Check(
            "document_type",
            Outcome.FAILED,
            f"version {type_version} of document type '{type_id}' was never registered on the ledger",
            evidence,
        )
    owner = registration.owner
    evidence |= {
        "registered_definition": registration.definition_hash,
        "owner": owner if owner is not None else "shared",
        "registered_at": _iso(registration.registered_at),
        "anchored_at": _iso(view.anchored_at),
        "versions": registration.versions,
    }
    if definition.lower() != str(registration.definition_hash).lower():
        return Check(
            "document_type",
            Outcome.FAILED,
            f"the document claims definition {definition} for version {type_version} of '{type_id}', but the "
            f"ledger registered {registration.definition_hash}",
            evidence,
        )
    if owner is not None and owner != view.agency_id:
        return Check(
            "document_type",
            Outcome.FAILED,
            f"document type '{type_id}' belongs to agency '{owner}', not to the issuing agency '{view.agency_id}'",
            evidence,
        )
    if registration.registered_at > view.anchored_at:
        return Check(
            "document_type",
            Outcome.FAILED,
            f"version {type_version} of '{type_id}' was registered at {_iso(registration.registered_at)}, after the "
            f"document was anchored ({_iso(view.anchored_at)})",
            evidence,
        )
    whose = "a shared type" if owner is None else f"agency '{owner}'"
    return Check(
        "document_type",
        Outcome.PASSED,
        f"'{type_id}' version {type_version} ({whose}) was registered with this definition before the anchor",
        evidence,
    )


def own_document_status(view: AnchorView) -> ChainStatus:
    """The document's own record, if the anchoring agency wrote it; another agency's is ignored."""
    own = view.document_agency_id is None or view.document_agency_id == view.agency_id
    return view.document_status if own else ChainStatus.NONE


def current_status(view: AnchorView) -> tuple[ChainStatus, int, str]:
    """The status that applies to a document, its reason, and whether it came from the batch or the document.

    Revocation outranks suspension; the batch's record applies to every document in it.
    """
    batch, document = view.batch_status, own_document_status(view)
    batch_scope = "batch" if view.document_count > 1 else "document"
    if batch is ChainStatus.REVOKED:
        return batch, view.batch_reason, batch_scope
    if document is ChainStatus.REVOKED:
        return document, view.document_reason, "document"
    if batch is ChainStatus.SUSPENDED:
        return batch, view.batch_reason, batch_scope
    if document is ChainStatus.SUSPENDED:
        return document, view.document_reason, "document"
    return ChainStatus.ACTIVE, 0, "document"


def _expiry_check(expires_at: int, valid_until: Any, now: datetime) -> Check:
    deadlines: list[datetime] = []
    if expires_at:
        deadlines.append(datetime.fromtimestamp(expires_at, UTC))
    if isinstance(valid_until, str):
        try:
            parsed = datetime.fromisoformat(valid_until.replace("Z", "+00:00"))
            deadlines.append(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
        except ValueError:
            pass
    evidence = {"expires_at": min(deadlines).isoformat() if deadlines else None, "now": now.isoformat()}
    if deadlines and now >= min(deadlines):
        return Check("not_expired", Outcome.FAILED, f"expired on {min(deadlines).isoformat()}", evidence)
    return Check("not_expired", Outcome.PASSED, "does not expire" if not deadlines else "not expired", evidence)


def reason_name(reason: int) -> str:
    """The name of a reason code, e.g. ``superseded``."""
    try:
        return ReasonCode(reason).name.lower()
    except ValueError:
        return f"reason {reason}"


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def verdict(status: VerificationStatus, checks: list[Check], base: dict[str, Any], summary: str) -> VerificationResult:
    """The result of the checks so far: `base` holds the target hash, Merkle root, time of the check and,
    once known, the issuer and the anchor."""
    return VerificationResult(
        status=status,
        summary=summary,
        target_hash=base["target_hash"],
        merkle_root=base["merkle_root"],
        checks=tuple(checks),
        checked_at=base["checked_at"],
        issuer=base.get("issuer"),
        anchor=base.get("anchor"),
    )
