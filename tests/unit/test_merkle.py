"""Merkle batches: every proof leads to the root, and nothing else does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.documents.merkle import MerkleTree, root_from_proof

hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)
batches = st.lists(hashes, min_size=1, max_size=64, unique=True)


@given(batches)
def test_every_leaf_proves_to_the_root(leaves: list[str]) -> None:
    tree = MerkleTree.build(leaves)
    for leaf in leaves:
        assert root_from_proof(leaf, tree.proof(leaf)) == tree.root


@given(batches, st.randoms())
def test_root_does_not_depend_on_order(leaves: list[str], random: object) -> None:
    shuffled = list(leaves)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert MerkleTree.build(shuffled).root == MerkleTree.build(leaves).root


@given(batches.filter(lambda leaves: len(leaves) > 1), hashes)
def test_a_stranger_does_not_prove_with_a_members_proof(leaves: list[str], stranger: str) -> None:
    tree = MerkleTree.build(leaves)
    if stranger in leaves:
        return
    assert root_from_proof(stranger, tree.proof(leaves[0])) != tree.root


def test_single_document_root_is_its_target_hash() -> None:
    leaf = "ab" * 32
    tree = MerkleTree.build([leaf])
    assert tree.root == leaf
    assert tree.proof(leaf) == []


def test_empty_batch_and_unknown_leaf_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MerkleTree.build([])
    with pytest.raises(KeyError):
        MerkleTree.build(["ab" * 32]).proof("cd" * 32)
