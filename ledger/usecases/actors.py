"""Who is asking, and what they may do: the scopes of an API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.errors import PermissionDeniedError


class Scope(StrEnum):
    """What an API key lets its holder do."""

    ISSUE = "issue"  # issue documents, and read the agency's own documents (wrapped, PDF, QR, link)
    REVOKE = "revoke"  # revoke, suspend and reinstate the agency's own documents
    AUDIT = "audit"  # read the access log and the audit report
    ADMIN = "admin"  # govern: agencies, issuer keys, API keys, pause
    MONITOR = "monitor"  # read the service's metrics (/metrics): an installation key, for Prometheus
    RELYING_PARTY = "relying-party"  # ask holders for verified documents, and collect the results (its own)


AGENCY_SCOPES = frozenset({Scope.ISSUE, Scope.REVOKE, Scope.AUDIT})
"""The scopes an agency's key may carry (and a new agency's first key has)."""

ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller: an agency's key, a relying party's, or a key of the installation (admin,
    auditor).

    `agency_id` is None for every key but an agency's, `relying_party_id` for every key but a relying
    party's; `key_id` names the API key (None for the admin credential from the settings, and for the
    operator's own CLI).
    """

    agency_id: str | None
    scopes: frozenset[Scope] = AGENCY_SCOPES
    key_id: str | None = None
    relying_party_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for the governance admin."""
        return Scope.ADMIN in self.scopes

    @property
    def label(self) -> str:
        """How records name this actor: never anything personal."""
        if self.agency_id is not None:
            return f"agency:{self.agency_id}"
        if self.relying_party_id is not None:
            return f"party:{self.relying_party_id}"
        return "admin" if self.is_admin else f"key:{self.key_id}"

    def require(self, scope: Scope) -> None:
        """Raises `PermissionDeniedError` unless the caller holds `scope` (the admin holds every scope)."""
        if scope not in self.scopes and not self.is_admin:
            raise PermissionDeniedError(f"this API key lacks the '{scope.value}' scope")

    def require_agency(self, scope: Scope) -> str:
        """The caller's agency, which must hold `scope`. Raises `PermissionDeniedError`."""
        if self.agency_id is None:
            raise PermissionDeniedError("this needs an agency's API key, not an installation key")
        self.require(scope)
        return self.agency_id

    def require_owner(self, scope: Scope, owner: str, what: str) -> None:
        """The caller must be the admin, or `owner` holding `scope`. Raises `PermissionDeniedError`."""
        if self.is_admin:
            return
        if self.agency_id != owner:
            who = f"agency '{self.agency_id}'" if self.agency_id else "a key without the admin scope"
            raise PermissionDeniedError(f"{who} may not act on {what}: it was issued by agency '{owner}'")
        self.require(scope)

    def require_party(self) -> str:
        """The caller's relying party. Raises `PermissionDeniedError` for any other key, the admin's too:
        a relying party's results are its own."""
        if self.relying_party_id is None or Scope.RELYING_PARTY not in self.scopes:
            raise PermissionDeniedError("this needs a relying party's API key (scope 'relying-party')")
        return self.relying_party_id


ADMIN = Actor(agency_id=None, scopes=ALL_SCOPES)
