"""DocumentRegistry document types: versions of a type's definition, each anchored by its hash.

An agency's admin registers its own types; the council registers shared ones; the registry is born with the
types Sijill ships. Every revert path of `registerDocumentType` is here, and of the constructor's list.
"""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_registry
from ledger.documents.definitions import shipped_definitions, type_id_to_bytes32
from ledger.errors import SijillError
from tests.contracts.conftest import ZERO32, Agencies, Registry, agency_bytes, random_hash
from tests.nodes import ChainNode

FROZEN, REMOVED = 2, 3
PERMIT = type_id_to_bytes32("visitor-entry-permit")
DEFAULT_ADMIN_ROLE = b"\0" * 32


class TestRegisterDocumentType:
    def test_an_agency_registers_its_own_type_and_the_event_names_it(
        self, registry: Registry, agencies: Agencies
    ) -> None:
        definition = random_hash()
        receipt = registry.send(agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, definition)
        now = registry.block_time(receipt)
        assert registry.events(receipt, "DocumentTypeRegistered") == [
            {"typeId": PERMIT, "version": 1, "agencyId": agencies.moci, "definitionHash": definition, "at": now}
        ]
        assert tuple(registry.call("documentType", PERMIT, 1)) == (agencies.moci, definition, now, 1)

    def test_versions_follow_one_another_and_the_first_stays(self, registry: Registry, agencies: Agencies) -> None:
        first, second = random_hash(), random_hash()
        one = registry.send(agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, first)
        two = registry.send(agencies.moci_admin, "registerDocumentType", PERMIT, 2, agencies.moci, second)
        assert tuple(registry.call("documentType", PERMIT, 1)) == (
            agencies.moci,
            first,
            registry.block_time(one),
            2,
        )
        assert tuple(registry.call("documentType", PERMIT, 2)) == (
            agencies.moci,
            second,
            registry.block_time(two),
            2,
        )

    def test_an_unknown_type_or_version_reads_as_zero(self, registry: Registry, agencies: Agencies) -> None:
        assert tuple(registry.call("documentType", PERMIT, 1)) == (ZERO32, ZERO32, 0, 0)
        registry.send(agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, random_hash())
        assert tuple(registry.call("documentType", PERMIT, 7)) == (agencies.moci, ZERO32, 0, 1)

    def test_the_council_registers_a_shared_type(self, registry: Registry, admin: LocalAccount) -> None:
        definition = random_hash()
        receipt = registry.send(admin, "registerDocumentType", PERMIT, 1, ZERO32, definition)
        assert registry.events(receipt, "DocumentTypeRegistered")[0]["agencyId"] == ZERO32
        assert tuple(registry.call("documentType", PERMIT, 1))[:2] == (ZERO32, definition)

    def test_a_zero_type_id_reverts(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(
            agencies.moci_admin, "registerDocumentType", ZERO32, 1, agencies.moci, random_hash()
        ) == (
            "RegistryInvalidTypeId",
            {},
        )

    def test_a_zero_definition_reverts(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, ZERO32) == (
            "RegistryInvalidTypeDefinition",
            {"typeId": PERMIT},
        )

    def test_only_the_council_registers_a_shared_type(self, registry: Registry, agencies: Agencies) -> None:
        for caller in (agencies.moci_admin, agencies.moci_key, agencies.stranger):
            assert registry.revert(caller, "registerDocumentType", PERMIT, 1, ZERO32, random_hash()) == (
                "AccessControlUnauthorizedAccount",
                {"account": caller.address, "neededRole": DEFAULT_ADMIN_ROLE},
            )

    def test_an_unknown_agency_reverts(self, registry: Registry, agencies: Agencies) -> None:
        unknown = agency_bytes("nobody")
        assert registry.revert(agencies.moci_admin, "registerDocumentType", PERMIT, 1, unknown, random_hash()) == (
            "RegistryUnknownAgency",
            {"agencyId": unknown},
        )

    def test_only_the_agency_admin_registers_its_types(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        for caller in (admin, agencies.uni_admin, agencies.moci_key, agencies.stranger):
            assert registry.revert(caller, "registerDocumentType", PERMIT, 1, agencies.moci, random_hash()) == (
                "RegistryNotAgencyAdmin",
                {"account": caller.address, "agencyId": agencies.moci},
            )

    @pytest.mark.parametrize("standing", [FROZEN, REMOVED])
    def test_a_frozen_or_removed_agency_registers_none(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, standing: int
    ) -> None:
        registry.send(admin, "setAgencyStatus", agencies.moci, standing)
        assert registry.revert(
            agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, random_hash()
        ) == (
            "RegistryAgencyFrozen",
            {"agencyId": agencies.moci},
        )

    def test_a_type_keeps_its_owner(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        registry.send(agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, random_hash())
        assert registry.revert(agencies.uni_admin, "registerDocumentType", PERMIT, 2, agencies.uni, random_hash()) == (
            "RegistryTypeOwnedByOther",
            {"typeId": PERMIT, "owner": agencies.moci},
        )
        assert registry.revert(admin, "registerDocumentType", PERMIT, 2, ZERO32, random_hash()) == (
            "RegistryTypeOwnedByOther",
            {"typeId": PERMIT, "owner": agencies.moci},
        )

    def test_a_shared_type_is_no_agencys(self, registry: Registry, agencies: Agencies) -> None:
        licence = type_id_to_bytes32("commercial-licence")  # shipped: shared from the registry's birth
        assert registry.revert(
            agencies.moci_admin, "registerDocumentType", licence, 2, agencies.moci, random_hash()
        ) == (
            "RegistryTypeOwnedByOther",
            {"typeId": licence, "owner": ZERO32},
        )

    @pytest.mark.parametrize("version", [0, 2, 3])
    def test_the_first_version_is_1(self, registry: Registry, agencies: Agencies, version: int) -> None:
        assert registry.revert(
            agencies.moci_admin, "registerDocumentType", PERMIT, version, agencies.moci, random_hash()
        ) == ("RegistryInvalidTypeVersion", {"typeId": PERMIT, "version": version, "expected": 1})

    def test_a_version_is_registered_once(self, registry: Registry, agencies: Agencies) -> None:
        registry.send(agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, random_hash())
        assert registry.revert(
            agencies.moci_admin, "registerDocumentType", PERMIT, 1, agencies.moci, random_hash()
        ) == (
            "RegistryInvalidTypeVersion",
            {"typeId": PERMIT, "version": 1, "expected": 2},
        )


class TestBornWithTheShippedTypes:
    def test_each_shipped_type_is_a_shared_version_1_with_its_definitions_hash(self, registry: Registry) -> None:
        for kind in shipped_definitions():
            agency, definition, registered_at, versions = registry.call("documentType", type_id_to_bytes32(kind.id), 1)
            assert (agency, "0x" + definition.hex(), versions) == (ZERO32, kind.hash, 1)
            assert registered_at > 0

    def test_the_same_type_twice_is_refused(
        self, web3: Web3, chain_node: ChainNode, artifact: ContractArtifact, admin: LocalAccount
    ) -> None:
        twice = [shipped_definitions()[0]] * 2
        selector = function_signature_to_4byte_selector("RegistryInvalidTypeVersion(bytes32,uint32,uint32)").hex()
        # The deployment's revert is not decoded by us: Anvil hands back its data (the selector),
        # Hardhat's node names the error itself.
        with pytest.raises(SijillError, match=f"0x{selector}|RegistryInvalidTypeVersion\\("):
            deploy_registry(
                web3, artifact, admin, rpc_url=chain_node.url, admin_transfer_delay=3600, shared_types=twice
            )

    def test_a_registry_may_be_born_with_no_type(
        self, web3: Web3, chain_node: ChainNode, artifact: ContractArtifact, admin: LocalAccount
    ) -> None:
        record = deploy_registry(
            web3, artifact, admin, rpc_url=chain_node.url, admin_transfer_delay=3600, shared_types=[]
        )
        bare = web3.eth.contract(address=record.address, abi=artifact.abi)
        assert bare.functions.documentType(type_id_to_bytes32("commercial-licence"), 1).call()[1] == ZERO32
