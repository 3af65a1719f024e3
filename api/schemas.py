"""Request and response bodies of the API (kept apart from storage models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger.usecases.issue_input import IssueInput

HASH_PATTERN = r"^(0x)?[0-9a-fA-F]{64}$"


class ErrorDetail(BaseModel):
    """What went wrong, in words a person can act on."""

    code: str = Field(description="A stable name of the error, e.g. schema_validation")
    message: str
    field: str | None = Field(default=None, description="The input at fault, when one is")


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_ERRORS = {
    400: "Malformed request, or the chain refused the change",
    401: "No API token, or one that is not valid (revoked keys say so)",
    403: "The API key lacks the scope, or the document belongs to another agency",
    404: "No such document, agency or key",
    410: "The service's copy of the document was erased (the holder's copy still verifies)",
    409: "The request clashes with the current state (already revoked, not anchored yet)",
    413: "The body is too large",
    422: "The input breaks a rule; `field` names it",
    429: "Too many requests from this API key or address; see Retry-After",
    502: "The chain answered with something unusable",
    503: "The chain or the store cannot serve now; see Retry-After",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description} for status, description in _ERRORS.items()
}


class Strict(BaseModel):
    """A body that refuses unknown fields, so typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid")


# The core's model, shared with `sijill issue`, under the name the OpenAPI document has always used.
class IssueDocumentBody(IssueInput):
    """One document to issue."""


class IssueBatchBody(Strict):
    """Several documents to issue under one anchor."""

    documents: list[IssueDocumentBody] = Field(min_length=1)


class AnchorOut(BaseModel):
    """Where a batch was anchored."""

    merkle_root: str
    transaction: str
    block_number: int
    anchored_at: datetime
    key: str
    expires_at: datetime | None


class IssuedDocumentOut(BaseModel):
    """An issued document: its target hash, its anchor and the wrapped document to hand out; with
    `credential=true`, its signed W3C credential too (or, should signing fail, why: ask again later)."""

    target_hash: str
    anchor: AnchorOut
    document: dict[str, Any]
    credential: dict[str, Any] | None = None
    credential_error: str | None = None


class IssuedBatchOut(BaseModel):
    """An issued batch: its anchor and every wrapped document, in request order; with `credential=true`,
    each one's credential in the same order (None where signing failed, with why in `credential_errors`)."""

    anchor: AnchorOut
    documents: list[dict[str, Any]]
    credentials: list[dict[str, Any] | None] | None = None
    credential_errors: list[str | None] | None = None


class AcceptedDocumentOut(BaseModel):
    """A document accepted into the issuance queue: where to follow it until it is anchored."""

    target_hash: str
    stage: str = Field(
        description="ACCEPTED, then PENDING (anchor sent), then ANCHORED (confirmed); if the registry refuses the "
        "batch for good (FAILED), the record answers 404 with the reason"
    )
    status_url: str
    document_url: str = Field(description="the wrapped document, once its batch is anchored")


class AcceptedBatchOut(BaseModel):
    """Documents accepted into the issuance queue, in request order."""

    documents: list[AcceptedDocumentOut]


class ReasonBody(Strict):
    """Why a document is revoked or suspended."""

    reason: str | int = Field(default="unspecified", examples=["superseded", "fraud", 3])


class StatusChangeOut(BaseModel):
    """A mined status change."""

    hash: str
    scope: str
    action: str
    status: str
    reason: str
    transaction: str
    block_number: int


class ObfuscateBody(Strict):
    """A wrapped document and the fields to hide."""

    document: dict[str, Any]
    fields: list[str] = Field(min_length=1, examples=[["subject.owner.nationalId"]])


class DeriveCredentialBody(Strict):
    """A holder's full credential and the claims to disclose (JSON pointers into it)."""

    credential: dict[str, Any]
    disclose: list[str] = Field(
        min_length=1,
        max_length=200,
        examples=[["/credentialSubject/licenceNumber", "/credentialSubject/tradeName"]],
        description="what to show besides what is always shown (issuer, type, validity, status, anchor)",
    )


class CredentialKeyOut(BaseModel):
    """A P-256 key that signs an agency's credentials (never its private part)."""

    key_id: str = Field(description="keccak256 of its compressed public key, as the registry names it")
    agency_id: str
    public_key: str = Field(description="its Multikey (z...)")
    verification_method: str
    valid_from: int
    valid_until: int | None


class RegisterAgencyBody(Strict):
    """A new agency."""

    agency_id: str = Field(examples=["moci"], description="2-31 characters: lowercase letters, digits, '-'")
    name: str = Field(min_length=1, max_length=200, examples=["Ministry of Commerce and Industry"])
    name_ar: str | None = Field(default=None, max_length=200, examples=["وزارة التجارة والصناعة"])
    domain: str | None = Field(
        default=None,
        max_length=253,
        examples=["moci.gov.qa"],
        description="Where the agency publishes its OpenAttestation DNS-TXT record",
    )


class AgencyOut(BaseModel):
    """An agency as the service knows it."""

    agency_id: str
    name: str
    name_ar: str | None
    domain: str | None
    keys: list[KeyOut] = []


class RegisteredAgencyOut(BaseModel):
    """A new agency with its API token (shown once)."""

    agency: AgencyOut
    token: str
    transaction: str | None = Field(description="The registration's transaction; null when it was on chain already")


class AddKeyBody(Strict):
    """The validity window of a new issuer key (unix seconds; 0 for now / no end)."""

    valid_from: int = Field(default=0, ge=0, lt=2**40)
    valid_until: int = Field(default=0, ge=0, lt=2**40)


class RetireKeyBody(Strict):
    """The new end of a key's window; omitted, the key retires now."""

    valid_until: int | None = Field(default=None, ge=0, lt=2**40)


class KeyOut(BaseModel):
    """An issuer key (never its private part)."""

    address: str
    agency_id: str
    valid_from: int
    valid_until: int | None


class RotateKeysBody(Strict):
    """How long the agency's current keys stay valid after the new one starts (seconds)."""

    overlap_seconds: int = Field(default=600, ge=0, le=30 * 24 * 3600)


class RotatedKeysOut(BaseModel):
    """The agency's new issuer key and the keys it replaces (what they issued stays valid)."""

    new_key: KeyOut
    retired: list[KeyOut]


class CreateApiKeyBody(Strict):
    """The scopes of a new API key, and a label to recognise it by."""

    scopes: list[str] = Field(
        min_length=1,
        max_length=4,
        description="issue, revoke, audit (agency); admin, audit, monitor (installation)",
    )
    label: str = Field(default="default", min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    """An API key (never its token: only a hash of it is kept)."""

    key_id: str
    agency_id: str | None
    relying_party_id: str | None = None
    label: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class CreatedApiKeyOut(BaseModel):
    """A new API key with its token, shown only here."""

    key: ApiKeyOut
    token: str


class AccessEntryOut(BaseModel):
    """One line of the access log: who, what, on which hash or agency, and the answer."""

    id: int
    at: datetime
    actor: str
    key_id: str | None
    agency_id: str | None
    action: str
    target: str | None
    status: int


class TxOut(BaseModel):
    """A mined transaction."""

    transaction: str
    block_number: int


AgencyOut.model_rebuild()


class ProposeBody(BaseModel):
    """A council action and its arguments (see `ledger.council.ACTIONS`)."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(max_length=40, examples=["admit-agency"])
    arguments: dict[str, Any] = Field(default_factory=dict, examples=[{"agency_id": "moci", "name": "Ministry"}])


class ApprovalOut(BaseModel):
    """One member's approval, as the chain recorded it."""

    member: str
    at: int


class ProposalOut(BaseModel):
    """A council proposal: its action in words, who approved it when, and when it can run."""

    id: int
    action: str
    words: str
    arguments: dict[str, Any]
    state: str
    approvals: list[ApprovalOut]
    threshold: int
    executable_at: int | None
    expires_at: int
    safe_nonce: int
    safe_hash: str
    scheduled_tx: str | None
    executed_tx: str | None


class RegisterRelyingPartyBody(Strict):
    """A service that will ask holders for verified documents."""

    id: str = Field(examples=["pearl-bank"], description="2-31 characters: lowercase letters, digits, '-'")
    name: str = Field(min_length=1, max_length=200, examples=["Pearl Bank"])
    name_ar: str = Field(min_length=1, max_length=200, examples=["بنك اللؤلؤ"])
    redirect_uris: list[str] = Field(
        default=[], max_length=10, description="Where a holder may be sent back after answering (https in production)"
    )
    callback_url: str | None = Field(default=None, description="Where each verified result is posted, if anywhere")


class RelyingPartyOut(BaseModel):
    """A relying party as the service knows it."""

    id: str
    name: str
    name_ar: str
    redirect_uris: list[str]
    callback_url: str | None


class RegisteredRelyingPartyOut(BaseModel):
    """A new relying party with its API token (scope relying-party, shown once)."""

    relying_party: RelyingPartyOut
    token: str
    key_id: str
    callback_secret: str | None = Field(
        description="Signs each result posted to the callback (X-Sijill-Signature: sha256=<HMAC-SHA256 hex>)"
    )


class RelyingPartyKeyBody(Strict):
    """A label to recognise a relying party's new key by."""

    label: str = Field(default="rotated", min_length=1, max_length=100)


class PurposeBody(Strict):
    """Why the relying party asks, in both languages: the holder reads it before consenting."""

    en: str = Field(min_length=1, max_length=500)
    ar: str = Field(min_length=1, max_length=500)


class CreatePresentationBody(Strict):
    """A presentation request: a DCQL query (OpenID4VP 1.0, section 6), its purpose, and decision rules."""

    dcql_query: dict[str, Any] = Field(
        description="credentials (format ldp_vc, meta.type_values, claims), credential_sets"
    )
    purpose: PurposeBody
    rules: list[dict[str, Any]] = Field(
        default=[], max_length=32, description="status, valid_for_days, or path with in"
    )
    redirect_uri: str | None = Field(default=None, description="One of the relying party's registered redirect URIs")
    ttl_seconds: int = Field(default=600, ge=60, le=3600)


class CreatedPresentationOut(BaseModel):
    """A new request: the holder opens the consent URL (or its QR code); a wallet takes the wallet URL."""

    id: str
    request_uri: str
    consent_url: str
    wallet_url: str
    qr_code: str = Field(description="The consent URL as a PNG QR code (a data: URI)")
    nonce: str
    expires_at: datetime


_HASH_PATTERN = r"^(0x)?[0-9a-fA-F]{64}$"


class AnchorQueryBody(Strict):
    """A document as the verification page sends it: its hashes and the claims naming its issuer and validity,
    never its fields (the page checked in the browser that the fields hash to `target_hash`)."""

    target_hash: str = Field(pattern=_HASH_PATTERN)
    merkle_root: str = Field(pattern=_HASH_PATTERN)
    proof: list[str] = Field(default=[], max_length=64, description="The Merkle proof's sibling hashes")
    chain_id: int | None = Field(default=None, description="data.sijill.chainId")
    registry: str | None = Field(default=None, max_length=42, description="data.sijill.registry")
    agency_id: str | None = Field(default=None, max_length=31, description="data.sijill.agencyId")
    document_store: str | None = Field(default=None, max_length=42, description="data.issuers[0].documentStore")
    issuer_name: str | None = Field(default=None, max_length=200, description="data.issuers[0].name")
    valid_until: str | None = Field(default=None, max_length=40, description="data.validUntil")
    document_type: str | None = Field(default=None, max_length=64, description="data.documentType")
    sijill_version: int | None = Field(default=None, description="data.sijill.version")
    type_binding: dict[str, Any] | None = Field(
        default=None, description="data.sijill.documentType: the registered type, version and definition hash"
    )
