"""DocumentRegistry documents: anchor, revoke, suspend, reinstate and the reads."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from tests.contracts.conftest import VIEW_FIELDS, ZERO32, Agencies, Registry, random_hash, tree

NONE, ACTIVE, SUSPENDED, REVOKED = 0, 1, 2, 3


def view(registry: Registry, target: bytes, root: bytes) -> dict[str, Any]:
    return dict(zip(VIEW_FIELDS, registry.call("inspect", target, root), strict=True))


@pytest.fixture
def batch(registry: Registry, agencies: Agencies) -> tuple[bytes, list[bytes], list[list[bytes]]]:
    """A batch of five documents anchored by moci: root, leaves, proofs."""
    leaves = [random_hash() for _ in range(5)]
    root, proofs = tree(leaves)
    registry.send(agencies.moci_key, "anchor", root, 5, 0)
    return root, leaves, proofs


class TestAnchor:
    def test_records_everything_in_one_view(self, registry: Registry, agencies: Agencies) -> None:
        root = random_hash()
        expires = registry.latest_time() + 86_400
        receipt = registry.send(agencies.moci_key, "anchor", root, 3, expires)
        assert registry.events(receipt, "Anchored") == [
            {
                "root": root,
                "key": agencies.moci_key.address,
                "documentCount": 3,
                "expiresAt": expires,
                "at": registry.block_time(receipt),
            }
        ]
        got = view(registry, root, root)
        assert got["agencyId"] == agencies.moci
        assert got["key"] == agencies.moci_key.address
        assert got["anchoredAt"] == registry.block_time(receipt)
        assert got["anchoredBlock"] == receipt["blockNumber"]
        assert (got["expiresAt"], got["documentCount"], got["batchStatus"]) == (expires, 3, ACTIVE)
        assert registry.call("isIssued", root) is True
        assert registry.call("isRevoked", root) is False

    def test_unknown_hash_reads_never_revert(self, registry: Registry) -> None:
        unknown = random_hash()
        assert registry.call("isIssued", unknown) is False
        assert registry.call("isRevoked", unknown) is False
        got = view(registry, unknown, unknown)
        assert got["batchStatus"] == NONE
        assert got["agencyId"] == ZERO32
        assert got["paused"] is False

    def test_root_anchored_once_only(self, registry: Registry, agencies: Agencies) -> None:
        root = random_hash()
        registry.send(agencies.moci_key, "anchor", root, 1, 0)
        assert registry.revert(agencies.uni_key, "anchor", root, 1, 0) == (
            "RegistryRootAlreadyAnchored",
            {"root": root},
        )

    def test_stranger_reverts(self, registry: Registry, agencies: Agencies) -> None:
        assert registry.revert(agencies.stranger, "anchor", random_hash(), 1, 0) == (
            "RegistryUnknownKey",
            {"key": agencies.stranger.address},
        )

    def test_key_before_its_window_reverts(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, accounts: list[LocalAccount]
    ) -> None:
        start = registry.latest_time() + 1000
        registry.send(agencies.moci_admin, "addIssuerKey", agencies.moci, accounts[4].address, start, 0)
        name, args = registry.revert(accounts[4], "anchor", random_hash(), 1, 0)
        assert (name, args["validFrom"]) == ("RegistryKeyNotValid", start)

    @pytest.mark.parametrize(
        ("root", "count", "error"),
        [(ZERO32, 1, "RegistryInvalidRoot"), (b"\x01" * 32, 0, "RegistryInvalidDocumentCount")],
    )
    def test_invalid_arguments_revert(
        self, registry: Registry, agencies: Agencies, root: bytes, count: int, error: str
    ) -> None:
        assert registry.revert(agencies.moci_key, "anchor", root, count, 0) == (error, {})

    def test_expiry_in_the_past_reverts(self, registry: Registry, agencies: Agencies) -> None:
        name, args = registry.revert(agencies.moci_key, "anchor", random_hash(), 1, 1000)
        assert (name, args["expiresAt"]) == ("RegistryExpiryInPast", 1000)


class TestRevoke:
    def test_own_agency_revokes_batch(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, leaves, _ = batch
        receipt = registry.send(agencies.moci_key, "revoke", root, 3)
        assert registry.events(receipt, "Revoked") == [
            {
                "hash": root,
                "by": agencies.moci_key.address,
                "root": root,
                "reason": 3,
                "at": registry.block_time(receipt),
            }
        ]
        got = view(registry, leaves[0], root)
        assert (got["batchStatus"], got["batchReason"]) == (REVOKED, 3)
        assert registry.call("isRevoked", root) is True
        assert registry.call("isIssued", root) is True

    def test_the_council_revokes_only_through_an_emergency_revocation(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, batch: Any
    ) -> None:
        assert registry.revert(admin, "revoke", batch[0], 6)[0] == "RegistryUnauthorized"
        registry.send(admin, "emergencyRevoke", batch[0], [], 6, "key compromise")
        assert view(registry, batch[0], batch[0])["batchStatus"] == REVOKED

    def test_other_agency_and_stranger_revert(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root = batch[0]
        for sender in (agencies.uni_key, agencies.stranger):
            assert registry.revert(sender, "revoke", root, 1) == (
                "RegistryUnauthorized",
                {"account": sender.address, "agencyId": agencies.moci},
            )

    def test_final(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root = batch[0]
        registry.send(agencies.moci_key, "revoke", root, 1)
        assert registry.revert(agencies.moci_key, "revoke", root, 1) == ("RegistryAlreadyRevoked", {"hash": root})
        assert registry.revert(agencies.moci_key, "suspend", root, 1) == ("RegistryAlreadyRevoked", {"hash": root})
        assert registry.revert(agencies.moci_key, "reinstate", root) == ("RegistryNotSuspended", {"hash": root})

    def test_unknown_root_reverts(self, registry: Registry, agencies: Agencies) -> None:
        unknown = random_hash()
        assert registry.revert(agencies.moci_key, "revoke", unknown, 1) == ("RegistryNotAnchored", {"root": unknown})

    def test_retired_key_cannot_revoke(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, batch: Any
    ) -> None:
        receipt = registry.send(agencies.moci_admin, "setIssuerKeyValidUntil", agencies.moci_key.address, 0)
        registry.mine_at(registry.block_time(receipt) + 5)
        assert registry.revert(agencies.moci_key, "revoke", batch[0], 1)[0] == "RegistryKeyNotValid"


class TestRevokeDocument:
    def test_revokes_one_document_only(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, leaves, proofs = batch
        receipt = registry.send(agencies.moci_key, "revokeDocument", leaves[2], proofs[2], 2)
        assert registry.events(receipt, "Revoked") == [
            {
                "hash": leaves[2],
                "by": agencies.moci_key.address,
                "root": root,
                "reason": 2,
                "at": registry.block_time(receipt),
            }
        ]
        revoked = view(registry, leaves[2], root)
        assert (revoked["documentStatus"], revoked["documentReason"]) == (REVOKED, 2)
        assert revoked["documentAgencyId"] == agencies.moci
        assert registry.call("isRevoked", leaves[2]) is True
        assert registry.call("isRevoked", leaves[1]) is False
        assert registry.call("isRevoked", root) is False
        assert view(registry, leaves[1], root)["documentStatus"] == NONE

    def test_the_council_and_the_agency_admin_may_not_revoke_a_document_directly(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, batch: Any
    ) -> None:
        _root, leaves, proofs = batch
        for caller in (admin, agencies.moci_admin):
            assert registry.revert(caller, "revokeDocument", leaves[0], proofs[0], 6)[0] == "RegistryUnauthorized"
        assert registry.call("isRevoked", leaves[0]) is False

    def test_forged_proof_finds_no_anchor(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, _leaves, proofs = batch
        stranger = random_hash()
        name, args = registry.revert(agencies.moci_key, "revokeDocument", stranger, proofs[0], 1)
        assert name == "RegistryNotAnchored"
        assert args["root"] != root
        assert registry.call("isRevoked", stranger) is False

    def test_other_agency_reverts(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        _root, leaves, proofs = batch
        assert registry.revert(agencies.uni_key, "revokeDocument", leaves[0], proofs[0], 1)[0] == (
            "RegistryUnauthorized"
        )

    def test_twice_reverts(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        _root, leaves, proofs = batch
        registry.send(agencies.moci_key, "revokeDocument", leaves[0], proofs[0], 1)
        assert registry.revert(agencies.moci_key, "revokeDocument", leaves[0], proofs[0], 1) == (
            "RegistryAlreadyRevoked",
            {"hash": leaves[0]},
        )

    def test_in_revoked_batch_reverts(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, leaves, proofs = batch
        registry.send(agencies.moci_key, "revoke", root, 1)
        assert registry.revert(agencies.moci_key, "revokeDocument", leaves[0], proofs[0], 1) == (
            "RegistryAlreadyRevoked",
            {"hash": root},
        )

    def test_unknown_root_reverts(self, registry: Registry, agencies: Agencies) -> None:
        lone = random_hash()  # with an empty proof, the root is the target hash itself
        assert registry.revert(agencies.moci_key, "revokeDocument", lone, [], 1) == (
            "RegistryNotAnchored",
            {"root": lone},
        )

    def test_a_later_agency_cannot_change_an_earlier_agencys_document(
        self, registry: Registry, agencies: Agencies
    ) -> None:
        shared = random_hash()
        moci_root, moci_proofs = tree([shared, random_hash()])
        uni_root, uni_proofs = tree([shared, random_hash()])
        registry.send(agencies.moci_key, "anchor", moci_root, 2, 0)
        registry.set_next_time(registry.latest_time() + 10)
        registry.send(agencies.uni_key, "anchor", uni_root, 2, 0)
        registry.send(agencies.moci_key, "suspendDocument", shared, moci_proofs[0], 1)
        assert registry.revert(agencies.uni_key, "revokeDocument", shared, uni_proofs[0], 1) == (
            "RegistryDocumentOwnedByOtherAgency",
            {"targetHash": shared, "owner": agencies.moci},
        )

    def test_the_first_issuer_takes_a_suspended_document_back(self, registry: Registry, agencies: Agencies) -> None:
        """An agency that copies another's target hash into its own later batch and suspends
        it there cannot hold the document: the first issuer's change discards it."""
        shared = random_hash()
        registry.send(agencies.moci_key, "anchor", shared, 1, 0)  # moci issued it alone, first
        uni_root, uni_proofs = tree([shared, random_hash()])
        registry.set_next_time(registry.latest_time() + 10)
        registry.send(agencies.uni_key, "anchor", uni_root, 2, 0)
        registry.send(agencies.uni_key, "suspendDocument", shared, uni_proofs[0], 3)
        assert registry.call("isRevoked", shared) is True
        assert view(registry, shared, shared)["documentAgencyId"] == agencies.uni
        registry.send(agencies.moci_key, "suspendDocument", shared, [], 1)
        registry.send(agencies.moci_key, "reinstateDocument", shared, [])
        got = view(registry, shared, shared)
        assert (got["documentAgencyId"], got["documentStatus"]) == (agencies.moci, ACTIVE)
        assert registry.call("isRevoked", shared) is False
        assert registry.revert(agencies.uni_key, "revokeDocument", shared, uni_proofs[0], 3)[0] == (
            "RegistryDocumentOwnedByOtherAgency"
        )

    def test_a_revocation_is_final_whoever_claims_the_document(self, registry: Registry, agencies: Agencies) -> None:
        """Fail safe: a copy's revocation stays (OpenAttestation's isRevoked reads true; Sijill's
        verifier reads the document's own agency), nobody can make isRevoked false again, and the
        real issuer can still revoke its document as its own."""
        shared = random_hash()
        registry.send(agencies.moci_key, "anchor", shared, 1, 0)
        uni_root, uni_proofs = tree([shared, random_hash()])
        registry.set_next_time(registry.latest_time() + 10)
        registry.send(agencies.uni_key, "anchor", uni_root, 2, 0)
        registry.send(agencies.uni_key, "revokeDocument", shared, uni_proofs[0], 3)
        assert registry.revert(agencies.moci_key, "suspendDocument", shared, [], 1) == (
            "RegistryAlreadyRevoked",
            {"hash": shared},
        )
        registry.send(agencies.moci_key, "revokeDocument", shared, [], 2)  # the real issuer's own revocation
        got = view(registry, shared, shared)
        assert (got["documentAgencyId"], got["documentStatus"], got["documentReason"]) == (agencies.moci, REVOKED, 2)
        assert registry.revert(agencies.moci_key, "reinstateDocument", shared, [])[0] == "RegistryNotSuspended"
        assert registry.call("isRevoked", shared) is True

    def test_no_later_copy_undoes_the_first_issuers_revocation(self, registry: Registry, agencies: Agencies) -> None:
        """The flaw the stateful test found: moci issues L at t1, uni anchors a copy at t2, moci
        anchors L again at t3 and revokes it through that batch. Uni's earlier claim (t2 < t3)
        once let it take the record over and make isRevoked(L) false."""
        document = random_hash()
        first_root, _ = tree([document, random_hash()])
        registry.send(agencies.moci_key, "anchor", first_root, 2, 0)
        registry.set_next_time(registry.latest_time() + 10)
        uni_root, uni_proofs = tree([document, random_hash()])
        registry.send(agencies.uni_key, "anchor", uni_root, 2, 0)
        registry.set_next_time(registry.latest_time() + 10)
        again_root, again_proofs = tree([document, random_hash()])
        registry.send(agencies.moci_key, "anchor", again_root, 2, 0)
        registry.send(agencies.moci_key, "revokeDocument", document, again_proofs[0], 1)
        for function, args in (("suspendDocument", (1,)), ("reinstateDocument", ())):
            assert registry.revert(agencies.uni_key, function, document, uni_proofs[0], *args) == (
                "RegistryAlreadyRevoked",
                {"hash": document},
            )
        registry.send(agencies.uni_key, "revokeDocument", document, uni_proofs[0], 2)  # may only keep it revoked
        assert registry.revert(agencies.uni_key, "reinstateDocument", document, uni_proofs[0])[0] == (
            "RegistryNotSuspended"
        )
        assert registry.call("isRevoked", document) is True

    def test_a_single_document_keeps_batch_and_document_records_apart(
        self, registry: Registry, agencies: Agencies
    ) -> None:
        lone = random_hash()
        registry.send(agencies.moci_key, "anchor", lone, 1, 0)
        registry.send(agencies.moci_key, "suspendDocument", lone, [], 1)
        registry.send(agencies.moci_key, "reinstateDocument", lone, [])
        registry.send(agencies.moci_key, "suspend", lone, 2)
        registry.send(agencies.moci_key, "reinstate", lone)
        assert registry.call("isRevoked", lone) is False

    def test_paused_reverts(self, registry: Registry, agencies: Agencies, guardian: LocalAccount, batch: Any) -> None:
        _root, leaves, proofs = batch
        registry.send(guardian, "pause")
        assert registry.revert(agencies.moci_key, "revokeDocument", leaves[0], proofs[0], 1) == (
            "EnforcedPause",
            {},
        )


class TestSuspendAndReinstate:
    def test_batch_round_trip(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root = batch[0]
        receipt = registry.send(agencies.moci_key, "suspend", root, 7)
        assert registry.events(receipt, "Suspended") == [
            {
                "hash": root,
                "by": agencies.moci_key.address,
                "root": root,
                "reason": 7,
                "at": registry.block_time(receipt),
            }
        ]
        assert (view(registry, root, root)["batchStatus"], registry.call("isRevoked", root)) == (SUSPENDED, True)
        assert registry.revert(agencies.moci_key, "suspend", root, 7) == ("RegistryAlreadySuspended", {"hash": root})
        receipt = registry.send(agencies.moci_key, "reinstate", root)
        assert registry.events(receipt, "Reinstated") == [
            {"hash": root, "by": agencies.moci_key.address, "root": root, "at": registry.block_time(receipt)}
        ]
        got = view(registry, root, root)
        assert (got["batchStatus"], got["batchReason"]) == (ACTIVE, 0)
        assert registry.call("isRevoked", root) is False

    def test_document_round_trip(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, leaves, proofs = batch
        receipt = registry.send(agencies.moci_key, "suspendDocument", leaves[3], proofs[3], 8)
        assert registry.events(receipt, "Suspended") == [
            {
                "hash": leaves[3],
                "by": agencies.moci_key.address,
                "root": root,
                "reason": 8,
                "at": registry.block_time(receipt),
            }
        ]
        assert view(registry, leaves[3], root)["documentStatus"] == SUSPENDED
        assert registry.revert(agencies.moci_key, "suspendDocument", leaves[3], proofs[3], 8) == (
            "RegistryAlreadySuspended",
            {"hash": leaves[3]},
        )
        receipt = registry.send(agencies.moci_key, "reinstateDocument", leaves[3], proofs[3])
        assert registry.events(receipt, "Reinstated") == [
            {"hash": leaves[3], "by": agencies.moci_key.address, "root": root, "at": registry.block_time(receipt)}
        ]
        assert view(registry, leaves[3], root)["documentStatus"] == ACTIVE
        registry.send(agencies.moci_key, "revokeDocument", leaves[3], proofs[3], 1)
        assert registry.revert(agencies.moci_key, "suspendDocument", leaves[3], proofs[3], 8) == (
            "RegistryAlreadyRevoked",
            {"hash": leaves[3]},
        )
        assert registry.revert(agencies.moci_key, "reinstateDocument", leaves[3], proofs[3]) == (
            "RegistryNotSuspended",
            {"hash": leaves[3]},
        )

    def test_admin_may_not_suspend_or_reinstate(
        self, registry: Registry, agencies: Agencies, admin: LocalAccount, batch: Any
    ) -> None:
        root, leaves, proofs = batch
        assert registry.revert(admin, "suspend", root, 1)[0] == "RegistryUnauthorized"
        assert registry.revert(admin, "suspendDocument", leaves[0], proofs[0], 1)[0] == "RegistryUnauthorized"
        registry.send(agencies.moci_key, "suspend", root, 1)
        assert registry.revert(admin, "reinstate", root)[0] == "RegistryUnauthorized"
        registry.send(agencies.moci_key, "suspendDocument", leaves[1], proofs[1], 1)
        assert registry.revert(admin, "reinstateDocument", leaves[1], proofs[1])[0] == "RegistryUnauthorized"

    def test_other_agency_reverts(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, leaves, proofs = batch
        assert registry.revert(agencies.uni_key, "suspend", root, 1)[0] == "RegistryUnauthorized"
        registry.send(agencies.moci_key, "suspendDocument", leaves[0], proofs[0], 1)
        assert registry.revert(agencies.uni_key, "reinstateDocument", leaves[0], proofs[0]) == (
            "RegistryUnauthorized",
            {"account": agencies.uni_key.address, "agencyId": agencies.moci},
        )

    def test_invalid_proof_and_unknown_hash_revert(self, registry: Registry, agencies: Agencies, batch: Any) -> None:
        root, leaves, proofs = batch
        assert registry.revert(agencies.moci_key, "suspendDocument", leaves[0], proofs[1], 1)[0] == (
            "RegistryNotAnchored"
        )
        unknown = random_hash()
        assert registry.revert(agencies.moci_key, "suspend", unknown, 1) == ("RegistryNotAnchored", {"root": unknown})
        assert registry.revert(agencies.moci_key, "reinstate", unknown) == ("RegistryNotAnchored", {"root": unknown})
        assert registry.revert(agencies.moci_key, "reinstate", root) == ("RegistryNotSuspended", {"hash": root})

    def test_paused_reverts(self, registry: Registry, agencies: Agencies, guardian: LocalAccount, batch: Any) -> None:
        root, leaves, proofs = batch
        registry.send(agencies.moci_key, "suspend", root, 1)
        registry.send(guardian, "pause")
        assert registry.revert(agencies.moci_key, "reinstate", root) == ("EnforcedPause", {})
        assert registry.revert(agencies.moci_key, "suspendDocument", leaves[0], proofs[0], 1) == (
            "EnforcedPause",
            {},
        )
