"""What the council can decide: each action as one contract call, and in plain words.

Pure: no chain, no store. An action names its target (the registry, the council's timelock,
or the council's Safe) and the function it calls; `ledger/chain/council.py` sends it through
the Safe and the timelock, `ledger/usecases/council.py` keeps the proposals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.documents.definitions import type_id_to_bytes32, validate_type_id
from ledger.errors import InvalidRequestError

GUARDIAN_ROLE = keccak(text="GUARDIAN_ROLE")
AGENCY_STATUS = {"active": 1, "frozen": 2, "removed": 3}
SENTINEL_OWNER = "0x0000000000000000000000000000000000000001"  # the Safe's owner list starts here


class Target(StrEnum):
    """The contract an action calls."""

    REGISTRY = "registry"
    TIMELOCK = "timelock"
    SAFE = "safe"  # through the timelock, which the Safe enables as its module


@dataclass(frozen=True, slots=True)
class Call:
    """One call: its target, its calldata, and what it does in words."""

    target: Target
    data: bytes
    words: str


def encode_call(signature: str, types: list[str], args: list[Any]) -> bytes:
    """The calldata of `signature` (e.g. "unpause()") with `args` encoded as `types`."""
    return function_signature_to_4byte_selector(signature) + encode(types, args)


def _agency_bytes(agency_id: Any) -> bytes:
    try:
        raw = str(agency_id).encode("ascii")
    except UnicodeEncodeError:
        raw = b""
    if not raw or len(raw) > 31 or not isinstance(agency_id, str):
        raise InvalidRequestError(f"'{agency_id}' is not an agency id (1 to 31 ASCII characters)", field="agency_id")
    return raw.ljust(32, b"\0")


def _integer(value: Any, field: str, low: int, high: int) -> int:
    """`value` as an integer in [low, high]. Raises `InvalidRequestError`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequestError(f"'{field}' must be a whole number", field=field)
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequestError(f"'{field}' must be a whole number, not '{value}'", field=field) from None
    if not low <= number <= high:
        raise InvalidRequestError(f"'{field}' must be between {low} and {high}", field=field)
    return number


def _address(value: Any, field: str) -> str:
    try:
        return to_checksum_address(str(value))
    except ValueError:
        raise InvalidRequestError(f"'{value}' is not an address", field=field) from None


def _hash(value: Any, field: str) -> bytes:
    text = str(value).removeprefix("0x")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidRequestError(f"'{value}' is not a 32-byte hash", field=field)
    return raw


def _module_call(inner: bytes, safe: str) -> bytes:
    """The Safe calling itself, from its module (the timelock): how the council changes itself after the delay."""
    return encode_call(
        "execTransactionFromModule(address,uint256,bytes,uint8)",
        ["address", "uint256", "bytes", "uint8"],
        [safe, 0, inner, 0],
    )


def build_call(kind: str, args: dict[str, Any], *, safe: str, members: list[str]) -> Call:
    """The call of action `kind` with `args`. Raises `InvalidRequestError` for an unknown action or bad arguments.

    `safe` and `members` (its owners, in the Safe's order) are needed for council changes.
    """
    a = args
    if kind == "admit-agency":
        agency, name, admin = a.get("agency_id", ""), str(a.get("name", "")).strip(), a.get("admin")
        if not name:
            raise InvalidRequestError("an agency needs a name", field="name")
        address = _address(admin, "admin")
        data = encode_call(
            "registerAgency(bytes32,string,address)",
            ["bytes32", "string", "address"],
            [_agency_bytes(agency), name, address],
        )
        return Call(Target.REGISTRY, data, f"admit agency '{agency}' ({name}) with admin {address}")
    if kind in ("freeze-agency", "unfreeze-agency", "remove-agency"):
        agency = a.get("agency_id", "")
        status = {"freeze-agency": "frozen", "unfreeze-agency": "active", "remove-agency": "removed"}[kind]
        data = encode_call(
            "setAgencyStatus(bytes32,uint8)", ["bytes32", "uint8"], [_agency_bytes(agency), AGENCY_STATUS[status]]
        )
        verb = {"frozen": "freeze", "active": "lift the freeze of", "removed": "remove (for good)"}[status]
        return Call(Target.REGISTRY, data, f"{verb} agency '{agency}'")
    if kind == "set-agency-admin":
        agency, address = a.get("agency_id", ""), _address(a.get("admin"), "admin")
        data = encode_call("setAgencyAdmin(bytes32,address)", ["bytes32", "address"], [_agency_bytes(agency), address])
        return Call(Target.REGISTRY, data, f"make {address} the admin of agency '{agency}'")
    if kind == "emergency-revoke":
        target = _hash(a.get("hash"), "hash")
        nodes = a.get("proof", [])
        if not isinstance(nodes, list):
            raise InvalidRequestError("'proof' must be a list of 32-byte hashes", field="proof")
        proof = [_hash(node, "proof") for node in nodes]
        reason, note = _integer(a.get("reason", 0), "reason", 0, 255), str(a.get("note", "")).strip()
        if not note:
            raise InvalidRequestError("an emergency revocation needs its reason in words", field="note")
        data = encode_call(
            "emergencyRevoke(bytes32,bytes32[],uint8,string)",
            ["bytes32", "bytes32[]", "uint8", "string"],
            [target, proof, reason, note],
        )
        scope = "the batch" if not proof else "the document"
        return Call(Target.REGISTRY, data, f"revoke {scope} 0x{target.hex()} in an emergency: {note}")
    if kind == "register-type":
        type_id, version = a.get("type_id"), _integer(a.get("version"), "version", 1, 2**32 - 1)
        try:
            raw_type = type_id_to_bytes32(validate_type_id(type_id))
        except InvalidRequestError as error:
            raise InvalidRequestError(error.message, field="type_id") from None
        definition = _hash(a.get("definition_hash"), "definition_hash")
        data = encode_call(
            "registerDocumentType(bytes32,uint32,bytes32,bytes32)",
            ["bytes32", "uint32", "bytes32", "bytes32"],
            [raw_type, version, b"\0" * 32, definition],
        )
        return Call(
            Target.REGISTRY,
            data,
            f"register version {version} of the shared document type '{type_id}' (0x{definition.hex()})",
        )
    if kind == "unpause":
        return Call(Target.REGISTRY, encode_call("unpause()", [], []), "lift the registry's pause")
    if kind in ("add-guardian", "remove-guardian"):
        address = _address(a.get("address"), "address")
        function = "grantRole" if kind == "add-guardian" else "revokeRole"
        data = encode_call(f"{function}(bytes32,address)", ["bytes32", "address"], [GUARDIAN_ROLE, address])
        verb = "make" if kind == "add-guardian" else "remove"
        return Call(Target.REGISTRY, data, f"{verb} {address} {'a' if kind == 'add-guardian' else 'as'} guardian")
    if kind == "change-delay":
        seconds = _integer(a.get("seconds"), "seconds", 0, 10 * 365 * 24 * 3600)
        data = encode_call("updateDelay(uint256)", ["uint256"], [seconds])
        return Call(Target.TIMELOCK, data, f"make every council action wait {seconds} s")
    return _council_change(kind, a, safe=safe, members=members)


def _council_change(kind: str, a: dict[str, Any], *, safe: str, members: list[str]) -> Call:
    threshold = _integer(a.get("threshold", 0), "threshold", 0, 1000) if kind in _COUNCIL_CHANGES else 0
    if kind == "add-member":
        address = _address(a.get("address"), "address")
        if address in members:
            raise InvalidRequestError(f"{address} is a council member already", field="address")
        _check_threshold(threshold, len(members) + 1)
        inner = encode_call("addOwnerWithThreshold(address,uint256)", ["address", "uint256"], [address, threshold])
        words = f"add {address} to the council, {threshold} of {len(members) + 1} to approve"
    elif kind == "remove-member":
        address = _address(a.get("address"), "address")
        if address not in members:
            raise InvalidRequestError(f"{address} is not a council member", field="address")
        _check_threshold(threshold, len(members) - 1)
        index = members.index(address)
        previous = SENTINEL_OWNER if index == 0 else members[index - 1]
        inner = encode_call(
            "removeOwner(address,address,uint256)", ["address", "address", "uint256"], [previous, address, threshold]
        )
        words = f"remove {address} from the council, {threshold} of {len(members) - 1} to approve"
    elif kind == "change-threshold":
        _check_threshold(threshold, len(members))
        inner = encode_call("changeThreshold(uint256)", ["uint256"], [threshold])
        words = f"make {threshold} of {len(members)} council members approve each action"
    else:
        raise InvalidRequestError(f"'{kind}' is not a council action; see ACTIONS", field="action")
    return Call(Target.SAFE, _module_call(inner, safe), words)


_COUNCIL_CHANGES = ("add-member", "remove-member", "change-threshold")


def _check_threshold(threshold: int, members: int) -> None:
    if not 1 <= threshold <= members:
        raise InvalidRequestError(f"the threshold must be between 1 and {members}", field="threshold")


ACTIONS = (
    "admit-agency",
    "freeze-agency",
    "unfreeze-agency",
    "remove-agency",
    "set-agency-admin",
    "emergency-revoke",
    "register-type",
    "unpause",
    "add-guardian",
    "remove-guardian",
    "change-delay",
    "add-member",
    "remove-member",
    "change-threshold",
)
"""Every action the council can take."""


def canonical_args(args: dict[str, Any]) -> str:
    """An action's arguments as stored: sorted JSON."""
    return json.dumps(args, sort_keys=True, separators=(",", ":"))
