"""Merkle batches of target hashes, as OpenAttestation v2 builds them.

Leaves are sorted, each layer pairs neighbours with ``keccak256(sorted(a, b))``,
and an odd last node moves up unchanged. The same sorted-pair rule is what
OpenZeppelin's ``MerkleProof`` checks on chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.documents.keccak import keccak256


def _to_bytes(hash_hex: str) -> bytes:
    raw = bytes.fromhex(hash_hex.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"a hash has 32 bytes, got {len(raw)}")
    return raw


def combine(first: bytes, second: bytes) -> bytes:
    """The parent of two nodes: keccak256 of their sorted concatenation."""
    low, high = sorted((first, second))
    return keccak256(low + high)


@dataclass(frozen=True, slots=True)
class MerkleTree:
    """A batch's tree; build it with `MerkleTree.build`."""

    layers: tuple[tuple[bytes, ...], ...]

    @classmethod
    def build(cls, leaves: Sequence[str]) -> MerkleTree:
        """Build the tree over hex target hashes. Raises `ValueError` for no leaves."""
        if not leaves:
            raise ValueError("a batch needs at least one document")
        layer = tuple(sorted(_to_bytes(leaf) for leaf in leaves))
        layers = [layer]
        while len(layer) > 1:
            layer = tuple(
                combine(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i] for i in range(0, len(layer), 2)
            )
            layers.append(layer)
        return cls(layers=tuple(layers))

    @property
    def root(self) -> str:
        """The Merkle root as hex."""
        return self.layers[-1][0].hex()

    def proof(self, leaf: str) -> list[str]:
        """The sibling hashes from `leaf` up to the root. Raises `KeyError` for a stranger."""
        target = _to_bytes(leaf)
        try:
            index = self.layers[0].index(target)
        except ValueError:
            raise KeyError(leaf) from None
        proof: list[str] = []
        for layer in self.layers[:-1]:
            sibling = index - 1 if index % 2 else index + 1
            if sibling < len(layer):
                proof.append(layer[sibling].hex())
            index //= 2
        return proof


def root_from_proof(leaf: str, proof: Sequence[str]) -> str:
    """The root that `proof` leads to from `leaf`. Raises `ValueError` for a malformed hash."""
    node = _to_bytes(leaf)
    for sibling in proof:
        node = combine(node, _to_bytes(sibling))
    return node.hex()
