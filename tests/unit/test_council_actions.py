"""The council's actions as calls: each encodes the function it names, and bad arguments are a 422, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils.abi import function_signature_to_4byte_selector

from ledger.council import ACTIONS, Target, build_call
from ledger.errors import InvalidRequestError

SAFE = "0x" + "22" * 20
MEMBERS = ["0x" + "33" * 20, "0x" + "44" * 20]
ADDRESS = "0x" + "11" * 20
MODULE = "execTransactionFromModule(address,uint256,bytes,uint8)"
ADMIT = "registerAgency(bytes32,string,address)"
GOOD: dict[str, tuple[dict[str, Any], str, Target]] = {
    "admit-agency": ({"agency_id": "moci", "name": "M", "admin": ADDRESS}, ADMIT, Target.REGISTRY),
    "freeze-agency": ({"agency_id": "moci"}, "setAgencyStatus(bytes32,uint8)", Target.REGISTRY),
    "unfreeze-agency": ({"agency_id": "moci"}, "setAgencyStatus(bytes32,uint8)", Target.REGISTRY),
    "remove-agency": ({"agency_id": "moci"}, "setAgencyStatus(bytes32,uint8)", Target.REGISTRY),
    "set-agency-admin": ({"agency_id": "moci", "admin": ADDRESS}, "setAgencyAdmin(bytes32,address)", Target.REGISTRY),
    "emergency-revoke": (
        {"hash": "ab" * 32, "proof": [], "reason": 4, "note": "stolen key"},
        "emergencyRevoke(bytes32,bytes32[],uint8,string)",
        Target.REGISTRY,
    ),
    "register-type": (
        {"type_id": "health-card", "version": 1, "definition_hash": "cd" * 32},
        "registerDocumentType(bytes32,uint32,bytes32,bytes32)",
        Target.REGISTRY,
    ),
    "unpause": ({}, "unpause()", Target.REGISTRY),
    "add-guardian": ({"address": ADDRESS}, "grantRole(bytes32,address)", Target.REGISTRY),
    "remove-guardian": ({"address": ADDRESS}, "revokeRole(bytes32,address)", Target.REGISTRY),
    "change-delay": ({"seconds": 86400}, "updateDelay(uint256)", Target.TIMELOCK),
    "add-member": ({"address": ADDRESS, "threshold": 2}, MODULE, Target.SAFE),
    "remove-member": ({"address": MEMBERS[1], "threshold": 1}, MODULE, Target.SAFE),
    "change-threshold": ({"threshold": 1}, MODULE, Target.SAFE),
}  # fmt: skip


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_calls_the_function_it_names(action: str) -> None:
    arguments, signature, target = GOOD[action]
    call = build_call(action, arguments, safe=SAFE, members=MEMBERS)
    assert call.data[:4] == function_signature_to_4byte_selector(signature)
    assert call.target is target
    assert call.words


@pytest.mark.parametrize(
    ("action", "arguments", "field"),
    [
        ("emergency-revoke", {"hash": "ab" * 32, "reason": "x", "note": "n"}, "reason"),
        ("emergency-revoke", {"hash": "ab" * 32, "reason": 300, "note": "n"}, "reason"),
        ("emergency-revoke", {"hash": "ab" * 32, "proof": "zz", "note": "n"}, "proof"),
        ("emergency-revoke", {"hash": "ab" * 31, "note": "n"}, "hash"),
        ("emergency-revoke", {"hash": "ab" * 32, "note": " "}, "note"),
        ("admit-agency", {"agency_id": "وزارة", "name": "n", "admin": ADDRESS}, "agency_id"),
        ("admit-agency", {"agency_id": "moci", "name": "n", "admin": "nobody"}, "admin"),
        ("freeze-agency", {"agency_id": 5}, "agency_id"),
        ("change-delay", {"seconds": None}, "seconds"),
        ("change-delay", {"seconds": -1}, "seconds"),
        ("add-member", {"address": MEMBERS[0], "threshold": 2}, "address"),
        ("add-member", {"address": ADDRESS, "threshold": "a"}, "threshold"),
        ("remove-member", {"address": ADDRESS, "threshold": 1}, "address"),
        ("change-threshold", {"threshold": 3}, "threshold"),
        ("register-type", {"type_id": "Health Card", "version": 1, "definition_hash": "cd" * 32}, "type_id"),
        ("register-type", {"type_id": "health-card", "version": 0, "definition_hash": "cd" * 32}, "version"),
        ("register-type", {"type_id": "health-card", "version": 1, "definition_hash": "cd"}, "definition_hash"),
        ("no-such-action", {}, "action"),
    ],
)
def test_bad_arguments_are_invalid_requests(action: str, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build_call(action, arguments, safe=SAFE, members=MEMBERS)
    assert caught.value.field == field
