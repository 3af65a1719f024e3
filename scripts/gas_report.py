"""Measure the registry's gas on a fresh Anvil and print the README's gas table.

    make gas            # or: .venv/bin/python scripts/gas_report.py

Every figure is the `gasUsed` of a real transaction's receipt.
"""

from __future__ import annotations

import os

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_registry
from ledger.chain.registry import RegistryClient
from ledger.chain.rpc import connect
from ledger.documents.merkle import MerkleTree
from ledger.domain import HexHash

ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ISSUER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

# OpenAttestation DocumentStore 3.0.0 on Anvil 1.7.1 (../shared/TOOLCHAIN.md), for comparison.
DOCUMENT_STORE = {
    "anchor": "47,874 (`issue`)",
    "revoke": "47,968 (`revoke`)",
    "batch": "24,452 / document (`bulkIssue` of 100)",
}


def batch(count: int) -> MerkleTree:
    """The Merkle tree of `count` random target hashes, built by Sijill's own code."""
    return MerkleTree.build([os.urandom(32).hex() for _ in range(count)])


def main() -> None:
    admin: LocalAccount = Account.from_key(ADMIN_KEY)
    issuer: LocalAccount = Account.from_key(ISSUER_KEY)
    artifact = ContractArtifact.load()
    with AnvilProcess(port=free_port()) as node:
        web3 = connect(node.url)
        record = deploy_registry(web3, artifact, admin, rpc_url=node.url, admin_transfer_delay=0)
        registry = RegistryClient(
            web3=web3, address=record.address, abi=artifact.abi, chain_id=record.chain_id, rpc_url=node.url
        )
        deploy_gas = web3.eth.get_transaction_receipt(record.tx_hash)["gasUsed"]
        rows: list[tuple[str, str, str]] = [("deploy", f"{deploy_gas:,}", "1,106,260")]
        rows.append(
            ("registerAgency", f"{registry.register_agency(admin, 'moci', 'Ministry of Commerce').gas_used:,}", "-")
        )
        rows.append(("addIssuerKey", f"{registry.add_issuer_key(admin, 'moci', issuer.address).gas_used:,}", "-"))

        single = HexHash(os.urandom(32).hex())
        rows.append(
            ("anchor, 1 document", f"{registry.anchor(issuer, single, 1).gas_used:,}", DOCUMENT_STORE["anchor"])
        )
        root_100 = HexHash(batch(100).root)
        gas_100 = registry.anchor(issuer, root_100, 100, 0).gas_used
        rows.append(("anchor, batch of 100", f"{gas_100:,} ({gas_100 / 100:,.0f} / document)", DOCUMENT_STORE["batch"]))
        gas_1000 = registry.anchor(issuer, HexHash(batch(1000).root), 1000, 0).gas_used
        rows.append(("anchor, batch of 1,000", f"{gas_1000:,} ({gas_1000 / 1000:,.1f} / document)", "-"))
        rows.append(
            ("revoke, whole batch", f"{registry.revoke(issuer, single, 1).gas_used:,}", DOCUMENT_STORE["revoke"])
        )
        rows.append(("suspend, whole batch", f"{registry.suspend(issuer, root_100, 7).gas_used:,}", "-"))
        rows.append(("reinstate, whole batch", f"{registry.reinstate(issuer, root_100).gas_used:,}", "-"))
        for size in (2, 100, 1000):
            tree = batch(size)
            first = HexHash(tree.layers[0][0].hex())  # the first leaf: a proof of full depth
            registry.anchor(issuer, HexHash(tree.root), size, 0)
            gas = registry.revoke_document(issuer, first, tree.proof(first), 3).gas_used
            rows.append((f"revoke 1 document in a batch of {size:,}", f"{gas:,}", "-"))

    print("| operation | Sijill gas | OpenAttestation DocumentStore 3.0.0 |")
    print("|---|---:|---|")
    for name, gas, reference in rows:
        print(f"| {name} | {gas} | {reference} |")


if __name__ == "__main__":
    main()
