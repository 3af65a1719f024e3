"""Gas ceilings of the registry, measured on Anvil. Gas is exact, so these are asserted.

The README's gas table comes from `scripts/gas_report.py`, which measures the same paths.
The ceilings are the shared-trust bars: a key action now also reads the pause switch (one
cold storage read, 2,100 gas), and its agency's freeze rides in the key record it reads anyway.
"""

from __future__ import annotations

import pytest

from tests.contracts.conftest import Agencies, Registry, random_hash, tree


def test_single_anchor_at_most_52_5k(registry: Registry, agencies: Agencies) -> None:
    receipt = registry.send(agencies.moci_key, "anchor", random_hash(), 1, 0)
    assert receipt["gasUsed"] <= 52_500


def test_anchor_with_expiry_at_most_52_5k(registry: Registry, agencies: Agencies) -> None:
    receipt = registry.send(agencies.moci_key, "anchor", random_hash(), 1, registry.latest_time() + 10**7)
    assert receipt["gasUsed"] <= 52_500


def test_batch_of_1000_at_most_53_gas_per_document(registry: Registry, agencies: Agencies) -> None:
    leaves = [random_hash() for _ in range(1000)]
    root, _ = tree(leaves)
    receipt = registry.send(agencies.moci_key, "anchor", root, 1000, 0)
    assert receipt["gasUsed"] / 1000 <= 53


@pytest.mark.parametrize("function", ["revoke", "suspend"])
def test_whole_batch_change_at_most_35_1k(registry: Registry, agencies: Agencies, function: str) -> None:
    root = random_hash()
    registry.send(agencies.moci_key, "anchor", root, 100, 0)
    receipt = registry.send(agencies.moci_key, function, root, 3)
    assert receipt["gasUsed"] <= 35_100


@pytest.mark.parametrize("size", [2, 100, 1000])
def test_revoke_one_document_at_most_62k(registry: Registry, agencies: Agencies, size: int) -> None:
    leaves = [random_hash() for _ in range(size)]
    root, proofs = tree(leaves)
    registry.send(agencies.moci_key, "anchor", root, size, 0)
    receipt = registry.send(agencies.moci_key, "revokeDocument", leaves[0], proofs[0], 3)
    assert receipt["gasUsed"] <= 62_000


def test_registering_a_type_at_most_100_5k_and_its_next_version_at_most_83_5k(
    registry: Registry, agencies: Agencies
) -> None:
    permit = b"visitor-entry-permit".ljust(32, b"\0")
    first = registry.send(agencies.moci_admin, "registerDocumentType", permit, 1, agencies.moci, random_hash())
    second = registry.send(agencies.moci_admin, "registerDocumentType", permit, 2, agencies.moci, random_hash())
    assert first["gasUsed"] <= 100_500
    assert second["gasUsed"] <= 83_500
