"""Deploying the registry once, and the record that lets every restart reuse it."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from web3 import Web3

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.council import deploy_council
from ledger.chain.nodes import NodePool, connect_pool
from ledger.chain.registry import RegistryClient
from ledger.chain.rpc import translate_errors
from ledger.chain.signer import Signer
from ledger.chain.transactions import deploy_contract
from ledger.documents.definitions import TypeDefinition, shipped_definitions, type_id_to_bytes32
from ledger.errors import ConfigurationError, DeploymentError


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """Where the registry lives: chain, address, block, the ABI it was built with, and who governs it.

    `admin` is the council (the registry's default admin); `guardians` may pause it.
    """

    chain_id: int
    address: str
    block_number: int
    tx_hash: str
    abi_version: str
    admin: str
    deployed_at: str
    guardians: tuple[str, ...] = ()
    council_safe: str = ""  # the council's Safe and timelock; empty: `admin` is a plain key
    council_timelock: str = ""
    council_block: int = 0  # the block the council's Safe was created in

    def save(self, path: Path) -> None:
        """Write the record as JSON, atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> DeploymentRecord:
        """Read a record. Raises `ConfigurationError` when it is missing or malformed."""
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            fields["guardians"] = tuple(fields.get("guardians", ()))
            return cls(**fields)
        except FileNotFoundError:
            raise ConfigurationError(f"no deployment record at {path}; run `sijill deploy` first") from None
        except (TypeError, ValueError) as error:
            raise ConfigurationError(f"the deployment record {path} is malformed: {error}") from error


def chain_id_of(web3: Web3, rpc_url: str) -> int:
    """The chain id the node reports."""
    with translate_errors(rpc_url):
        return int(web3.eth.chain_id)


def check_deployment(web3: Web3, record: DeploymentRecord, artifact: ContractArtifact, rpc_url: str) -> None:
    """Check that `record` describes a live registry on the node behind `web3`.

    Raises `DeploymentError` for another chain, a missing contract or another ABI.
    """
    chain_id = chain_id_of(web3, rpc_url)
    if chain_id != record.chain_id:
        raise DeploymentError(
            f"the node at {rpc_url} serves chain {chain_id}, but the registry was deployed on chain {record.chain_id}"
        )
    with translate_errors(rpc_url):
        code = bytes(web3.eth.get_code(Web3.to_checksum_address(record.address)))
    if not code:
        raise DeploymentError(
            f"no registry at {record.address} on chain {chain_id}: the chain was reset or its state lost; "
            "redeploy with `sijill deploy`"
        )
    if record.abi_version != artifact.abi_version:
        raise DeploymentError(
            f"the registry at {record.address} was built with ABI {record.abi_version}, "
            f"this build has {artifact.abi_version}; redeploy or check out the matching version"
        )


def deploy_registry(
    web3: Web3,
    artifact: ContractArtifact,
    deployer: Signer,
    *,
    rpc_url: str,
    admin_transfer_delay: int,
    council: str | None = None,
    guardians: Sequence[str] = (),
    receipt_timeout: float = 30.0,
    shared_types: Sequence[TypeDefinition] | None = None,
) -> DeploymentRecord:
    """Deploy a new registry governed by `council` (the deployer when None) and return its record.

    `guardians` may pause it. The deployer pays for the deployment and holds no role
    unless it is named. The registry is born with `shared_types` (the types Sijill ships when None)
    registered as their version 1, shared by every agency.
    """
    born_with = shipped_definitions() if shared_types is None else shared_types
    types = [(type_id_to_bytes32(kind.id), bytes.fromhex(kind.hash[2:])) for kind in born_with]
    chain_id = chain_id_of(web3, rpc_url)
    governor = council or deployer.address
    guardian_addresses = [Web3.to_checksum_address(address) for address in guardians]
    address, receipt = deploy_contract(
        web3,
        deployer,
        artifact.abi,
        artifact.bytecode,
        [admin_transfer_delay, governor, guardian_addresses, types],
        chain_id=chain_id,
        lock=threading.Lock(),
        rpc_url=rpc_url,
        receipt_timeout=receipt_timeout,
    )
    return DeploymentRecord(
        chain_id=chain_id,
        address=address,
        block_number=receipt.block_number,
        tx_hash=receipt.tx_hash,
        abi_version=artifact.abi_version,
        admin=governor,
        deployed_at=datetime.now(UTC).isoformat(),
        guardians=tuple(guardian_addresses),
    )


def deploy_governed_registry(
    web3: Web3,
    artifact: ContractArtifact,
    operator: Signer,
    *,
    members: Sequence[str],
    threshold: int,
    delay: int,
    member_signers: Sequence[Signer],
    rpc_url: str,
    admin_transfer_delay: int,
    receipt_timeout: float = 30.0,
) -> DeploymentRecord:
    """The council first (a Safe of `members`, `threshold` to approve, proposing to a timelock of
    `delay` seconds), then the registry it governs, with `operator` as its guardian."""
    council = deploy_council(
        web3,
        operator,
        members=members,
        threshold=threshold,
        delay=delay,
        member_signers=member_signers,
        rpc_url=rpc_url,
        receipt_timeout=receipt_timeout,
    )
    record = deploy_registry(
        web3,
        artifact,
        operator,
        rpc_url=rpc_url,
        admin_transfer_delay=admin_transfer_delay,
        council=council.timelock,
        guardians=[operator.address],
        receipt_timeout=receipt_timeout,
    )
    return replace(
        record, council_safe=council.safe, council_timelock=council.timelock, council_block=council.block_number
    )


def open_registry(
    nodes: NodePool,
    record: DeploymentRecord,
    artifact: ContractArtifact,
    *,
    check: bool = True,
    free_gas: bool = False,
) -> RegistryClient:
    """A client for the registry in `record` over the chain's endpoints `nodes` (failing over between
    them), checked against the live chain when `check`; `free_gas`: its transactions pay nothing."""
    web3 = connect_pool(nodes)
    label = ", ".join(nodes.urls)  # for messages: "the node at ..."
    if check:
        check_deployment(web3, record, artifact, label)
    return RegistryClient(
        web3=web3,
        address=record.address,
        abi=artifact.abi,
        chain_id=record.chain_id,
        rpc_url=label,
        rpc_timeout=nodes.timeout,
        nodes=nodes,
        free_gas=free_gas,
        deployed_block=record.block_number,
    )
