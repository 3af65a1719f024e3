"""Domain values shared by every layer: lifecycles, reason codes, agency ids and
the records the registry returns. Pure: no I/O.

Four lifecycles, one word and one enum each, with the moves each allows:

- `DocumentStage`: where a document is on its way to the chain (ACCEPTED, PENDING, ANCHORED,
  FAILED), what the API and the CLI show;
- `BatchState`: the store's state of a batch's anchor (pending, mined, anchored, failed);
- `TransactionState`: the outbox's state of one signed transaction;
- `ChainStatus`: a batch's or document's status on chain (ACTIVE, SUSPENDED, REVOKED);
- `PresentationState`: a relying party's presentation request (PENDING, ANSWERED, COLLECTED, DISCARDED).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, NewType

from ledger.errors import InvalidRequestError, TransitionError

HexHash = NewType("HexHash", str)
"""A 32-byte hash as 64 lowercase hex characters, without ``0x``."""

Address = NewType("Address", str)
"""An EIP-55 checksummed account or contract address."""

NO_END = 2**40 - 1
"""The registry's end of a key window that never ends (``type(uint40).max``)."""

_AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}$")
_HEX_HASH = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class ChainStatus(StrEnum):
    """A batch's or document's status as the registry stores it (one byte on chain: `code`)."""

    NONE = "NONE"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"

    @property
    def code(self) -> int:
        """The registry's byte for this status."""
        return _CHAIN_CODES.index(self)

    @classmethod
    def from_code(cls, code: int) -> ChainStatus:
        """The status the registry's byte `code` stands for. Raises `ValueError` for an unknown byte."""
        if not 0 <= code < len(_CHAIN_CODES):
            raise ValueError(f"the registry knows no status {code}")
        return _CHAIN_CODES[code]


_CHAIN_CODES = (ChainStatus.NONE, ChainStatus.ACTIVE, ChainStatus.SUSPENDED, ChainStatus.REVOKED)


class BatchState(StrEnum):
    """The store's state of a batch's anchor: signed and sent (pending), in a block (mined), in a block
    with the confirmations required (anchored), or never to be anchored (failed)."""

    PENDING = "pending"
    MINED = "mined"
    ANCHORED = "anchored"
    FAILED = "failed"


class TransactionState(StrEnum):
    """The outbox's state of one signed transaction."""

    SIGNED = "signed"
    """Recorded, not yet accepted by a node."""
    SENT = "sent"
    """Accepted by a node (or sent again after its block was lost)."""
    MINED = "mined"
    """In a block, short of the confirmations required."""
    FINAL = "final"
    """In a block with the confirmations required."""
    SUPERSEDED = "superseded"
    """Another signature of its nonce was mined, or replaced it with a new nonce."""
    FAILED = "failed"
    """Mined but reverted, or refused for good."""
    HELD = "held"
    """Final once, but the chain lost its block after its batch's status had changed: sending it again
    would bring the batch back without the revocation or suspension, so it waits for an operator."""


class DocumentStage(StrEnum):
    """Where a document is on its way to the chain, as the API and the CLI show it."""

    ACCEPTED = "ACCEPTED"
    """Validated, salted and queued; no batch yet."""
    PENDING = "PENDING"
    """In a batch whose anchor is signed and sent, or mined short of its confirmations."""
    ANCHORED = "ANCHORED"
    """In a batch anchored with the confirmations required."""
    FAILED = "FAILED"
    """In a batch the registry refused for good (the record says why); it will not be anchored."""

    @classmethod
    def of(cls, state: BatchState) -> DocumentStage:
        """The stage of a document whose batch is in `state`."""
        return _STAGE_OF[state]


class PresentationState(StrEnum):
    """Where a relying party's presentation request is (its expiry is a matter of time, not of state)."""

    PENDING = "PENDING"
    """Waiting for the holder's answer."""
    ANSWERED = "ANSWERED"
    """The holder answered and the answer was verified; the result waits for the relying party."""
    COLLECTED = "COLLECTED"
    """The relying party has the result; the service no longer keeps it."""
    DISCARDED = "DISCARDED"
    """Nobody collected the result in time; the service dropped it."""


class JobState(StrEnum):
    """Where a spreadsheet issuance job is."""

    READING = "READING"
    """Reading the sheet: each valid row is queued for the pipeline, each invalid one reported."""
    ACCEPTED = "ACCEPTED"
    """Every row read: the valid ones wait in the pipeline for their anchors."""
    ANCHORED = "ANCHORED"
    """Every valid row's document is anchored."""
    FAILED = "FAILED"
    """The sheet could not be read to its end (what was queued before stays queued)."""


_STAGE_OF = {
    BatchState.PENDING: DocumentStage.PENDING,
    BatchState.MINED: DocumentStage.PENDING,
    BatchState.ANCHORED: DocumentStage.ANCHORED,
    BatchState.FAILED: DocumentStage.FAILED,
}

ON_CHAIN = frozenset({BatchState.MINED, BatchState.ANCHORED})
"""Batch states whose anchor is in a block (anchored: with the confirmations required)."""

LIVE = frozenset({TransactionState.SIGNED, TransactionState.SENT, TransactionState.MINED})
"""Transaction states that may still change with what the chain does."""

# The moves each lifecycle allows, from each state. Writing the state a row has already is no move.
# A batch or transaction is created in the states without a source here: a batch pending (or failed,
# refused before it was sent), a transaction signed.
TRANSITIONS: dict[type[StrEnum], dict[StrEnum, frozenset[StrEnum]]] = {
    DocumentStage: {
        DocumentStage.ACCEPTED: frozenset({DocumentStage.PENDING, DocumentStage.FAILED}),
        DocumentStage.PENDING: frozenset({DocumentStage.ANCHORED, DocumentStage.FAILED}),
        DocumentStage.ANCHORED: frozenset({DocumentStage.PENDING}),  # a reorg deeper than the confirmations
        DocumentStage.FAILED: frozenset(),
    },
    BatchState: {
        BatchState.PENDING: frozenset({BatchState.MINED, BatchState.ANCHORED, BatchState.FAILED}),
        BatchState.MINED: frozenset({BatchState.ANCHORED, BatchState.PENDING, BatchState.FAILED}),
        BatchState.ANCHORED: frozenset({BatchState.PENDING}),
        BatchState.FAILED: frozenset(),
    },
    TransactionState: {
        TransactionState.SIGNED: frozenset(
            {
                TransactionState.SENT,
                TransactionState.MINED,
                TransactionState.FINAL,
                TransactionState.SUPERSEDED,
                TransactionState.FAILED,
            }
        ),
        TransactionState.SENT: frozenset(
            {TransactionState.MINED, TransactionState.FINAL, TransactionState.SUPERSEDED, TransactionState.FAILED}
        ),
        TransactionState.MINED: frozenset(
            {
                TransactionState.FINAL,
                TransactionState.SENT,
                TransactionState.SUPERSEDED,
                TransactionState.FAILED,
                TransactionState.HELD,  # its block was lost, behind a held anchor of its key
            }
        ),
        TransactionState.FINAL: frozenset({TransactionState.SENT, TransactionState.HELD}),  # its block was lost
        TransactionState.SUPERSEDED: frozenset(),
        TransactionState.FAILED: frozenset({TransactionState.SUPERSEDED}),
        TransactionState.HELD: frozenset(),
    },
    PresentationState: {
        PresentationState.PENDING: frozenset({PresentationState.ANSWERED}),
        PresentationState.ANSWERED: frozenset({PresentationState.COLLECTED, PresentationState.DISCARDED}),
        PresentationState.COLLECTED: frozenset(),
        PresentationState.DISCARDED: frozenset(),
    },
    JobState: {
        JobState.READING: frozenset({JobState.ACCEPTED, JobState.FAILED}),
        JobState.ACCEPTED: frozenset({JobState.ANCHORED}),
        JobState.ANCHORED: frozenset(),
        JobState.FAILED: frozenset({JobState.READING}),  # resumed, once the file is readable again
    },
    ChainStatus: {
        # A batch is anchored ACTIVE; a document's own record starts at its first change.
        ChainStatus.NONE: frozenset({ChainStatus.ACTIVE, ChainStatus.SUSPENDED, ChainStatus.REVOKED}),
        ChainStatus.ACTIVE: frozenset({ChainStatus.SUSPENDED, ChainStatus.REVOKED}),
        ChainStatus.SUSPENDED: frozenset({ChainStatus.ACTIVE, ChainStatus.REVOKED}),
        ChainStatus.REVOKED: frozenset(),
    },
}


def allowed(old: StrEnum, new: StrEnum) -> bool:
    """Whether a lifecycle may move from `old` to `new` (staying put always may)."""
    return old == new or new in TRANSITIONS[type(old)][old]


def require_transition(old: StrEnum, new: StrEnum, what: str) -> None:
    """Raise `TransitionError` unless `old` may move to `new`; `what` names the record, for the message."""
    if not allowed(old, new):
        moves = ", ".join(sorted(TRANSITIONS[type(old)][old])) or "none: it is final"
        raise TransitionError(f"{what} is {old} and cannot become {new} (from {old}: {moves})")


class ReasonCode(IntEnum):
    """Why a document was revoked or suspended; stored on chain as one byte."""

    UNSPECIFIED = 0
    SUPERSEDED = 1
    ISSUED_IN_ERROR = 2
    FRAUD = 3
    KEY_COMPROMISE = 4
    HOLDER_REQUEST = 5
    ADMINISTRATIVE = 6
    UNDER_INVESTIGATION = 7
    NON_COMPLIANCE = 8
    PAYMENT_OVERDUE = 9

    @classmethod
    def parse(cls, value: str | int) -> ReasonCode:
        """A reason from its name (any case, ``-`` or ``_``) or its number.

        Raises `InvalidRequestError` listing the known reasons.
        """
        try:
            if isinstance(value, int) or value.isdigit():
                return cls(int(value))
            return cls[value.strip().upper().replace("-", "_")]
        except (KeyError, ValueError):
            known = ", ".join(reason.name.lower() for reason in cls)
            raise InvalidRequestError(f"unknown reason '{value}'; use one of: {known}", field="reason") from None


def normalize_hash(value: str, field: str = "hash") -> HexHash:
    """`value` as a `HexHash`. Raises `InvalidRequestError` unless it is 32 bytes of hex."""
    if not _HEX_HASH.match(value):
        raise InvalidRequestError(f"'{field}' must be a 32-byte hex hash (64 hex characters)", field=field)
    return HexHash(value.removeprefix("0x").lower())


def validate_agency_id(value: str) -> str:
    """`value` if it is a valid agency id. Raises `InvalidRequestError`."""
    if not _AGENCY_ID.match(value):
        raise InvalidRequestError(
            f"agency id '{value}' must be 2-31 characters of lowercase letters, digits and '-'", field="agency_id"
        )
    return value


def agency_id_to_bytes32(agency_id: str) -> bytes:
    """The on-chain form of an agency id: its ASCII bytes, right-padded to 32."""
    return validate_agency_id(agency_id).encode("ascii").ljust(32, b"\0")


def agency_id_from_bytes32(raw: bytes) -> str:
    """The agency id an on-chain `bytes32` carries (inverse of `agency_id_to_bytes32`)."""
    return raw.rstrip(b"\0").decode("ascii", errors="replace")


@dataclass(frozen=True, slots=True)
class Network:
    """The chain and registry an installation trusts."""

    chain_id: int
    registry: Address


@dataclass(frozen=True, slots=True)
class AnchorView:
    """What the registry's ``inspect(targetHash, root)`` returns."""

    agency_id: str | None
    key: Address | None
    key_valid_from: int
    key_valid_until: int
    anchored_at: int
    anchored_block: int
    expires_at: int
    document_count: int
    batch_status: ChainStatus
    batch_reason: int
    document_status: ChainStatus
    document_reason: int
    document_agency_id: str | None
    paused: bool


@dataclass(frozen=True, slots=True)
class ChainEvidence:
    """Everything the chain says about one document, with where it was read."""

    view: AnchorView
    agency_name: str | None
    anchor_tx: str | None
    read_at_block: int
    read: Mapping[str, Any] | None = None  # how no single node decided (quorum, proofs), when one did not
    type_registration: TypeRegistration | None = None  # the version of the type the document claims, if any


@dataclass(frozen=True, slots=True)
class TypeRegistration:
    """A version of a document type as the registry records it: its owner (None for a shared type), the hash
    of its definition (None when that version was never registered) and when it was registered."""

    type_id: str
    version: int
    owner: str | None
    definition_hash: HexHash | None
    registered_at: int
    versions: int

    @property
    def registered(self) -> bool:
        """Whether that version was ever registered."""
        return self.definition_hash is not None


@dataclass(frozen=True, slots=True)
class TxReceipt:
    """A mined transaction: hash, block and the block's time."""

    tx_hash: str
    block_number: int
    block_timestamp: int
    gas_used: int


@dataclass(frozen=True, slots=True)
class IssuerKeyInfo:
    """An issuer key as the registry records it."""

    address: Address
    agency_id: str | None
    valid_from: int
    valid_until: int


@dataclass(frozen=True, slots=True)
class CredentialKeyInfo:
    """A credential (P-256) key as the registry records it: by the keccak256 of its compressed public key."""

    key_id: HexHash
    agency_id: str | None
    valid_from: int
    valid_until: int

    def valid_at(self, moment: int) -> bool:
        """Whether the chain lets the key sign at unix time `moment`."""
        return self.agency_id is not None and self.valid_from <= moment < self.valid_until


# Replacement needs at least 10% more on both fees (geth, Anvil); a little more to be sure.
BUMP_NUMERATOR, BUMP_DENOMINATOR = 1125, 1000


@dataclass(frozen=True, slots=True)
class Fees:
    """A transaction's fees, in wei: EIP-1559's, or one gas price on a chain without a base fee
    (`legacy`, where `max_fee` and `priority_fee` both hold the gas price)."""

    max_fee: int
    priority_fee: int
    legacy: bool = False

    def bumped(self, floor: Fees | None = None) -> Fees:
        """Fees a node accepts as a replacement of a transaction paying `self` (and at least `floor`)."""
        legacy = self.legacy or (floor is not None and floor.legacy)
        bumped = Fees(
            max_fee=-(-self.max_fee * BUMP_NUMERATOR // BUMP_DENOMINATOR) + 1,
            priority_fee=-(-self.priority_fee * BUMP_NUMERATOR // BUMP_DENOMINATOR) + 1,
            legacy=legacy,
        )
        if floor is None:
            return bumped
        return Fees(max(bumped.max_fee, floor.max_fee), max(bumped.priority_fee, floor.priority_fee), legacy)


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A transaction ready to broadcast: its raw bytes (hex) and hash (0x hex)."""

    raw: str
    tx_hash: str
