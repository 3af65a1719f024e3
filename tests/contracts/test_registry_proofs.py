"""The contract accepts exactly the proofs Sijill's own Merkle code produces (property test)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.documents.merkle import MerkleTree
from tests.contracts.conftest import Agencies, Registry


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    leaves=st.lists(st.binary(min_size=32, max_size=32).filter(any), min_size=1, max_size=40, unique=True),
    pick=st.integers(min_value=0),
)
def test_python_proofs_revoke_on_chain(registry: Registry, agencies: Agencies, leaves: list[bytes], pick: int) -> None:
    tree = MerkleTree.build([leaf.hex() for leaf in leaves])
    root = bytes.fromhex(tree.root)
    if registry.call("isIssued", root):
        return
    registry.send(agencies.moci_key, "anchor", root, len(leaves), 0)
    target = leaves[pick % len(leaves)]
    proof = [bytes.fromhex(node) for node in tree.proof(target.hex())]
    if target == root:  # a batch of one: the document is the root
        registry.send(agencies.moci_key, "revoke", root, 1)
    else:
        receipt = registry.send(agencies.moci_key, "revokeDocument", target, proof, 1)
        assert registry.events(receipt, "Revoked")[0]["root"] == root
    assert registry.call("isRevoked", target) is True
