"""A relying party's own check of a document: against chain nodes of its choosing, with no service and
no database, trusting only the registry it names or an auditor's signed checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.address import is_address, to_checksum_address

from ledger.audit.checkpoint import Checkpoint, signature_valid
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord
from ledger.chain.nodes import NodePool
from ledger.chain.quorum import PinnedBlock
from ledger.errors import InvalidRequestError, NodeAnswerError
from ledger.settings import Settings
from ledger.usecases.context import Ledger
from ledger.usecases.sharing import read_document_file
from ledger.usecases.verify_credential import verify_submission
from ledger.verification import VerificationResult


@dataclass(frozen=True, slots=True)
class TrustedLedger:
    """What a relying party trusts: the nodes it asks, how many must agree, and the registry it names
    (or the checkpoint of an auditor it trusts, which names chain, registry and block)."""

    rpc_urls: tuple[str, ...]
    quorum: int = 1
    proofs: bool = False
    registry: str | None = None
    checkpoint: Checkpoint | None = None
    auditor: str | None = None  # the checkpoint must be signed by this public key (hex)


def check_independently(content: bytes, trusted: TrustedLedger, *, timeout: float = 10.0) -> VerificationResult:
    """Verify a wrapped document or Sijill PDF against `trusted`'s nodes alone.

    Raises `InvalidRequestError` when neither a registry nor a checkpoint is named, the registry is
    not an address, or the checkpoint's signature is not its auditor's (or not `auditor`'s); chain
    errors as `verify_document` does.
    """
    checkpoint, pinned = trusted.checkpoint, None
    if checkpoint is not None:
        if not signature_valid(checkpoint, trusted.auditor):
            who = f"auditor {trusted.auditor}" if trusted.auditor else "the auditor it names"
            raise InvalidRequestError(f"the checkpoint is not signed by {who}; it cannot vouch for a block")
        registry = checkpoint.registry
        pinned = PinnedBlock(number=checkpoint.block_number, hash="0x" + checkpoint.block_hash.removeprefix("0x"))
    elif trusted.registry is not None:
        registry = trusted.registry
    else:
        raise InvalidRequestError(
            "name the registry you trust (--registry) or an auditor's signed checkpoint (--checkpoint): "
            "the document's own claim of its registry is what is being checked"
        )
    if not is_address(registry):
        raise InvalidRequestError(f"'{registry}' is not a contract address", field="registry")
    settings = Settings(
        rpc_urls=list(trusted.rpc_urls),
        verify_quorum=trusted.quorum,
        verify_proofs=trusted.proofs,
        rpc_timeout_seconds=timeout,
        seed_demo=False,
    )
    nodes = NodePool(settings.endpoints, timeout=timeout)
    try:
        answer = nodes.call([("eth_chainId", [])])[0].get("result")
        if not isinstance(answer, str):
            raise NodeAnswerError("the chain node did not tell its chain id")
        chain_id = int(answer, 16)
    finally:
        nodes.close()
    if checkpoint is not None and checkpoint.chain_id != chain_id:
        raise InvalidRequestError(
            f"the checkpoint is for chain {checkpoint.chain_id}; the nodes serve chain {chain_id}"
        )
    artifact = ContractArtifact.load()
    record = DeploymentRecord(
        chain_id=chain_id,
        address=to_checksum_address(registry),
        block_number=0,
        tx_hash="",
        abi_version=artifact.abi_version,
        admin="",
        deployed_at="",
    )
    ledger = Ledger(settings, deployment=record)
    try:
        return verify_submission(ledger, read_document_file(content), pinned=pinned)
    finally:
        ledger.close()
