"""A thin harness over the registry for contract tests: send, expect a revert, read events."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord
from ledger.chain.errors import ErrorDecoder
from ledger.chain.rpc import connect, revert_data
from tests.conftest import chain_node_for
from tests.nodes import ChainNode

NO_END = 2**40 - 1
ZERO32 = b"\0" * 32
VIEW_FIELDS = (  # what `inspect` returns, in order
    "agencyId",
    "key",
    "keyValidFrom",
    "keyValidUntil",
    "anchoredAt",
    "anchoredBlock",
    "expiresAt",
    "documentCount",
    "batchStatus",
    "batchReason",
    "documentStatus",
    "documentReason",
    "documentAgencyId",
    "paused",
)


def agency_bytes(name: str) -> bytes:
    """An agency id as the registry stores it."""
    return name.encode().ljust(32, b"\0")


def random_hash() -> bytes:
    """32 random bytes: a stand-in root or target hash."""
    return os.urandom(32)


def pair(a: bytes, b: bytes) -> bytes:
    """A sorted-pair Merkle parent."""
    return keccak(b"".join(sorted((a, b))))


def tree(leaves: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """A root over `leaves` (in order, odd node promoted) and each leaf's proof."""
    layers = [list(leaves)]
    while len(layers[-1]) > 1:
        layer = layers[-1]
        layers.append(
            [pair(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i] for i in range(0, len(layer), 2)]
        )
    proofs = []
    for index in range(len(leaves)):
        proof, i = [], index
        for layer in layers[:-1]:
            sibling = i ^ 1
            if sibling < len(layer):
                proof.append(layer[sibling])
            i //= 2
        proofs.append(proof)
    return layers[-1][0], proofs


@dataclass
class Registry:
    """The deployed registry, driven by raw signed transactions."""

    web3: Web3
    contract: Any
    decoder: ErrorDecoder

    def send(self, sender: LocalAccount, function: str, *args: Any) -> dict[str, Any]:
        """Send a transaction that must succeed; returns the receipt."""
        call = getattr(self.contract.functions, function)(*args)
        tx = call.build_transaction(
            {
                "from": sender.address,
                "nonce": self.web3.eth.get_transaction_count(sender.address, "pending"),
                "chainId": self.web3.eth.chain_id,
                "gas": 3_000_000,
            }
        )
        signed = sender.sign_transaction(tx)
        receipt = self.web3.eth.wait_for_transaction_receipt(self.web3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt["status"] == 1, f"{function} failed"
        return dict(receipt)

    def revert(self, sender: LocalAccount, function: str, *args: Any) -> tuple[str, dict[str, Any]]:
        """Simulate a call that must revert with a custom error; returns its name and arguments."""
        call = getattr(self.contract.functions, function)(*args)
        with pytest.raises(ContractLogicError) as caught:  # Hardhat's node: no ContractCustomError (see revert_data)
            call.call({"from": sender.address})
        data = revert_data(caught.value)
        assert data is not None, f"the revert carries no custom error: {caught.value}"
        decoded = self.decoder.decode_raw(data)
        assert decoded is not None, f"unknown revert data {data}"
        return decoded

    def call(self, function: str, *args: Any) -> Any:
        """A read."""
        return getattr(self.contract.functions, function)(*args).call()

    def events(self, receipt: dict[str, Any], name: str) -> list[dict[str, Any]]:
        """The `name` events a receipt holds, with their arguments."""
        event = getattr(self.contract.events, name)()
        return [dict(log["args"]) for log in event.process_receipt(receipt)]

    def block_time(self, receipt: dict[str, Any]) -> int:
        """The timestamp of the receipt's block."""
        return int(self.web3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def set_next_time(self, timestamp: int) -> None:
        """Mine the next block at `timestamp`."""
        self.web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]

    def mine_at(self, timestamp: int) -> None:
        """Mine an empty block at `timestamp`; calls then see that time."""
        self.web3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]

    def latest_time(self) -> int:
        """The latest block's timestamp."""
        return int(self.web3.eth.get_block("latest")["timestamp"])


@pytest.fixture(scope="session")
def chain_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainNode]:
    """The contract tests' own chain: they move its clock by hours and days (windows, delays), which
    the service's tests, judging times against the host's clock, must not inherit."""
    yield from chain_node_for(tmp_path_factory, "contracts-chain")


@pytest.fixture(scope="session")
def web3(chain_node: ChainNode) -> Web3:
    """A lean client of the contract tests' chain."""
    return connect(chain_node.url)


@pytest.fixture
def registry(web3: Web3, deployment: DeploymentRecord, artifact: ContractArtifact) -> Registry:
    """A fresh registry."""
    return Registry(
        web3=web3,
        contract=web3.eth.contract(address=deployment.address, abi=artifact.abi),
        decoder=ErrorDecoder(artifact.abi),
    )


@dataclass
class Agencies:
    """Two agencies with their admins and one key each, and a stranger."""

    moci: bytes
    uni: bytes
    moci_key: LocalAccount
    uni_key: LocalAccount
    stranger: LocalAccount
    moci_admin: LocalAccount
    uni_admin: LocalAccount


@pytest.fixture
def agencies(registry: Registry, accounts: list[LocalAccount]) -> Agencies:
    """`moci` (admin accounts[5]) with key accounts[1], `uni` (admin accounts[6]) with key
    accounts[2]; accounts[3] is a stranger. The council, accounts[0], admits both."""
    council = accounts[0]
    moci, uni = agency_bytes("moci"), agency_bytes("qu")
    registry.send(council, "registerAgency", moci, "Ministry of Commerce", accounts[5].address)
    registry.send(council, "registerAgency", uni, "Qatar University", accounts[6].address)
    registry.send(accounts[5], "addIssuerKey", moci, accounts[1].address, 0, 0)
    registry.send(accounts[6], "addIssuerKey", uni, accounts[2].address, 0, 0)
    return Agencies(
        moci=moci,
        uni=uni,
        moci_key=accounts[1],
        uni_key=accounts[2],
        stranger=accounts[3],
        moci_admin=accounts[5],
        uni_admin=accounts[6],
    )
