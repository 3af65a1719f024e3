"""The contract accepts exactly the proofs Sijill's own Merkle code produces (property test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from ledger.documents.merkle import MerkleTree
from tests.contracts.conftest import Agencies, Registry
from tests.profile import scaled


def rpc(web3: Web3, method: str, *params: Any) -> Any:
    response = web3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


@contextmanager
def chain_restored(web3: Web3) -> Iterator[None]:
    """Run a block of transactions, then put the chain back as it was (Anvil's snapshot and revert)."""
    snapshot = rpc(web3, "evm_snapshot")
    try:
        yield
    finally:
        assert rpc(web3, "evm_revert", snapshot) is True, "the chain could not be put back"


@settings(max_examples=scaled(12, 200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    leaves=st.lists(st.binary(min_size=32, max_size=32).filter(any), min_size=1, max_size=40, unique=True),
    pick=st.integers(min_value=0),
)
def test_python_proofs_revoke_on_chain(registry: Registry, agencies: Agencies, leaves: list[bytes], pick: int) -> None:
    """A batch anchored with the root Sijill computes, and one of its documents revoked with Sijill's proof of it:
    the chain says the document is revoked. Each example starts from the same registry (nothing anchored)."""
    tree = MerkleTree.build([leaf.hex() for leaf in leaves])
    root = bytes.fromhex(tree.root)
    with chain_restored(registry.web3):
        assert registry.call("isIssued", root) is False, f"expected root {tree.root} not issued before its anchor"
        registry.send(agencies.moci_key, "anchor", root, len(leaves), 0)
        target = leaves[pick % len(leaves)]
        proof = [bytes.fromhex(node) for node in tree.proof(target.hex())]
        if target == root:  # a batch of one: the document is the root
            registry.send(agencies.moci_key, "revoke", root, 1)
        else:
            receipt = registry.send(agencies.moci_key, "revokeDocument", target, proof, 1)
            revoked = registry.events(receipt, "Revoked")
            assert [event["root"] for event in revoked] == [root], f"expected one revocation under {root.hex()}"
        assert registry.call("isRevoked", target) is True, f"expected {target.hex()} revoked with Sijill's proof"
