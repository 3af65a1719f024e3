"""DocumentRegistry credential keys: the P-256 keys that sign an agency's Verifiable Credentials.

The chain keeps only each key's hash, agency and validity window; a verifier asks it which key
was valid when a credential says it was issued. Every revert path of both functions is here.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from tests.contracts.conftest import NO_END, ZERO32, Agencies, Registry, agency_bytes

FROZEN, ACTIVE = 2, 1


def p256_key() -> bytes:
    """A fresh compressed P-256 public key (33 bytes)."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


class TestAddCredentialKey:
    def test_registers_the_hash_with_its_window_and_emits_the_key(self, registry: Registry, agencies: Agencies) -> None:
        key = p256_key()
        receipt = registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, 0)
        now = registry.block_time(receipt)
        assert registry.events(receipt, "CredentialKeyAdded") == [
            {"agencyId": agencies.moci, "keyId": keccak(key), "publicKey": key, "validFrom": now, "validUntil": NO_END}
        ]
        assert tuple(registry.call("credentialKey", keccak(key))) == (agencies.moci, now, NO_END)

    def test_future_window(self, registry: Registry, agencies: Agencies) -> None:
        key, start = p256_key(), registry.latest_time() + 1000
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, start, start + 500)
        assert tuple(registry.call("credentialKey", keccak(key))) == (agencies.moci, start, start + 500)

    def test_an_unknown_key_reads_as_zero(self, registry: Registry) -> None:
        assert tuple(registry.call("credentialKey", keccak(p256_key()))) == (ZERO32, 0, 0)

    def test_credential_keys_are_not_issuer_keys(self, registry: Registry, agencies: Agencies) -> None:
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, p256_key(), 0, 0)
        assert registry.call("agency", agencies.moci)[3] == 1  # still one issuer key

    @pytest.mark.parametrize(
        "key",
        [b"", b"\x02" * 32, b"\x02" * 34, b"\x04" + b"\x01" * 32, b"\x00" * 33],
        ids=["empty", "short", "long", "uncompressed-prefix", "zero-prefix"],
    )
    def test_a_key_that_is_not_a_compressed_point_reverts(
        self, registry: Registry, agencies: Agencies, key: bytes
    ) -> None:
        assert registry.revert(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, 0) == (
            "RegistryInvalidCredentialKey",
            {"length": len(key)},
        )

    def test_a_key_serves_one_agency_for_life(self, registry: Registry, agencies: Agencies) -> None:
        key = p256_key()
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, 0)
        for admin, agency in ((agencies.moci_admin, agencies.moci), (agencies.uni_admin, agencies.uni)):
            assert registry.revert(admin, "addCredentialKey", agency, key, 0, 0) == (
                "RegistryCredentialKeyAlreadyRegistered",
                {"keyId": keccak(key)},
            )

    def test_unknown_agency_reverts(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(agencies.moci_admin, "addCredentialKey", agency_bytes("x"), p256_key(), 0, 0) == (
            "RegistryUnknownAgency",
            {"agencyId": agency_bytes("x")},
        )

    def test_only_the_agency_admin_adds(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        for caller in (admin, agencies.uni_admin, agencies.moci_key):
            assert registry.revert(caller, "addCredentialKey", agencies.moci, p256_key(), 0, 0) == (
                "RegistryNotAgencyAdmin",
                {"account": caller.address, "agencyId": agencies.moci},
            )

    def test_a_frozen_agency_adds_none(self, registry: Registry, agencies: Agencies, admin: LocalAccount) -> None:
        registry.send(admin, "setAgencyStatus", agencies.moci, FROZEN)
        assert registry.revert(agencies.moci_admin, "addCredentialKey", agencies.moci, p256_key(), 0, 0) == (
            "RegistryAgencyFrozen",
            {"agencyId": agencies.moci},
        )

    def test_window_starting_in_the_past_reverts(self, registry: Registry, agencies: Agencies) -> None:
        registry.mine_at(registry.latest_time() + 100)
        name, args = registry.revert(agencies.moci_admin, "addCredentialKey", agencies.moci, p256_key(), 5, 0)
        assert (name, args["validFrom"]) == ("RegistryInvalidValidityWindow", 5)

    def test_empty_window_reverts(self, registry: Registry, agencies: Agencies) -> None:
        start = registry.latest_time() + 1000
        name, args = registry.revert(agencies.moci_admin, "addCredentialKey", agencies.moci, p256_key(), start, start)
        assert (name, args["validFrom"], args["validUntil"]) == ("RegistryInvalidValidityWindow", start, start)


class TestSetCredentialKeyValidUntil:
    def test_retire_now(self, registry: Registry, agencies: Agencies) -> None:
        key = p256_key()
        added = registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, 0)
        receipt = registry.send(agencies.moci_admin, "setCredentialKeyValidUntil", keccak(key), 0)
        retired_at = registry.block_time(receipt)
        assert registry.events(receipt, "CredentialKeyValidUntilChanged") == [
            {"agencyId": agencies.moci, "keyId": keccak(key), "validUntil": retired_at + 1}
        ]
        assert tuple(registry.call("credentialKey", keccak(key))) == (
            agencies.moci,
            registry.block_time(added),
            retired_at + 1,
        )

    def test_extend(self, registry: Registry, agencies: Agencies) -> None:
        key = p256_key()
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, registry.latest_time() + 100)
        until = registry.latest_time() + 10_000
        registry.send(agencies.moci_admin, "setCredentialKeyValidUntil", keccak(key), until)
        assert registry.call("credentialKey", keccak(key))[2] == until

    def test_a_key_not_yet_started_retires_with_an_empty_window(self, registry: Registry, agencies: Agencies) -> None:
        key, start = p256_key(), registry.latest_time() + 1000
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, start, 0)
        registry.send(agencies.moci_admin, "setCredentialKeyValidUntil", keccak(key), 0)
        assert tuple(registry.call("credentialKey", keccak(key))) == (agencies.moci, start, start)

    def test_unknown_key_reverts(self, registry: Registry, agencies: Agencies) -> None:
        key_id = keccak(p256_key())
        assert registry.revert(agencies.moci_admin, "setCredentialKeyValidUntil", key_id, 0) == (
            "RegistryUnknownCredentialKey",
            {"keyId": key_id},
        )

    def test_past_end_reverts(self, registry: Registry, agencies: Agencies) -> None:
        key = p256_key()
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, 0)
        name, args = registry.revert(agencies.moci_admin, "setCredentialKeyValidUntil", keccak(key), 1)
        assert (name, args["validUntil"]) == ("RegistryInvalidValidityWindow", 1)

    def test_only_the_agency_admin_moves_its_keys(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        key = p256_key()
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, 0)
        for caller in (admin, agencies.uni_admin, agencies.moci_key):
            assert registry.revert(caller, "setCredentialKeyValidUntil", keccak(key), 0) == (
                "RegistryNotAgencyAdmin",
                {"account": caller.address, "agencyId": agencies.moci},
            )

    def test_a_frozen_agency_retires_a_stolen_key_but_extends_none(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount
    ) -> None:
        key = p256_key()
        end = registry.latest_time() + 10**6
        registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, key, 0, end)
        registry.send(admin, "setAgencyStatus", agencies.moci, FROZEN)
        assert registry.revert(agencies.moci_admin, "setCredentialKeyValidUntil", keccak(key), end + 1) == (
            "RegistryAgencyFrozen",
            {"agencyId": agencies.moci},
        )
        receipt = registry.send(agencies.moci_admin, "setCredentialKeyValidUntil", keccak(key), 0)
        assert registry.call("credentialKey", keccak(key))[2] == registry.block_time(receipt) + 1


def test_adding_a_credential_key_costs_at_most_57k(registry: Registry, agencies: Agencies) -> None:
    receipt = registry.send(agencies.moci_admin, "addCredentialKey", agencies.moci, p256_key(), 0, 0)
    assert receipt["gasUsed"] <= 57_000
