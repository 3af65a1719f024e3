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
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from benchmarks.results import Results
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_governed_registry, deploy_registry
from ledger.chain.registry import RegistryClient
from ledger.chain.rpc import connect
from ledger.council import build_call
from ledger.documents.definitions import shipped_definitions, type_id_to_bytes32
from ledger.documents.merkle import MerkleTree
from ledger.domain import HexHash
from ledger.errors import SijillError
from ledger.settings import DEV_COUNCIL_KEYS

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ISSUER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
AGENCY_ADMIN_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
GUARDIAN_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
COUNCIL_DELAY = 2  # seconds: the development council's delay
PAUSE_AT_KEYS = (10, 5000)  # over five agencies: an agency gets at most 1,000 keys
KEYS_PER_AGENCY = 1000
SIZES = (2, 100, 1000)


class Sender:
    """Sends calls of `contract` signed by `account`, each of which must succeed."""

    def __init__(self, web3: Web3, contract: Any, account: LocalAccount) -> None:
        self.web3, self.contract, self.account = web3, contract, account

    def send(self, call: Any) -> Any:
        """The receipt of `call`, mined."""
        transaction = call.build_transaction(
            {"from": self.account.address, "nonce": self.web3.eth.get_transaction_count(self.account.address)}
        )
        signed = self.account.sign_transaction(transaction)
        receipt = self.web3.eth.wait_for_transaction_receipt(self.web3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt["status"] == 1, receipt
        return receipt

    def gas(self, function: str, *args: Any) -> int:
        """The gas of one call of `function`."""
        return int(self.send(getattr(self.contract.functions, function)(*args))["gasUsed"])

    def send_data(self, to: str, data: bytes = b"", *, value: int = 0, gas: int | None = None) -> int:
        """The gas of one transaction to `to` with calldata `data` (a call encoded elsewhere) or `value` wei."""
        transaction: dict[str, Any] = {
            "from": self.account.address,
            "to": to,
            "data": "0x" + data.hex(),
            "value": value,
            "nonce": self.web3.eth.get_transaction_count(self.account.address),
            "chainId": self.web3.eth.chain_id,
        }
        transaction["gas"] = gas or self.web3.eth.estimate_gas(transaction)  # type: ignore[arg-type]
        fee = self.web3.eth.get_block("latest")["baseFeePerGas"]
        transaction.update(maxFeePerGas=2 * fee + 10**9, maxPriorityFeePerGas=10**9)
        signed = self.account.sign_transaction(transaction)
        receipt = self.web3.eth.wait_for_transaction_receipt(self.web3.eth.send_raw_transaction(signed.raw_transaction))
        if receipt["status"] != 1:
            raise SijillError(f"transaction {receipt['transactionHash'].hex()} failed")
        return int(receipt["gasUsed"])


class DocumentStore:
    """OpenAttestation's DocumentStore 3.0.0 (from npm), deployed by `owner` on `web3`'s chain."""

    def __init__(self, web3: Web3, owner: LocalAccount) -> None:
        artifact = json.loads(
            subprocess.run(
                ["node", str(ROOT / "benchmarks" / "oa_document_store.js")], capture_output=True, check=True, cwd=ROOT
            ).stdout
        )
        factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = Sender(web3, None, owner).send(factory.constructor("Gas report", owner.address))
        self.deploy_gas = int(receipt["gasUsed"])
        self._sender = Sender(web3, web3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"]), owner)

    def gas(self, function: str, *args: Any) -> int:
        """The gas of one call of `function`."""
        return self._sender.gas(function, *args)


def batch(count: int) -> MerkleTree:
    """The Merkle tree of `count` random target hashes, built by Sijill's own code."""
    return MerkleTree.build([os.urandom(32).hex() for _ in range(count)])


def per_document(gas: int, count: int, note: str = "") -> str:
    """`gas`, with its share per document for a batch, and `note` in the same brackets."""
    parts = [f"{gas / count:,.1f} / document"] if count > 1 else []
    parts += [note] if note else []
    return f"{gas:,} ({', '.join(parts)})" if parts else f"{gas:,}"


def add_keys(web3: Web3, registry: Any, agency_admin: LocalAccount, agency: bytes, count: int) -> None:
    """Add `count` fresh issuer keys for `agency`, 200 transactions a block."""
    nonce = web3.eth.get_transaction_count(agency_admin.address, "pending")
    web3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        sent = []
        for i in range(count):
            call = registry.functions.addIssuerKey(agency, Account.create().address, 0, 0)
            fees = {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1, "gas": 200_000}
            transaction = call.build_transaction({"from": agency_admin.address, "nonce": nonce + i, **fees})
            signed = agency_admin.sign_transaction(transaction)
            sent.append(web3.eth.send_raw_transaction(signed.raw_transaction))
            if len(sent) % 200 == 0:
                web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        web3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert all(web3.eth.get_transaction_receipt(tx)["status"] == 1 for tx in sent[-1:])


def main() -> None:
    admin: LocalAccount = Account.from_key(ADMIN_KEY)
    issuer: LocalAccount = Account.from_key(ISSUER_KEY)
    agency_admin: LocalAccount = Account.from_key(AGENCY_ADMIN_KEY)
    guardian: LocalAccount = Account.from_key(GUARDIAN_KEY)
    artifact = ContractArtifact.load()
    with Results("gas") as out, AnvilProcess(port=free_port()) as node:
        web3 = connect(node.url)
        record = deploy_registry(
            web3, artifact, admin, rpc_url=node.url, admin_transfer_delay=0, guardians=[guardian.address]
        )
        contract = web3.eth.contract(address=record.address, abi=artifact.abi)
        governance, issuing = Sender(web3, contract, admin), Sender(web3, contract, issuer)
        store = DocumentStore(web3, admin)
        deploy_gas = int(web3.eth.get_transaction_receipt(record.tx_hash)["gasUsed"])
        shipped = len(shipped_definitions())
        rows: list[tuple[str, str, str]] = [
            (f"deploy (born with the {shipped} shipped document types)", f"{deploy_gas:,}", f"{store.deploy_gas:,}")
        ]
        moci = b"moci".ljust(32, b"\0")
        admitted = governance.gas("registerAgency", moci, "Ministry of Commerce", agency_admin.address)
        rows.append(("registerAgency (the council)", f"{admitted:,}", "-"))
        added = Sender(web3, contract, agency_admin).gas("addIssuerKey", moci, issuer.address, 0, 0)
        rows.append(("addIssuerKey (the agency's admin)", f"{added:,}", "-"))
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        )
        credential = Sender(web3, contract, agency_admin).gas("addCredentialKey", moci, point, 0, 0)
        rows.append(("addCredentialKey, a P-256 key (the agency's admin)", f"{credential:,}", "-"))
        permit, agency_sender = type_id_to_bytes32("visitor-entry-permit"), Sender(web3, contract, agency_admin)
        for version in (1, 2):
            typed = agency_sender.gas("registerDocumentType", permit, version, moci, os.urandom(32))
            rows.append((f"registerDocumentType, an agency's type, version {version} (its admin)", f"{typed:,}", "-"))
        shared = governance.gas(
            "registerDocumentType", type_id_to_bytes32("health-card"), 1, b"\0" * 32, os.urandom(32)
        )
        rows.append(("registerDocumentType, a shared type (the council)", f"{shared:,}", "-"))

        # Issuing: one Merkle root a batch on both sides.
        roots: dict[int, MerkleTree] = {}
        for size in (1, *SIZES[1:]):
            tree = roots[size] = batch(size)
            ours = issuing.gas("anchor", bytes.fromhex(tree.root), size, 0)
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
        ours = issuing.gas("revoke", bytes.fromhex(roots[1000].root), 1)
        theirs = store.gas("revoke", bytes.fromhex(roots[1000].root))
        rows.append(("revoke, whole batch", f"{ours:,}", f"{theirs:,} (`revoke` of the root)"))
        rows.append(("suspend, whole batch", f"{issuing.gas('suspend', bytes.fromhex(roots[100].root), 7):,}", "-"))
        rows.append(("reinstate, whole batch", f"{issuing.gas('reinstate', bytes.fromhex(roots[100].root)):,}", "-"))

        # One document of a batch: Sijill carries its Merkle proof, OpenAttestation revokes the hash alone.
        levels: dict[int, tuple[int, int]] = {}
        for size in SIZES:
            tree = batch(size)
            first = HexHash(tree.layers[0][0].hex())  # the first leaf: a proof of full depth
            proof = tree.proof(first)
            issuing.gas("anchor", bytes.fromhex(tree.root), size, 0)
            ours = issuing.gas("revokeDocument", bytes.fromhex(first), [bytes.fromhex(p) for p in proof], 3)
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

        # Shared trust: a guardian's pause reads no key; the council unpauses, freezes, revokes in an emergency.
        admins = {moci: agency_admin}
        total = 1 + 9  # moci's issuer key and nine more: the first pause's ten keys
        add_keys(web3, contract, agency_admin, moci, 9)
        for keys in PAUSE_AT_KEYS:
            while total < keys:
                agency = f"agency-{len(admins)}".encode().ljust(32, b"\0")
                admins[agency] = Account.create()
                governance.send_data(admins[agency].address, value=10**18)
                governance.gas("registerAgency", agency, agency.decode().rstrip("\0"), admins[agency].address)
                count = min(KEYS_PER_AGENCY, keys - total)
                add_keys(web3, contract, admins[agency], agency, count)
                total += count
            paused = Sender(web3, contract, guardian).gas("pause")
            rows.append((f"pause (a guardian), {total:,} issuer keys", f"{paused:,}", "-"))
            rows.append(("unpause (the council)", f"{governance.gas('unpause'):,}", "-"))
        stolen = batch(100)
        issuing.gas("anchor", bytes.fromhex(stolen.root), 100, 0)
        revoked = governance.gas("emergencyRevoke", bytes.fromhex(stolen.root), [], 4, "issuer key stolen")  # 17 bytes
        rows.append(("emergency revocation of a batch, 17-byte note (the council)", f"{revoked:,}", "-"))
        for agency in (moci, list(admins)[1]):
            keys = contract.functions.agency(agency).call()[3]
            frozen = governance.gas("setAgencyStatus", agency, 2)
            rows.append((f"freeze an agency of {keys:,} issuer keys (the council)", f"{frozen:,}", "-"))

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
        shared_trust(out, web3, node.url, artifact, admin, admitted, revoked)


def shared_trust(out: Results, web3: Web3, url: str, artifact: ContractArtifact, operator: LocalAccount,
                 single_admission: int, single_revocation: int) -> None:  # fmt: skip
    """The same admission and emergency revocation by one key (above) and through a 2-of-3 council."""
    members = [Account.from_key(key) for key in DEV_COUNCIL_KEYS]
    record = deploy_governed_registry(
        web3,
        artifact,
        operator,
        members=[member.address for member in members],
        threshold=2,
        delay=COUNCIL_DELAY,
        member_signers=members,
        rpc_url=url,
        admin_transfer_delay=0,
    )
    registry = RegistryClient(
        web3=web3, address=record.address, abi=artifact.abi, chain_id=record.chain_id, rpc_url=url
    )
    senders = [Sender(web3, None, member) for member in members]
    timelock_abi = ContractArtifact.load(name="CouncilTimelock").abi
    client = registry.council(record.council_safe, record.council_timelock, timelock_abi)

    def through_council(data: bytes) -> tuple[int, int, float]:
        """Propose and approve (2 members), schedule, wait the delay, execute: gas, transactions, seconds."""
        started = time.perf_counter()
        salt = os.urandom(32)
        transaction = client.schedule_transaction(registry.address, data, salt, COUNCIL_DELAY, client.safe_nonce())
        safe_hash = client.transaction_hash(transaction)
        gas = [sender.send_data(client.safe, client.approve_call(safe_hash)) for sender in senders[:2]]
        run = client.safe_transaction_call(transaction, [member.address for member in members[:2]])
        gas.append(senders[1].send_data(client.safe, run))
        time.sleep(max(0.0, client.operation_time(client.operation_id(registry.address, data, salt)) - time.time()))
        execute = client.execute_call(registry.address, data, salt)
        while True:
            try:
                limit = client.execute_gas(registry.address, data)
                gas.append(senders[0].send_data(client.timelock, execute, gas=limit))
                break
            except SijillError:
                time.sleep(0.2)  # the chain's next block is not yet past the delay
        return sum(gas), len(gas), time.perf_counter() - started

    agency_admin, issuer = Account.create(), Account.create()
    operating = Sender(web3, None, operator)
    for account in (agency_admin, issuer):
        operating.send_data(account.address, value=10**18)
    admission = build_call(
        "admit-agency", {"agency_id": "moci", "name": "Ministry of Commerce", "admin": agency_admin.address}, safe="",
        members=[],
    )  # fmt: skip
    admitted_gas, admitted_txs, admitted_time = through_council(admission.data)
    Sender(web3, None, agency_admin).send_data(registry.address, registry.add_issuer_key_call("moci", issuer.address))
    stolen = batch(100)
    Sender(web3, None, issuer).send_data(registry.address, registry.anchor_call(stolen.root, 100, 0))
    revocation = build_call(
        "emergency-revoke", {"hash": stolen.root, "proof": [], "reason": 4, "note": "issuer key stolen"}, safe="",
        members=[],
    )  # fmt: skip
    revoked_gas, revoked_txs, revoked_time = through_council(revocation.data)
    out.print()
    out.print(f"| the price of shared trust | one key | council, 2 of 3, {COUNCIL_DELAY} s delay |")
    out.print("|---|---:|---|")
    for name, single, gas, txs, seconds in (
        ("admit an agency", single_admission, admitted_gas, admitted_txs, admitted_time),
        ("emergency revocation of a batch", single_revocation, revoked_gas, revoked_txs, revoked_time),
    ):
        out.print(f"| {name} | {single:,} gas, 1 transaction | {gas:,} gas, {txs} transactions, {seconds:.1f} s |")


if __name__ == "__main__":
    main()
