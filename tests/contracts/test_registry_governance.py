"""DocumentRegistry governance: agencies, issuer keys, pause, admin transfer."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from tests.contracts.conftest import NO_END, ZERO32, Agencies, Registry, agency_bytes, random_hash

ADMIN_ROLE = b"\0" * 32


class TestRegisterAgency:
    def test_registers_and_emits(self, registry: Registry, admin: LocalAccount) -> None:
        receipt = registry.send(admin, "registerAgency", agency_bytes("moci"), "Ministry of Commerce")
        assert registry.events(receipt, "AgencyRegistered") == [
            {"agencyId": agency_bytes("moci"), "name": "Ministry of Commerce"}
        ]
        assert tuple(registry.call("agency", agency_bytes("moci"))) == (True, "Ministry of Commerce")

    def test_unknown_agency_reads_as_unregistered(self, registry: Registry) -> None:
        assert tuple(registry.call("agency", agency_bytes("nobody"))) == (False, "")

    def test_zero_id_reverts(self, registry: Registry, admin: LocalAccount) -> None:
        assert registry.revert(admin, "registerAgency", ZERO32, "X") == ("RegistryInvalidAgencyId", {})

    def test_empty_name_reverts(self, registry: Registry, admin: LocalAccount) -> None:
        assert registry.revert(admin, "registerAgency", agency_bytes("a"), "") == (
            "RegistryEmptyAgencyName",
            {"agencyId": agency_bytes("a")},
        )

    def test_twice_reverts(self, registry: Registry, admin: LocalAccount) -> None:
        registry.send(admin, "registerAgency", agency_bytes("moci"), "M")
        assert registry.revert(admin, "registerAgency", agency_bytes("moci"), "M2") == (
            "RegistryAgencyAlreadyRegistered",
            {"agencyId": agency_bytes("moci")},
        )

    def test_non_admin_reverts(self, registry: Registry, accounts: list[LocalAccount]) -> None:
        name, args = registry.revert(accounts[3], "registerAgency", agency_bytes("moci"), "M")
        assert name == "AccessControlUnauthorizedAccount"
        assert args == {"account": accounts[3].address, "neededRole": ADMIN_ROLE}


class TestAddIssuerKey:
    def test_defaults_to_now_and_no_end(
        self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        registry.send(admin, "registerAgency", agency_bytes("moci"), "M")
        receipt = registry.send(admin, "addIssuerKey", agency_bytes("moci"), accounts[1].address, 0, 0)
        now = registry.block_time(receipt)
        assert registry.events(receipt, "IssuerKeyAdded") == [
            {"agencyId": agency_bytes("moci"), "key": accounts[1].address, "validFrom": now, "validUntil": NO_END}
        ]
        assert tuple(registry.call("issuerKey", accounts[1].address)) == (agency_bytes("moci"), now, NO_END)

    def test_future_window(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        registry.send(admin, "registerAgency", agency_bytes("moci"), "M")
        start = registry.latest_time() + 1000
        registry.send(admin, "addIssuerKey", agency_bytes("moci"), accounts[1].address, start, start + 500)
        assert tuple(registry.call("issuerKey", accounts[1].address)) == (agency_bytes("moci"), start, start + 500)

    def test_unknown_key_reads_as_zero(self, registry: Registry, accounts: list[LocalAccount]) -> None:
        assert tuple(registry.call("issuerKey", accounts[4].address)) == (ZERO32, 0, 0)

    def test_unknown_agency_reverts(
        self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        assert registry.revert(admin, "addIssuerKey", agency_bytes("x"), accounts[1].address, 0, 0) == (
            "RegistryUnknownAgency",
            {"agencyId": agency_bytes("x")},
        )

    def test_zero_key_reverts(self, registry: Registry, admin: LocalAccount) -> None:
        registry.send(admin, "registerAgency", agency_bytes("moci"), "M")
        zero = "0x" + "00" * 20
        assert registry.revert(admin, "addIssuerKey", agency_bytes("moci"), zero, 0, 0) == ("RegistryInvalidKey", {})

    def test_key_serves_one_agency_for_life(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        assert registry.revert(admin, "addIssuerKey", agencies.uni, agencies.moci_key.address, 0, 0) == (
            "RegistryKeyAlreadyRegistered",
            {"key": agencies.moci_key.address},
        )

    def test_window_starting_in_the_past_reverts(
        self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        registry.send(admin, "registerAgency", agency_bytes("moci"), "M")
        registry.mine_at(registry.latest_time() + 100)
        name, args = registry.revert(admin, "addIssuerKey", agency_bytes("moci"), accounts[1].address, 5, 0)
        assert name == "RegistryInvalidValidityWindow"
        assert args["validFrom"] == 5

    def test_empty_window_reverts(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        registry.send(admin, "registerAgency", agency_bytes("moci"), "M")
        start = registry.latest_time() + 1000
        name, args = registry.revert(admin, "addIssuerKey", agency_bytes("moci"), accounts[1].address, start, start)
        assert (name, args["validFrom"], args["validUntil"]) == ("RegistryInvalidValidityWindow", start, start)

    def test_non_admin_reverts(self, registry: Registry, agencies: Agencies, accounts: list[LocalAccount]) -> None:
        name, _ = registry.revert(agencies.moci_key, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0)
        assert name == "AccessControlUnauthorizedAccount"


class TestSetIssuerKeyValidUntil:
    def test_retire_now_keeps_past_anchors_valid(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        root = random_hash()
        anchored = registry.send(agencies.moci_key, "anchor", root, 1, 0)
        receipt = registry.send(admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
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

    def test_extend(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        until = registry.latest_time() + 10_000
        registry.send(admin, "setIssuerKeyValidUntil", agencies.moci_key.address, until)
        assert registry.call("issuerKey", agencies.moci_key.address)[2] == until

    def test_unknown_key_reverts(self, registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
        assert registry.revert(admin, "setIssuerKeyValidUntil", accounts[4].address, 0) == (
            "RegistryUnknownKey",
            {"key": accounts[4].address},
        )

    def test_past_end_reverts(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        name, args = registry.revert(admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 1)
        assert (name, args["validUntil"]) == ("RegistryInvalidValidityWindow", 1)

    def test_non_admin_reverts(self, registry: Registry, agencies: Agencies) -> None:
        name, _ = registry.revert(agencies.moci_key, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
        assert name == "AccessControlUnauthorizedAccount"


class TestPause:
    def test_pause_stops_key_actions_until_unpaused(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        root = random_hash()
        registry.send(agencies.moci_key, "anchor", root, 1, 0)
        receipt = registry.send(admin, "pause")
        assert registry.events(receipt, "Paused") == [{"account": admin.address}]
        assert registry.call("paused") is True
        for function, args in (
            ("anchor", (random_hash(), 1, 0)),
            ("revoke", (root, 1)),
            ("suspend", (root, 1)),
        ):
            assert registry.revert(agencies.moci_key, function, *args) == ("EnforcedPause", {})
        assert registry.revert(admin, "revoke", root, 6) == ("EnforcedPause", {})
        assert registry.call("inspect", root, root)[13] is True
        receipt = registry.send(admin, "unpause")
        assert registry.events(receipt, "Unpaused") == [{"account": admin.address}]
        registry.send(agencies.moci_key, "anchor", random_hash(), 1, 0)

    def test_key_added_while_paused_is_paused_too(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        registry.send(admin, "pause")
        registry.send(admin, "addIssuerKey", agencies.moci, accounts[4].address, 0, 0)
        assert registry.revert(accounts[4], "anchor", random_hash(), 1, 0) == ("EnforcedPause", {})
        registry.send(admin, "unpause")
        registry.send(accounts[4], "anchor", random_hash(), 1, 0)

    def test_pause_twice_and_unpause_unpaused_revert(self, registry: Registry, admin: LocalAccount) -> None:
        assert registry.revert(admin, "unpause") == ("ExpectedPause", {})
        registry.send(admin, "pause")
        assert registry.revert(admin, "pause") == ("EnforcedPause", {})

    def test_non_admin_reverts(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(agencies.moci_key, "pause")[0] == "AccessControlUnauthorizedAccount"
        assert registry.revert(agencies.moci_key, "unpause")[0] == "AccessControlUnauthorizedAccount"


def test_admin_transfer_is_two_step(registry: Registry, admin: LocalAccount, accounts: list[LocalAccount]) -> None:
    successor = accounts[4]
    registry.send(admin, "beginDefaultAdminTransfer", successor.address)
    name, _ = registry.revert(successor, "acceptDefaultAdminTransfer")
    assert name == "AccessControlEnforcedDefaultAdminDelay"
    registry.set_next_time(registry.latest_time() + 3601)
    registry.send(successor, "acceptDefaultAdminTransfer")
    assert registry.call("defaultAdmin") == successor.address
    registry.send(successor, "registerAgency", agency_bytes("new"), "New Agency")
    assert registry.revert(admin, "registerAgency", agency_bytes("old"), "Old")[0] == "AccessControlUnauthorizedAccount"


def test_a_retired_key_extended_during_a_pause_stays_paused(
    registry: Registry, agencies: Agencies, admin: LocalAccount
) -> None:
    receipt = registry.send(admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
    registry.mine_at(registry.block_time(receipt) + 5)
    registry.send(admin, "pause")
    registry.send(admin, "setIssuerKeyValidUntil", agencies.moci_key.address, registry.latest_time() + 10_000)
    assert registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 0) == ("EnforcedPause", {})
    registry.send(admin, "unpause")
    registry.send(agencies.moci_key, "anchor", random_hash(), 1, 0)
