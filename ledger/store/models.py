"""Storage models. The API never returns these directly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that reads back timezone-aware (UTC) on every database; SQLite drops the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Base of every table."""


class AgencyRow(Base):
    """An agency known to this installation."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(31), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str | None] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKeyRow(Base):
    """An API key: an agency's (`agency_id` set), a relying party's (`relying_party_id` set) or the
    installation's; only its Argon2id hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    relying_party_id: Mapped[str | None] = mapped_column(ForeignKey("relying_parties.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="default")
    scopes: Mapped[str] = mapped_column(String(64))  # space-separated
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AccessRow(Base):
    """Who did or read what, and the answer: key ids, agency ids and hashes, nothing personal."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(12))
    agency_id: Mapped[str | None] = mapped_column(String(31), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(66))
    status: Mapped[int] = mapped_column(Integer)


class AgencyAdminRow(Base):
    """The key this installation keeps for an agency's admin, which manages that agency's issuer keys.

    Encrypted at rest like the issuer keys. An agency that holds its own admin key (or
    its own multisig) has no row here.
    """

    __tablename__ = "agency_admins"

    agency_id: Mapped[str] = mapped_column(String(31), primary_key=True)  # kept before the council admits it
    address: Mapped[str] = mapped_column(String(42), unique=True)
    encrypted_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProposalRow(Base):
    """A council proposal: one action, the Safe transaction that schedules it, and how far it got.

    The chain holds the approvals and the schedule; this row holds what is needed to
    rebuild the calls (target, calldata, salt, Safe nonce) and what was seen of them.
    """

    __tablename__ = "council_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(40))
    arguments: Mapped[str] = mapped_column(Text)  # sorted JSON
    words: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(42))
    calldata: Mapped[str] = mapped_column(Text)  # 0x hex
    salt: Mapped[str] = mapped_column(String(66))
    delay: Mapped[int] = mapped_column(BigInteger)
    safe_nonce: Mapped[int] = mapped_column(BigInteger)
    safe_hash: Mapped[str] = mapped_column(String(66), unique=True)
    proposed_by: Mapped[str] = mapped_column(String(42))
    proposed_block: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[int] = mapped_column(BigInteger)  # unix time: no approval after it
    scheduled_tx: Mapped[str | None] = mapped_column(String(66))
    executed_tx: Mapped[str | None] = mapped_column(String(66))


class IssuerKeyRow(Base):
    """An issuer key, with its private key encrypted at rest."""

    __tablename__ = "issuer_keys"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    encrypted_key: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BatchRow(Base):
    """A batch of documents under one Merkle root, from intent to anchor."""

    __tablename__ = "batches"

    root: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    key_address: Mapped[str] = mapped_column(String(42))
    document_count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    reason: Mapped[int] = mapped_column(Integer, default=0)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    anchored_at: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentRow(Base):
    """One wrapped document of a batch."""

    __tablename__ = "documents"

    target_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch_root: Mapped[str] = mapped_column(ForeignKey("batches.root"), index=True)
    document_type: Mapped[str] = mapped_column(String(64))
    proof: Mapped[list[str]] = mapped_column(JSON)
    wrapped: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    reason: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusChangeRow(Base):
    """One revocation, suspension or reinstatement, as sent to the chain."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hash: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(64))
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ShareRow(Base):
    """A document sealed under a key only its verification link carries."""

    __tablename__ = "shares"

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QueuedDocumentRow(Base):
    """A document accepted for issuance, salted, waiting for its batch."""

    __tablename__ = "queued_documents"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    document_type: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    salted: Mapped[dict[str, Any]] = mapped_column(JSON)
    accepted_at: Mapped[float] = mapped_column(Float)


class TransactionRow(Base):
    """A signed transaction, recorded before it is broadcast (the outbox)."""

    __tablename__ = "transactions"

    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    key_address: Mapped[str] = mapped_column(String(42), index=True)
    nonce: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str | None] = mapped_column(String(64), index=True)
    raw: Mapped[str] = mapped_column(Text)
    max_fee: Mapped[str] = mapped_column(String(80))  # wei, in decimal: exact in every database
    priority_fee: Mapped[str] = mapped_column(String(80))
    # signed -> sent -> mined -> final; or superseded (another transaction took its nonce)
    state: Mapped[str] = mapped_column(String(16), index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    sent_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class KeyNonceRow(Base):
    """The next nonce each issuer key will sign with: allocated here, never twice."""

    __tablename__ = "key_nonces"

    key_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class LeaseRow(Base):
    """Who holds a piece of work (an agency's batching and sending) and until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[float] = mapped_column(Float)


class CredentialKeyRow(Base):
    """A P-256 key that signs an agency's Verifiable Credentials, sealed at rest like the issuer keys.

    `key_id` is the keccak256 of its compressed public key, which is how the registry knows it.
    """

    __tablename__ = "credential_keys"

    key_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # its Multikey (z...)
    encrypted_key: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CredentialRow(Base):
    """A document's signed credential and its entry in its agency's status lists (never given to another).

    Erasing the document clears `credential`; the row, and so its index, stays taken.
    """

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("agency_id", "status_index"),)

    target_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    batch_root: Mapped[str] = mapped_column(String(64))
    status_index: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(66))
    credential: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RelyingPartyRow(Base):
    """A service that asks holders for verified documents (a bank, a ministry, an employer)."""

    __tablename__ = "relying_parties"

    id: Mapped[str] = mapped_column(String(31), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)  # where a holder may be sent back after answering
    callback_url: Mapped[str | None] = mapped_column(String(2000))  # where a result is posted, if anywhere
    callback_secret: Mapped[str | None] = mapped_column(Text)  # signs what is posted there; sealed by the key vault
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PresentationRequestRow(Base):
    """A relying party's request for documents (OpenID4VP), its single-use state and nonce, and its result
    (kept until the relying party collects it: the service keeps no claim after that)."""

    __tablename__ = "presentation_requests"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    relying_party_id: Mapped[str] = mapped_column(ForeignKey("relying_parties.id"), index=True)
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    purpose: Mapped[dict[str, str]] = mapped_column(JSON)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    redirect_uri: Mapped[str | None] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # a PresentationState
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    collected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refusals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # answers refused, and why
    response_code: Mapped[str | None] = mapped_column(String(43))  # given to the holder's browser with the redirect


class DocumentTypeRow(Base):
    """One version of a document type registered through this installation: its definition as registered
    (the registry holds its hash) and the registration's transaction. The types Sijill ships are not here:
    the registry was born with them."""

    __tablename__ = "document_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(31))  # the agency; None for a shared (council) type
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    definition_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    registered_at: Mapped[int] = mapped_column(BigInteger)  # the registry's time of registration
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("type_id", "version", name="uq_document_types_version"),)


class IssuanceJobRow(Base):
    """A spreadsheet issued row by row: its file, mapping, progress and state (`JobState`)."""

    __tablename__ = "issuance_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    document_type: Mapped[str] = mapped_column(String(32))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)  # the ColumnMap: type and columns
    source_name: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_path: Mapped[str] = mapped_column(Text)  # the file, kept under the data folder until the job ends
    state: Mapped[str] = mapped_column(String(16), index=True)
    last_row: Mapped[int] = mapped_column(Integer, default=0)  # the sheet row up to which rows are recorded
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_invalid: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IssuanceJobEntryRow(Base):
    """One sheet row of a job: the document it became (its target hash), or the problems that kept it out.
    Written in the transaction that queues its document, so a row is issued once whatever stops the job."""

    __tablename__ = "issuance_job_rows"

    job_id: Mapped[str] = mapped_column(ForeignKey("issuance_jobs.id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    problems: Mapped[list[list[str]] | None] = mapped_column(JSON)  # [column, field, message] each
