"""Measure Sijill's registry and OpenAttestation's DocumentStore on one fresh Anvil; print the README's gas table.

    make gas            # or, from the repository root: .venv/bin/python -m scripts.gas_report

Every figure is the `gasUsed` of a real transaction's receipt, on both sides. OpenAttestation's
DocumentStore 3.0.0 comes from npm (`@govtechsg/document-store`) and is deployed on the same
chain. Like is compared with like: OpenAttestation v2 also batches documents under one Merkle
root and issues that root once, so a Sijill batch of N is held against OpenAttestation's
`issue` of an N-document root; OpenAttestation revokes one document by its target hash, so a
Sijill revocation of one document (with its Merkle proof) is held against `revoke(targetHash)`.
`bulkIssue` (N separate hashes in one transaction, no Merkle batch) is shown as what it is.
The output is saved to `benchmarks/results/gas.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_registry
from ledger.chain.registry import RegistryClient
from ledger.chain.rpc import connect
from ledger.documents.merkle import MerkleTree
from ledger.domain import HexHash

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ISSUER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SIZES = (2, 100, 1000)


class DocumentStore:
    """OpenAttestation's DocumentStore 3.0.0 (from npm), deployed by `owner` on `web3`'s chain."""

    def __init__(self, web3: Web3, owner: LocalAccount) -> None:
        artifact = json.loads(
            subprocess.run(
                ["node", str(ROOT / "benchmarks" / "oa_document_store.js")], capture_output=True, check=True, cwd=ROOT
            ).stdout
        )
        self.web3, self.owner = web3, owner
        factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self._send(factory.constructor("Gas report", owner.address))
        self.deploy_gas = int(receipt["gasUsed"])
        self.contract = web3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def _send(self, call: Any) -> Any:
        transaction = call.build_transaction(
            {"from": self.owner.address, "nonce": self.web3.eth.get_transaction_count(self.owner.address)}
        )
        signed = self.owner.sign_transaction(transaction)
        receipt = self.web3.eth.wait_for_transaction_receipt(self.web3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt["status"] == 1, receipt
        return receipt

    def gas(self, function: str, *args: Any) -> int:
        """The gas of one call of `function`."""
        return int(self._send(getattr(self.contract.functions, function)(*args))["gasUsed"])


def batch(count: int) -> MerkleTree:
    """The Merkle tree of `count` random target hashes, built by Sijill's own code."""
    return MerkleTree.build([os.urandom(32).hex() for _ in range(count)])


def per_document(gas: int, count: int, note: str = "") -> str:
    """`gas`, with its share per document for a batch, and `note` in the same brackets."""
    parts = [f"{gas / count:,.1f} / document"] if count > 1 else []
    parts += [note] if note else []
    return f"{gas:,} ({', '.join(parts)})" if parts else f"{gas:,}"


def main() -> None:
    admin: LocalAccount = Account.from_key(ADMIN_KEY)
    issuer: LocalAccount = Account.from_key(ISSUER_KEY)
    artifact = ContractArtifact.load()
    with Results("gas") as out, AnvilProcess(port=free_port()) as node:
        web3 = connect(node.url)
        record = deploy_registry(web3, artifact, admin, rpc_url=node.url, admin_transfer_delay=0)
        registry = RegistryClient(
            web3=web3, address=record.address, abi=artifact.abi, chain_id=record.chain_id, rpc_url=node.url
        )
        store = DocumentStore(web3, admin)
        deploy_gas = int(web3.eth.get_transaction_receipt(record.tx_hash)["gasUsed"])
        rows: list[tuple[str, str, str]] = [("deploy", f"{deploy_gas:,}", f"{store.deploy_gas:,}")]
        rows.append(
            ("registerAgency", f"{registry.register_agency(admin, 'moci', 'Ministry of Commerce').gas_used:,}", "-")
        )
        rows.append(("addIssuerKey", f"{registry.add_issuer_key(admin, 'moci', issuer.address).gas_used:,}", "-"))

        # Issuing: one Merkle root a batch on both sides.
        roots: dict[int, MerkleTree] = {}
        for size in (1, *SIZES[1:]):
            tree = roots[size] = batch(size)
            ours = registry.anchor(issuer, HexHash(tree.root), size, 0).gas_used
            theirs = store.gas("issue", bytes.fromhex(tree.root))  # the same root, in its own contract
            name = "anchor, 1 document" if size == 1 else f"anchor, batch of {size:,}"
            rows.append((name, per_document(ours, size), per_document(theirs, size, "`issue` of the root")))
        bulk = store.gas("bulkIssue", [os.urandom(32) for _ in range(100)])
        rows.append(
            (
                "100 separate hashes in one transaction",
                "n/a (a batch is one root)",
                f"{bulk:,} ({bulk / 100:,.0f} / hash, `bulkIssue`: no Merkle batch)",
            )
        )

        # Whole batches change by their root on both sides; OpenAttestation knows no suspension.
        ours = registry.revoke(issuer, HexHash(roots[1000].root), 1).gas_used
        theirs = store.gas("revoke", bytes.fromhex(roots[1000].root))
        rows.append(("revoke, whole batch", f"{ours:,}", f"{theirs:,} (`revoke` of the root)"))
        rows.append(
            ("suspend, whole batch", f"{registry.suspend(issuer, HexHash(roots[100].root), 7).gas_used:,}", "-")
        )
        rows.append(
            ("reinstate, whole batch", f"{registry.reinstate(issuer, HexHash(roots[100].root)).gas_used:,}", "-")
        )

        # One document of a batch: Sijill carries its Merkle proof, OpenAttestation revokes the hash alone.
        levels: dict[int, tuple[int, int]] = {}
        for size in SIZES:
            tree = batch(size)
            first = HexHash(tree.layers[0][0].hex())  # the first leaf: a proof of full depth
            proof = tree.proof(first)
            registry.anchor(issuer, HexHash(tree.root), size, 0)
            ours = registry.revoke_document(issuer, first, proof, 3).gas_used
            levels[size] = (len(proof), ours)
            store.gas("issue", bytes.fromhex(tree.root))
            theirs = store.gas("revoke", bytes.fromhex(first))
            rows.append(
                (
                    f"revoke 1 document in a batch of {size:,} ({len(proof)}-level proof)",
                    f"{ours:,}",
                    f"{theirs:,} (`revoke` of its target hash)",
                )
            )

        out.print("| operation | Sijill gas | OpenAttestation DocumentStore 3.0.0 |")
        out.print("|---|---:|---|")
        for name, gas, reference in rows:
            out.print(f"| {name} | {gas} | {reference} |")
        (short, short_gas), (deep, deep_gas) = levels[SIZES[0]], levels[SIZES[-1]]
        out.print()
        out.print(
            f"each proof level costs {(deep_gas - short_gas) / (deep - short):,.0f} gas: "
            f"({deep_gas:,} - {short_gas:,}) / ({deep} - {short}) levels"
        )


if __name__ == "__main__":
    main()
