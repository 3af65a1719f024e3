"""Translation of registry custom errors into Sijill exceptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from ledger import errors as e
from ledger.domain import NO_END, agency_id_from_bytes32

_ERRORS: Mapping[str, tuple[type[e.ContractRevertError], str]] = {
    "RegistryInvalidAgencyId": (e.RegistryInvalidInputError, "the agency id is empty"),
    "RegistryEmptyAgencyName": (e.RegistryInvalidInputError, "agency '{agencyId}' needs a name"),
    "RegistryAgencyAlreadyRegistered": (e.AgencyAlreadyRegisteredError, "agency '{agencyId}' is registered already"),
    "RegistryUnknownAgency": (e.UnknownAgencyError, "agency '{agencyId}' is not registered on the registry"),
    "RegistryInvalidKey": (e.RegistryInvalidInputError, "the key address is the zero address"),
    "RegistryKeyAlreadyRegistered": (
        e.KeyAlreadyRegisteredError,
        "key {key} was added before; a key serves one agency for life",
    ),
    "RegistryUnknownKey": (e.UnknownKeyError, "{key} is not an issuer key on the registry"),
    "RegistryInvalidCredentialKey": (
        e.RegistryInvalidInputError,
        "a credential key is a compressed P-256 public key (33 bytes starting 0x02 or 0x03), not {length} bytes",
    ),
    "RegistryCredentialKeyAlreadyRegistered": (
        e.CredentialKeyAlreadyRegisteredError,
        "credential key {keyId} was registered before; a key serves one agency for life",
    ),
    "RegistryUnknownCredentialKey": (
        e.UnknownCredentialKeyError,
        "{keyId} is not a credential key on the registry",
    ),
    "RegistryInvalidValidityWindow": (
        e.RegistryInvalidInputError,
        "the validity window from {validFrom} until {validUntil} is empty or starts before now ({now})",
    ),
    "RegistryKeyNotValid": (
        e.KeyNotValidError,
        "key {key} may act only from {validFrom} until {validUntil}; it is {now} now",
    ),
    "RegistryInvalidRoot": (e.RegistryInvalidInputError, "the Merkle root is zero"),
    "RegistryInvalidDocumentCount": (e.RegistryInvalidInputError, "a batch must hold at least one document"),
    "RegistryExpiryInPast": (e.RegistryInvalidInputError, "the expiry {expiresAt} is not in the future (now {now})"),
    "RegistryRootAlreadyAnchored": (e.RootAlreadyAnchoredError, "root {root} was anchored before"),
    "RegistryNotAnchored": (e.NotAnchoredError, "root {root} was never anchored on the registry"),
    "RegistryUnauthorized": (e.RegistryUnauthorizedError, "{account} may not change documents of agency '{agencyId}'"),
    "RegistryAlreadyRevoked": (e.AlreadyRevokedError, "{hash} is revoked; revocation is final"),
    "RegistryAlreadySuspended": (e.AlreadySuspendedError, "{hash} is suspended already"),
    "RegistryNotSuspended": (e.NotSuspendedError, "{hash} is not suspended, so it cannot be reinstated"),
    "RegistryDocumentOwnedByOtherAgency": (
        e.DocumentOwnedByOtherAgencyError,
        "the record of {targetHash} belongs to agency '{owner}', whose batch holding it was anchored first",
    ),
    "RegistryNotAgencyAdmin": (
        e.NotAgencyAdminError,
        "{account} is not the admin of agency '{agencyId}'; only that admin manages its issuer keys",
    ),
    "RegistryAgencyFrozen": (
        e.AgencyFrozenError,
        "agency '{agencyId}' is frozen by the council: it anchors and changes nothing until the council lifts it",
    ),
    "RegistryAgencyRemoved": (e.GovernanceConflictError, "agency '{agencyId}' was removed; that is final"),
    "RegistryInvalidAgencyStatus": (
        e.GovernanceConflictError,
        "agency '{agencyId}' cannot go from standing {current} to {requested}",
    ),
    "RegistryTooManyKeys": (
        e.GovernanceConflictError,
        "agency '{agencyId}' was given {limit} issuer keys, the most an agency gets",
    ),
    "RegistryInvalidAdmin": (e.RegistryInvalidInputError, "an agency's admin must be a non-zero address"),
    "RegistryAdminAlreadyAssigned": (
        e.GovernanceConflictError,
        "{account} administers an agency already; an admin serves one agency",
    ),
    "RegistryGovernorCannotIssue": (
        e.GovernanceConflictError,
        "{account} would both govern and issue; the registry keeps governing and issuing addresses apart",
    ),
    "RegistryEmptyNote": (e.RegistryInvalidInputError, "an emergency revocation of {hash} needs its reason in words"),
    "EnforcedPause": (
        e.RegistryPausedError,
        "the registry is paused by a guardian; retry once the council unpauses it",
    ),
    "ExpectedPause": (e.RegistryNotPausedError, "the registry is not paused"),
    "AccessControlUnauthorizedAccount": (e.AdminRequiredError, "{account} lacks the role {neededRole} on the registry"),
}


class ErrorDecoder:
    """Decodes revert data with the registry ABI's custom errors."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        self._by_selector: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [arg["type"] for arg in item["inputs"]]
            names = [arg["name"] for arg in item["inputs"]]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            self._by_selector[selector] = (item["name"], types, names)

    def known(self, data: str) -> bool:
        """Whether revert `data` (``0x`` + selector + ...) is one of the ABI's custom errors."""
        try:
            return bytes.fromhex(data[2:10]) in self._by_selector
        except ValueError:  # not hex: no error of ours
            return False

    def decode_raw(self, data: str | bytes) -> tuple[str, dict[str, Any]] | None:
        """The error name and its arguments as the ABI decodes them, or None for an unknown error (or data
        that is not hex, or arguments that do not decode: a node's nonsense is no error of ours)."""
        try:
            raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
            known = self._by_selector.get(raw[:4])
            if known is None:
                return None
            name, types, names = known
            decoded = decode(types, raw[4:])
        except (ValueError, DecodingError):
            return None
        values = [
            to_checksum_address(value) if kind == "address" else value
            for kind, value in zip(types, decoded, strict=True)
        ]
        return name, dict(zip(names, values, strict=True))

    def decode(self, data: str | bytes) -> e.ContractRevertError:
        """The Sijill exception for revert `data` (``0x`` + selector + arguments)."""
        decoded = self.decode_raw(data)
        if decoded is None:
            return e.ContractRevertError(
                f"the registry refused the call (revert data {data!r})", error_name="unknown", error_args={}
            )
        name, raw_args = decoded
        args = {arg_name: _readable(arg_name, value) for arg_name, value in raw_args.items()}
        exception_type, template = _ERRORS.get(name, (e.ContractRevertError, f"the registry refused the call: {name}"))
        return exception_type(template.format(**args), error_name=name, error_args=args)


def _readable(name: str, value: Any) -> Any:
    if isinstance(value, bytes):
        if "agency" in name.lower() or name == "owner":
            return agency_id_from_bytes32(value)
        return "0x" + value.hex()
    if isinstance(value, int) and name in {"validFrom", "validUntil", "now", "expiresAt"}:
        if value >= NO_END:
            return "no end"
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value
