"""The one exception tree of Sijill.

Every error the core raises is a `SijillError`. Each carries a message a person
can act on. The API maps the category classes (`InvalidRequestError`,
`NotFoundError`, ...) to HTTP status codes in one table (`api/errors.py`); the
CLI prints the message and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SijillError(Exception):
    """Root of every error raised by Sijill."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- categories -------------------------------------------------------------


class InvalidRequestError(SijillError):
    """The input is malformed or breaks a rule; fix the input and retry."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthenticationError(SijillError):
    """No API token, or a token that matches no key (wrong, unknown or revoked)."""


class PermissionDeniedError(SijillError):
    """The caller is known but may not do this."""


class NotFoundError(SijillError):
    """The thing asked for does not exist."""


class GoneError(NotFoundError):
    """The thing asked for existed and was erased on purpose."""


class ConflictError(SijillError):
    """The request clashes with the current state (already revoked, ...)."""


class TransitionError(ConflictError):
    """A record asked to move between two states its lifecycle does not connect (`ledger.domain.TRANSITIONS`)."""


class PayloadTooLargeError(InvalidRequestError):
    """The request body is larger than the service accepts."""


class RateLimitedError(SijillError):
    """Too many requests from one API key or address; retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailableError(SijillError):
    """A dependency (the chain, the registry) cannot serve now; retry later."""


class LedgerNodesDisagreeError(ServiceUnavailableError):
    """The chain's endpoints do not agree on the block or the registry's answer (or none gave an answer
    its proof bears out), so no verdict can rest on them now. Never a verdict on the document."""

    def __init__(self, message: str, *, answers: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.answers = answers


class ConfigurationError(SijillError):
    """The settings are incomplete or unsafe for the chosen mode."""


# --- documents --------------------------------------------------------------


class InvalidDocumentError(InvalidRequestError):
    """A wrapped or raw document is malformed."""


class SchemaValidationError(InvalidDocumentError):
    """A document does not satisfy its type's JSON Schema."""


class UnknownDocumentTypeError(InvalidRequestError):
    """No JSON Schema is defined for the requested document type."""


class CredentialError(InvalidRequestError):
    """A verifiable credential is malformed: not JSON-LD the bundled contexts define, a proof that cannot
    be read, a pointer that names nothing, a key that is not a P-256 multikey."""


class ObfuscationError(InvalidRequestError):
    """A field cannot be obfuscated (absent, or a single array element)."""


# --- chain --------------------------------------------------------------------


class ChainUnavailableError(ServiceUnavailableError):
    """The JSON-RPC endpoint cannot be reached or did not answer in time."""


class QueueFullError(ServiceUnavailableError):
    """An agency's issuance queue holds as many documents as it may; try again shortly."""


class DeploymentError(ServiceUnavailableError):
    """The deployment record does not match the chain (wrong chain, no code)."""


class TransactionOutcomeUnknownError(ServiceUnavailableError):
    """A transaction was sent but its receipt did not arrive in time."""

    def __init__(self, message: str, *, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class TransactionFailedError(SijillError):
    """A transaction failed, or would fail: mined but reverted, refused by the contract without a
    custom error it names, or a batch's anchor that failed for good."""


class NodeAnswerError(SijillError):
    """The chain node answered, but not usably: it refused a read or a request, or returned a
    malformed log, no block where one was asked for, or no fees. Another node may answer well."""


class ContractRevertError(SijillError):
    """The registry refused a call with a custom error.

    Subclasses name each registry error; `error_name` and `error_args` keep the
    error exactly as the contract raised it.
    """

    def __init__(self, message: str, *, error_name: str, error_args: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = dict(error_args)


class RegistryInvalidInputError(ContractRevertError, InvalidRequestError):
    """The registry rejected an argument (a zero id or hash, an empty window, a zero document count, ...).

    A proof that leads to no anchor is not one of these: it finds no batch, so the registry
    answers that the document is not anchored (`NotAnchoredError`)."""


class AgencyAlreadyRegisteredError(ContractRevertError, ConflictError):
    """The agency id is registered already."""


class UnknownAgencyError(ContractRevertError, NotFoundError):
    """The registry knows no agency with that id."""


class KeyAlreadyRegisteredError(ContractRevertError, ConflictError):
    """The issuer key was added before; a key serves one agency for life."""


class UnknownKeyError(ContractRevertError, NotFoundError):
    """The registry knows no issuer key with that address."""


class CredentialKeyAlreadyRegisteredError(KeyAlreadyRegisteredError):
    """The credential key was registered before; a key serves one agency for life."""


class UnknownCredentialKeyError(UnknownKeyError):
    """The registry knows no credential key with that id."""


class KeyNotValidError(ContractRevertError, PermissionDeniedError):
    """The issuer key is outside its validity window."""


class RootAlreadyAnchoredError(ContractRevertError, ConflictError):
    """The Merkle root was anchored before."""


class NotAnchoredError(ContractRevertError, NotFoundError):
    """The hash was never anchored as a root."""


class RegistryUnauthorizedError(ContractRevertError, PermissionDeniedError):
    """The sender may not change that agency's documents."""


class AlreadyRevokedError(ContractRevertError, ConflictError):
    """The document or batch is revoked; revocation is final."""


class AlreadySuspendedError(ContractRevertError, ConflictError):
    """The document or batch is suspended already."""


class NotSuspendedError(ContractRevertError, ConflictError):
    """The document or batch is not suspended, so it cannot be reinstated."""


class DocumentOwnedByOtherAgencyError(ContractRevertError, PermissionDeniedError):
    """The target hash's record belongs to another agency: the one whose batch holding it was
    anchored first (a copy anchored later by another agency does not give it the record)."""


class RegistryPausedError(ContractRevertError, ServiceUnavailableError):
    """A guardian paused the registry; changes resume when the council unpauses it."""


class RegistryNotPausedError(ContractRevertError, ConflictError):
    """Unpause was asked while the registry runs."""


class AdminRequiredError(ContractRevertError, PermissionDeniedError):
    """Only a holder of a governance role (the council, a guardian) may do this on chain."""


class NotAgencyAdminError(ContractRevertError, PermissionDeniedError):
    """Only the agency's own admin manages its issuer keys."""


class AgencyFrozenError(ContractRevertError, ConflictError):
    """The council froze or removed the agency: it anchors and changes nothing."""


class GovernanceConflictError(ContractRevertError, ConflictError):
    """The registry refused a governance change: roles would overlap, an admin is taken, a removal is final."""


# --- the council -------------------------------------------------------------


class NotCouncilMemberError(PermissionDeniedError):
    """The signer is not a member of the council's Safe."""


class ProposalNotFoundError(NotFoundError):
    """No council proposal has that number."""


class ProposalExpiredError(GoneError):
    """The proposal's time to gather approvals ran out, or another proposal took its Safe nonce."""


class AlreadyApprovedError(ConflictError):
    """This member approved the proposal already."""


class ProposalNotReadyError(ConflictError):
    """The proposal lacks approvals, waits for an earlier one, or its delay has not passed."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProposalPendingError(ConflictError):
    """The action needs the council: it is proposed and waits for the members' approvals."""

    def __init__(self, message: str, *, proposal_id: int) -> None:
        super().__init__(message)
        self.proposal_id = proposal_id


# --- store and use cases ------------------------------------------------------


class DocumentNotFoundError(NotFoundError):
    """The store holds no document or batch with that hash."""


class AgencyNotFoundError(NotFoundError):
    """The store holds no agency with that id."""


class NoActiveKeyError(ConflictError):
    """The agency has no issuer key that is valid now."""
