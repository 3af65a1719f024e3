"""DocumentRegistry governance: the council, guardians, agency admins, keys, pause, freeze."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from tests.contracts.conftest import NO_END, ZERO32, Agencies, Registry, agency_bytes, random_hash, tree

ADMIN_ROLE = b"\0" * 32
GUARDIAN_ROLE = keccak(b"GUARDIAN_ROLE")
ZERO_ADDRESS = "0x" + "00" * 20
ACTIVE, FROZEN, REMOVED = 1, 2, 3
REVOKED = 3


def admit(registry: Registry, council: LocalAccount, name: str, admin: LocalAccount) -> bytes:
    """The council admits agency `name` with `admin`."""
    registry.send(council, "registerAgency", agency_bytes(name), name.upper(), admin.address)
    return agency_bytes(name)


class TestRegisterAgency:
    def test_registers_and_emits(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        receipt = registry.send(
            admin, "registerAgency", agency_bytes("moci"), "Ministry of Commerce", accounts[5].address
        )
        assert registry.events(receipt, "AgencyRegistered") == [
            {"agencyId": agency_bytes("moci"), "name": "Ministry of Commerce", "admin": accounts[5].address}
        ]
        assert tuple(registry.call("agency", agency_bytes("moci"))) == (
            ACTIVE,
            "Ministry of Commerce",
            accounts[5].address,
            0,
        )

    def test_unknown_agency_reads_as_unregistered(self, registry: Registry) -> None:
        assert tuple(registry.call("agency", agency_bytes("nobody"))) == (0, "", ZERO_ADDRESS, 0)

    def test_zero_id_reverts(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        assert registry.revert(admin, "registerAgency", ZERO32, "X", accounts[5].address) == (
            "RegistryInvalidAgencyId",
            {},
        )

    def test_empty_name_reverts(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        assert registry.revert(admin, "registerAgency", agency_bytes("a"), "", accounts[5].address) == (
            "RegistryEmptyAgencyName",
            {"agencyId": agency_bytes("a")},
        )

    def test_twice_reverts(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        admit(registry, admin, "moci", accounts[5])
        assert registry.revert(admin, "registerAgency", agency_bytes("moci"), "M2", accounts[6].address) == (
            "RegistryAgencyAlreadyRegistered",
            {"agencyId": agency_bytes("moci")},
        )

    def test_zero_admin_reverts(self, registry: Registry, admin: LocalAccount) -> None:
        assert registry.revert(admin, "registerAgency", agency_bytes("a"), "A", ZERO_ADDRESS) == (
            "RegistryInvalidAdmin",
            {},
        )

    def test_an_admin_serves_one_agency(
        self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        admit(registry, admin, "moci", accounts[5])
        assert registry.revert(admin, "registerAgency", agency_bytes("qu"), "QU", accounts[5].address) == (
            "RegistryAdminAlreadyAssigned",
            {"account": accounts[5].address},
        )

    def test_an_issuer_key_cannot_become_an_admin(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        key = agencies.moci_key.address
        assert registry.revert(admin, "registerAgency", agency_bytes("x"), "X", key) == (
            "RegistryGovernorCannotIssue",
            {"account": key},
        )

    def test_only_the_council_admits(
        self, registry: Registry, accounts: list[LocalAccount], guardian: LocalAccount
    ) -> None:
        for caller in (accounts[3], guardian):
            name, args = registry.revert(caller, "registerAgency", agency_bytes("moci"), "M", accounts[5].address)
            assert name == "AccessControlUnauthorizedAccount"
            assert args == {"account": caller.address, "neededRole": ADMIN_ROLE}


class TestAgencyAdminAndStatus:
    def test_council_names_another_admin(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        receipt = registry.send(admin, "setAgencyAdmin", agencies.moci, accounts[7].address)
        assert registry.events(receipt, "AgencyAdminChanged") == [
            {"agencyId": agencies.moci, "admin": accounts[7].address}
        ]
        assert registry.revert(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0) == (
            "RegistryNotAgencyAdmin",
            {"account": agencies.moci_admin.address, "agencyId": agencies.moci},
        )
        registry.send(accounts[7], "addIssuerKey", agencies.moci, accounts[4].address, 0, 0)
        # the old admin is free again: it may administer another agency
        admit(registry, admin, "new", agencies.moci_admin)

    def test_set_admin_reverts(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        assert (
            registry.revert(admin, "setAgencyAdmin", agency_bytes("x"), accounts[7].address)[0]
            == "RegistryUnknownAgency"
        )
        assert registry.revert(admin, "setAgencyAdmin", agencies.moci, agencies.uni_admin.address)[0] == (
            "RegistryAdminAlreadyAssigned"
        )
        assert registry.revert(admin, "setAgencyAdmin", agencies.moci, agencies.uni_key.address)[0] == (
            "RegistryGovernorCannotIssue"
        )
        assert registry.revert(agencies.moci_admin, "setAgencyAdmin", agencies.moci, accounts[7].address)[0] == (
            "AccessControlUnauthorizedAccount"
        )
        registry.send(admin, "setAgencyStatus", agencies.moci, REMOVED)
        assert registry.revert(admin, "setAgencyAdmin", agencies.moci, accounts[7].address) == (
            "RegistryAgencyRemoved",
            {"agencyId": agencies.moci},
        )

    def test_a_frozen_agency_anchors_and_changes_nothing_and_keeps_what_it_issued(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        root = random_hash()
        registry.send(agencies.moci_key, "anchor", root, 1, 0)
        receipt = registry.send(admin, "setAgencyStatus", agencies.moci, FROZEN)
        assert registry.events(receipt, "AgencyStatusChanged") == [{"agencyId": agencies.moci, "status": FROZEN}]
        frozen = ("RegistryAgencyFrozen", {"agencyId": agencies.moci})
        assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0) == frozen
        assert registry.revert(agencies.moci_key, "revoke", root, 1) == frozen
        assert registry.revert(agencies.moci_key, "suspend", root, 1) == frozen
        assert registry.revert(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0) == frozen
        assert registry.revert(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0) == frozen
        view = registry.call("inspect", root, root)
        assert view[8] == ACTIVE  # what it issued stays as it was
        registry.send(agencies.uni_key, "anchor", random_hash(), 1, 0)  # others go on
        registry.send(admin, "setAgencyStatus", agencies.moci, ACTIVE)
        registry.send(agencies.moci_key, "anchor", random_hash(), 1, 0)

    def test_a_frozen_agencys_admin_retires_a_stolen_key_before_the_freeze_is_lifted(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        end = registry.latest_time() + 10**6
        registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, end)
        registry.send(admin, "setAgencyStatus", agencies.moci, FROZEN)
        assert registry.revert(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, end + 1) == (
            "RegistryAgencyFrozen",
            {"agencyId": agencies.moci},
        )  # extending waits for the freeze to be lifted; shortening does not
        receipt = registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
        registry.mine_at(registry.block_time(receipt) + 5)
        registry.send(admin, "setAgencyStatus", agencies.moci, ACTIVE)
        assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0)[0] == "RegistryKeyNotValid"

    def test_removal_is_final(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        registry.send(admin, "setAgencyStatus", agencies.moci, REMOVED)
        assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0)[0] == "RegistryAgencyFrozen"
        assert registry.revert(admin, "setAgencyStatus", agencies.moci, ACTIVE) == (
            "RegistryInvalidAgencyStatus",
            {"agencyId": agencies.moci, "current": REMOVED, "requested": ACTIVE},
        )

    def test_status_reverts(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        assert registry.revert(admin, "setAgencyStatus", agencies.moci, ACTIVE)[0] == "RegistryInvalidAgencyStatus"
        assert registry.revert(admin, "setAgencyStatus", agencies.moci, 0)[0] == "RegistryInvalidAgencyStatus"
        assert registry.revert(admin, "setAgencyStatus", agency_bytes("x"), FROZEN)[0] == "RegistryUnknownAgency"
        assert registry.revert(agencies.moci_admin, "setAgencyStatus", agencies.uni, FROZEN)[0] == (
            "AccessControlUnauthorizedAccount"
        )


class TestAddIssuerKey:
    def test_defaults_to_now_and_no_end(
        self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]
    ) -> None:
        receipt = registry.send(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0)
        now = registry.block_time(receipt)
        assert registry.events(receipt, "IssuerKeyAdded") == [
            {"agencyId": agencies.moci, "key": accounts[4].address, "validFrom": now, "validUntil": NO_END}
        ]
        assert tuple(registry.call("issuerKey", accounts[4].address)) == (agencies.moci, now, NO_END)
        assert registry.call("agency", agencies.moci)[3] == 2

    def test_future_window(self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]) -> None:
        start = registry.latest_time() + 1000
        registry.send(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, start, start + 500)
        assert tuple(registry.call("issuerKey", accounts[4].address)) == (agencies.moci, start, start + 500)

    def test_unknown_key_reads_as_zero(self, registry: Registry, accounts: list[LocalAccount]) -> None:
        assert tuple(registry.call("issuerKey", accounts[4].address)) == (ZERO32, 0, 0)

    def test_unknown_agency_reverts(self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]) -> None:
        assert registry.revert(agencies.moci_admin, "addIssuerKey", agency_bytes("x"), accounts[4].address, 0, 0) == (
            "RegistryUnknownAgency",
            {"agencyId": agency_bytes("x")},
        )

    def test_zero_key_reverts(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(agencies.moci_admin, "addIssuerKey", agencies.moci, ZERO_ADDRESS, 0, 0) == (
            "RegistryInvalidKey",
            {},
        )

    def test_key_serves_one_agency_for_life(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(agencies.uni_admin, "addIssuerKey", agencies.uni, agencies.moci_key.address, 0, 0) == (
            "RegistryKeyAlreadyRegistered",
            {"key": agencies.moci_key.address},
        )

    def test_governors_never_issue(
        self,
        registry: Registry,
        agencies: Agencies,
        admin: LocalAccount,
        guardian: LocalAccount,
        accounts: list[LocalAccount],
    ) -> None:
        registry.send(admin, "beginDefaultAdminTransfer", accounts[8].address)
        for governor in (admin, guardian, agencies.moci_admin, agencies.uni_admin, accounts[8]):
            assert registry.revert(agencies.moci_admin, "addIssuerKey", agencies.moci, governor.address, 0, 0) == (
                "RegistryGovernorCannotIssue",
                {"account": governor.address},
            )

    def test_an_issuer_key_gets_no_role(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        assert registry.revert(admin, "grantRole", GUARDIAN_ROLE, agencies.moci_key.address) == (
            "RegistryGovernorCannotIssue",
            {"account": agencies.moci_key.address},
        )

    def test_window_starting_in_the_past_reverts(
        self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]
    ) -> None:
        registry.mine_at(registry.latest_time() + 100)
        name, args = registry.revert(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, 5, 0)
        assert name == "RegistryInvalidValidityWindow"
        assert args["validFrom"] == 5

    def test_empty_window_reverts(self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]) -> None:
        start = registry.latest_time() + 1000
        name, args = registry.revert(
            agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, start, start
        )
        assert (name, args["validFrom"], args["validUntil"]) == ("RegistryInvalidValidityWindow", start, start)

    def test_only_the_agency_admin_adds(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        for caller in (admin, agencies.uni_admin, agencies.moci_key):
            assert registry.revert(caller, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0) == (
                "RegistryNotAgencyAdmin",
                {"account": caller.address, "agencyId": agencies.moci},
            )


class TestSetIssuerKeyValidUntil:
    def test_retire_now_keeps_past_anchors_valid(self, registry: Registry, agencies: Agencies) -> None:
        root = random_hash()
        anchored = registry.send(agencies.moci_key, "anchor", root, 1, 0)
        receipt = registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
        retired_at = registry.block_time(receipt)
        assert registry.events(receipt, "IssuerKeyValidUntilChanged") == [
            {"agencyId": agencies.moci, "key": agencies.moci_key.address, "validUntil": retired_at + 1}
        ]
        view = registry.call("inspect", root, root)
        anchored_at, valid_from, valid_until = view[4], view[2], view[3]
        assert anchored_at == registry.block_time(anchored)
        assert valid_from <= anchored_at < valid_until
        registry.mine_at(retired_at + 2)
        name, args = registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0)
        assert name == "RegistryKeyNotValid"
        assert args["validUntil"] == retired_at + 1

    def test_extend(self, registry: Registry, agencies: Agencies) -> None:
        until = registry.latest_time() + 10_000
        registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, until)
        assert registry.call("issuerKey", agencies.moci_key.address)[2] == until

    def test_unknown_key_reverts(self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]) -> None:
        assert registry.revert(agencies.moci_admin, "setIssuerKeyValidUntil", accounts[4].address, 0) == (
            "RegistryUnknownKey",
            {"key": accounts[4].address},
        )

    def test_a_key_not_yet_started_retires_with_an_empty_window(
        self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]
    ) -> None:
        start = registry.latest_time() + 1000
        registry.send(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, start, 0)
        registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", accounts[4].address, 0)
        assert tuple(registry.call("issuerKey", accounts[4].address)) == (agencies.moci, start, start)
        registry.mine_at(start + 1)
        assert registry.revert(accounts[4], "anchor", random_hash(), 1, 0)[0] == "RegistryKeyNotValid"

    def test_past_end_reverts(self, registry: Registry, agencies: Agencies) -> None:
        name, args = registry.revert(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 1)
        assert (name, args["validUntil"]) == ("RegistryInvalidValidityWindow", 1)

    def test_only_the_agency_admin_moves_its_keys(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        for caller in (admin, agencies.uni_admin, agencies.moci_key):
            assert registry.revert(caller, "setIssuerKeyValidUntil", agencies.moci_key.address, 0) == (
                "RegistryNotAgencyAdmin",
                {"account": caller.address, "agencyId": agencies.moci},
            )


class TestPause:
    def test_a_guardian_pauses_and_only_the_council_unpauses(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, guardian: LocalAccount
    ) -> None:
        root = random_hash()
        registry.send(agencies.moci_key, "anchor", root, 1, 0)
        receipt = registry.send(guardian, "pause")
        assert registry.events(receipt, "Paused") == [{"account": guardian.address}]
        assert registry.call("paused") is True
        for function, args in (
            ("anchor", (random_hash(), 1, 0)),
            ("revoke", (root, 1)),
            ("suspend", (root, 1)),
        ):
            assert registry.revert(agencies.moci_key, function, *args) == ("EnforcedPause", {})
        assert registry.call("inspect", root, root)[13] is True
        assert registry.revert(guardian, "unpause") == (
            "AccessControlUnauthorizedAccount",
            {"account": guardian.address, "neededRole": ADMIN_ROLE},
        )
        receipt = registry.send(admin, "unpause")
        assert registry.events(receipt, "Unpaused") == [{"account": admin.address}]
        registry.send(agencies.moci_key, "anchor", random_hash(), 1, 0)

    def test_a_key_added_while_paused_is_paused_too(
        self,
        registry: Registry,
        agencies: Agencies,
        admin: LocalAccount,
        guardian: LocalAccount,
        accounts: list[LocalAccount],
    ) -> None:
        registry.send(guardian, "pause")
        registry.send(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0)
        assert registry.revert(accounts[4], "anchor", random_hash(), 1, 0) == ("EnforcedPause", {})
        registry.send(admin, "unpause")
        registry.send(accounts[4], "anchor", random_hash(), 1, 0)

    def test_a_key_whose_window_ended_during_a_pause_is_told_so(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, guardian: LocalAccount
    ) -> None:
        until = registry.latest_time() + 50
        registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, until)
        registry.send(guardian, "pause")
        registry.mine_at(until + 1)
        assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0)[0] == "RegistryKeyNotValid"
        registry.send(admin, "unpause")
        assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0)[0] == "RegistryKeyNotValid"

    def test_a_retired_key_extended_during_a_pause_stays_paused(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, guardian: LocalAccount
    ) -> None:
        receipt = registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
        registry.mine_at(registry.block_time(receipt) + 5)
        registry.send(guardian, "pause")
        until = registry.latest_time() + 10_000
        registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, until)
        assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0) == ("EnforcedPause", {})
        registry.send(admin, "unpause")
        registry.send(agencies.moci_key, "anchor", random_hash(), 1, 0)

    def test_pause_twice_and_unpause_unpaused_revert(
        self, registry: Registry, admin: LocalAccount, guardian: LocalAccount
    ) -> None:
        assert registry.revert(admin, "unpause") == ("ExpectedPause", {})
        registry.send(guardian, "pause")
        assert registry.revert(guardian, "pause") == ("EnforcedPause", {})

    def test_only_guardians_pause(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        for caller in (agencies.moci_key, agencies.moci_admin, agencies.stranger):
            assert registry.revert(caller, "pause") == (
                "AccessControlUnauthorizedAccount",
                {"account": caller.address, "neededRole": GUARDIAN_ROLE},
            )
        assert registry.revert(agencies.moci_key, "unpause")[0] == "AccessControlUnauthorizedAccount"

    def test_the_council_names_and_removes_guardians(
        self, registry: Registry, admin: LocalAccount, guardian: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        registry.send(admin, "grantRole", GUARDIAN_ROLE, accounts[8].address)
        registry.send(admin, "revokeRole", GUARDIAN_ROLE, guardian.address)
        assert registry.revert(guardian, "pause")[0] == "AccessControlUnauthorizedAccount"
        registry.send(accounts[8], "pause")
        assert registry.revert(guardian, "grantRole", GUARDIAN_ROLE, accounts[7].address)[0] == (
            "AccessControlUnauthorizedAccount"
        )


class TestEmergencyRevoke:
    def test_the_council_revokes_a_batch_with_its_reason_on_chain(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, guardian: LocalAccount
    ) -> None:
        root = random_hash()
        registry.send(agencies.moci_key, "anchor", root, 3, 0)
        registry.send(guardian, "pause")  # works during a pause, and for a frozen agency
        registry.send(admin, "setAgencyStatus", agencies.moci, FROZEN)
        receipt = registry.send(admin, "emergencyRevoke", root, [], 6, "issuer key stolen")
        assert registry.events(receipt, "EmergencyRevoked") == [
            {"hash": root, "agencyId": agencies.moci, "note": "issuer key stolen"}
        ]
        assert registry.events(receipt, "Revoked")[0]["by"] == admin.address
        assert registry.call("inspect", root, root)[8] == REVOKED
        assert registry.call("isRevoked", root) is True
        assert registry.revert(admin, "emergencyRevoke", root, [], 6, "again") == (
            "RegistryAlreadyRevoked",
            {"hash": root},
        )

    def test_the_council_revokes_one_document(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        leaves = [random_hash() for _ in range(4)]
        root, proofs = tree(leaves)
        registry.send(agencies.moci_key, "anchor", root, 4, 0)
        registry.send(admin, "emergencyRevoke", leaves[1], proofs[1], 7, "issued by fraud")
        assert registry.call("isRevoked", leaves[1]) is True
        assert registry.call("isRevoked", leaves[0]) is False
        assert (
            registry.revert(admin, "emergencyRevoke", leaves[1], proofs[1], 7, "again")[0] == "RegistryAlreadyRevoked"
        )

    def test_reverts(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        root = random_hash()
        registry.send(agencies.moci_key, "anchor", root, 1, 0)
        assert registry.revert(admin, "emergencyRevoke", root, [], 6, "") == ("RegistryEmptyNote", {"hash": root})
        unknown = random_hash()
        assert registry.revert(admin, "emergencyRevoke", unknown, [], 6, "x") == (
            "RegistryNotAnchored",
            {"root": unknown},
        )
        for caller in (agencies.moci_admin, agencies.moci_key, agencies.uni_key):
            assert registry.revert(caller, "emergencyRevoke", root, [], 6, "x")[0] == "AccessControlUnauthorizedAccount"


def test_council_transfer_is_two_step(registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
    successor = accounts[8]
    registry.send(admin, "beginDefaultAdminTransfer", successor.address)
    name, _ = registry.revert(successor, "acceptDefaultAdminTransfer")
    assert name == "AccessControlEnforcedDefaultAdminDelay"
    registry.set_next_time(registry.latest_time() + 3601)
    registry.send(successor, "acceptDefaultAdminTransfer")
    assert registry.call("defaultAdmin") == successor.address
    registry.send(successor, "registerAgency", agency_bytes("new"), "New Agency", accounts[7].address)
    assert registry.revert(admin, "registerAgency", agency_bytes("old"), "Old", accounts[6].address)[0] == (
        "AccessControlUnauthorizedAccount"
    )


def test_pause_costs_the_same_at_10_and_at_400_keys(
    registry: Registry, agencies: Agencies, admin: LocalAccount, guardian: LocalAccount
) -> None:
    """O(1): pausing reads no key (`make gas` prints the cost at 10 and at 5,000 keys)."""
    costs = []
    for target in (10, 400):
        _add_keys(registry, agencies, target - int(registry.call("agency", agencies.moci)[3]))
        receipt = registry.send(guardian, "pause")
        costs.append(receipt["gasUsed"])
        registry.send(admin, "unpause")
    assert costs[0] == costs[1]


def _add_keys(registry: Registry, agencies: Agencies, count: int) -> None:
    """Add `count` random issuer keys to moci, mined in blocks of up to 200 transactions."""
    from eth_account import Account

    web3 = registry.web3
    sender = agencies.moci_admin
    nonce = web3.eth.get_transaction_count(sender.address, "pending")
    web3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        hashes = []
        for i in range(count):
            tx = registry.contract.functions.addIssuerKey(
                agencies.moci, Account.create().address, 0, 0
            ).build_transaction(
                {
                    "from": sender.address,
                    "nonce": nonce + i,
                    "chainId": 31337,
                    "gas": 200_000,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 1,
                }
            )
            hashes.append(web3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction))
            if len(hashes) % 200 == 0:
                web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        web3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    for tx_hash in hashes[-1:]:
        assert web3.eth.get_transaction_receipt(tx_hash)["status"] == 1
