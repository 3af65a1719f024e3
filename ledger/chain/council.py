"""The council on chain: a Safe multisig (M of N members) that alone proposes to a timelock.

The timelock (OpenZeppelin's `TimelockController`, as `CouncilTimelock`) holds the registry's
council role; the Safe (`SafeL2` 1.4.1, from `@safe-global/safe-contracts` on npm) is its only
proposer and canceller, and anyone may execute an operation whose delay has passed. The Safe
also enables the timelock as its module, so that changes to the council itself (members,
threshold) wait out the same delay.

A council action goes: each member approves the Safe transaction that schedules it on the
timelock (`approveHash`, on chain: who and when); once M approved, the Safe transaction runs
and schedules it; after the delay, anyone executes it. Nothing here keeps proposals: the
use cases (`ledger/usecases/council.py`) do.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from web3 import Web3

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.errors import ErrorDecoder
from ledger.chain.rpc import translate_errors
from ledger.chain.signer import Signer
from ledger.chain.transactions import deploy_contract, send_transaction
from ledger.council import encode_call
from ledger.errors import DeploymentError

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_WORD = b"\0" * 32


@dataclass(frozen=True, slots=True)
class CouncilRecord:
    """Where the council lives and how it was set up."""

    safe: str
    timelock: str
    members: tuple[str, ...]
    threshold: int
    delay: int
    block_number: int  # where the Safe was created


@dataclass(frozen=True, slots=True)
class SafeTransaction:
    """The Safe transaction of one proposal: a call of the timelock, at a Safe nonce."""

    to: str
    data: bytes
    nonce: int


class CouncilClient:
    """Reads of the council's two contracts, and the calldata of the calls sent to them."""

    def __init__(
        self,
        web3: Web3,
        *,
        safe: str,
        timelock: str,
        rpc_url: str,
        decoder: ErrorDecoder,
    ) -> None:
        self._web3 = web3
        self.safe = to_checksum_address(safe)
        self.timelock = to_checksum_address(timelock)
        self._rpc_url = rpc_url
        self._decoder = decoder

    @property
    def decoder(self) -> ErrorDecoder:
        """Decodes the registry's and the timelock's custom errors."""
        return self._decoder

    # --- reads --------------------------------------------------------------------

    def _call(self, to: str, data: bytes, types: list[str]) -> tuple[Any, ...]:
        with translate_errors(self._rpc_url, self._decoder):
            raw = bytes(self._web3.eth.call({"to": to_checksum_address(to), "data": HexStr("0x" + data.hex())}))
        return tuple(decode(types, raw))

    def members(self) -> list[str]:
        """The Safe's owners, in the Safe's order."""
        (owners,) = self._call(self.safe, encode_call("getOwners()", [], []), ["address[]"])
        return [to_checksum_address(owner) for owner in owners]

    def threshold(self) -> int:
        """How many members must approve."""
        return int(self._call(self.safe, encode_call("getThreshold()", [], []), ["uint256"])[0])

    def safe_nonce(self) -> int:
        """The nonce the Safe's next transaction must carry."""
        return int(self._call(self.safe, encode_call("nonce()", [], []), ["uint256"])[0])

    def min_delay(self) -> int:
        """Seconds every scheduled operation waits."""
        return int(self._call(self.timelock, encode_call("getMinDelay()", [], []), ["uint256"])[0])

    def operation_id(self, target: str, data: bytes, salt: bytes) -> bytes:
        """The timelock's id of calling `target` with `data` under `salt`."""
        call = encode_call(
            "hashOperation(address,uint256,bytes,bytes32,bytes32)",
            ["address", "uint256", "bytes", "bytes32", "bytes32"],
            [to_checksum_address(target), 0, data, ZERO_WORD, salt],
        )
        return bytes(self._call(self.timelock, call, ["bytes32"])[0])

    def operation_time(self, operation: bytes) -> int:
        """When `operation` may execute: 0 unscheduled, 1 executed, else a unix time."""
        call = encode_call("getTimestamp(bytes32)", ["bytes32"], [operation])
        return int(self._call(self.timelock, call, ["uint256"])[0])

    def schedule_transaction(self, target: str, data: bytes, salt: bytes, delay: int, nonce: int) -> SafeTransaction:
        """The Safe transaction that schedules `target`'s call on the timelock."""
        schedule = encode_call(
            "schedule(address,uint256,bytes,bytes32,bytes32,uint256)",
            ["address", "uint256", "bytes", "bytes32", "bytes32", "uint256"],
            [to_checksum_address(target), 0, data, ZERO_WORD, salt, delay],
        )
        return SafeTransaction(to=self.timelock, data=schedule, nonce=nonce)

    def transaction_hash(self, transaction: SafeTransaction) -> bytes:
        """The hash the members approve, as the Safe computes it (EIP-712)."""
        call = encode_call(
            "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)",
            ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address", "uint256"],
            [transaction.to, 0, transaction.data, 0, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS, transaction.nonce],
        )
        return bytes(self._call(self.safe, call, ["bytes32"])[0])

    def has_approved(self, member: str, safe_hash: bytes) -> bool:
        """Whether `member` approved `safe_hash` on chain."""
        call = encode_call(
            "approvedHashes(address,bytes32)", ["address", "bytes32"], [to_checksum_address(member), safe_hash]
        )
        return int(self._call(self.safe, call, ["uint256"])[0]) != 0

    def approval_times(self, safe_hash: bytes, from_block: int) -> dict[str, int]:
        """Each member's approval of `safe_hash` and the block time it landed at, from the Safe's logs."""
        topic = "0x" + Web3.keccak(text="ApproveHash(bytes32,address)").hex().removeprefix("0x")
        with translate_errors(self._rpc_url):
            logs = self._web3.eth.get_logs(
                {
                    "address": self.safe,
                    "fromBlock": from_block,
                    "toBlock": "latest",
                    "topics": [HexStr(topic), HexStr("0x" + safe_hash.hex())],
                }
            )
            times: dict[str, int] = {}
            for log in logs:
                owner = to_checksum_address("0x" + bytes(log["topics"][2])[-20:].hex())
                block = self._web3.eth.get_block(log["blockNumber"])
                times.setdefault(owner, int(block["timestamp"]))
        return times

    # --- calls to send (each sent through the outbox: `ledger.usecases.sending`) ---------------

    def approve_call(self, safe_hash: bytes) -> bytes:
        """`approveHash` of the Safe: the sender approves `safe_hash`."""
        return encode_call("approveHash(bytes32)", ["bytes32"], [safe_hash])

    def safe_transaction_call(self, transaction: SafeTransaction, approvers: Sequence[str]) -> bytes:
        """`execTransaction` of the Safe, on the approvals of `approvers` (pre-approved hashes, in address order)."""
        signatures = b"".join(
            bytes.fromhex(owner[2:].lower()).rjust(32, b"\0") + ZERO_WORD + b"\x01"
            for owner in sorted(approvers, key=lambda address: int(address, 16))
        )
        return encode_call(
            "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
            ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address", "bytes"],
            [transaction.to, 0, transaction.data, 0, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS, signatures],
        )

    def execute_call(self, target: str, data: bytes, salt: bytes) -> bytes:
        """`execute` of the timelock: run a scheduled operation whose delay has passed (anyone may)."""
        return encode_call(
            "execute(address,uint256,bytes,bytes32,bytes32)",
            ["address", "uint256", "bytes", "bytes32", "bytes32"],
            [to_checksum_address(target), 0, data, ZERO_WORD, salt],
        )

    def execute_gas(self, target: str, data: bytes) -> int:
        """The gas of `execute_call`: the timelock's own call of `target`, simulated as the timelock, plus
        the timelock's share, with a margin. A node that mines on demand (Anvil) has no block yet at the
        time the delay ends, so simulating the execution itself would see it early."""
        inner = {"from": self.timelock, "to": to_checksum_address(target), "data": HexStr("0x" + data.hex())}
        with translate_errors(self._rpc_url, self._decoder):
            gas = int(self._web3.eth.estimate_gas(inner)) + 60_000  # type: ignore[arg-type]
        return int(gas * 1.2)


def deploy_council(
    web3: Web3,
    deployer: Signer,
    *,
    members: Sequence[str],
    threshold: int,
    delay: int,
    member_signers: Sequence[Signer],
    rpc_url: str,
    receipt_timeout: float,
) -> CouncilRecord:
    """Deploy a Safe of `members` (`threshold` to approve) proposing to a timelock of `delay` seconds.

    When `member_signers` hold at least `threshold` members' keys (development), they also
    enable the timelock as the Safe's module; in production the members do that themselves.
    Raises `DeploymentError` for a threshold the members cannot meet.
    """
    if not 1 <= threshold <= len(members):
        raise DeploymentError(f"a council of {len(members)} members cannot have threshold {threshold}")
    chain_id = int(web3.eth.chain_id)
    lock = threading.Lock()

    def create(name: str, args: list[Any]) -> str:
        artifact = ContractArtifact.load(name=name)
        address, _receipt = deploy_contract(
            web3,
            deployer,
            artifact.abi,
            artifact.bytecode,
            args,
            chain_id=chain_id,
            lock=lock,
            rpc_url=rpc_url,
            receipt_timeout=receipt_timeout,
        )
        return address

    def send(to: str, data: bytes, sender: Signer = deployer) -> Any:
        receipt = send_transaction(
            web3,
            sender,
            {"to": to, "data": "0x" + data.hex()},
            chain_id=chain_id,
            lock=lock,
            rpc_url=rpc_url,
            receipt_timeout=receipt_timeout,
        )
        with translate_errors(rpc_url):
            return web3.eth.get_transaction_receipt(HexStr(receipt.tx_hash))

    singleton, factory = create("SafeL2", []), create("SafeProxyFactory", [])
    owners = [to_checksum_address(member) for member in members]
    setup = encode_call(
        "setup(address[],uint256,address,bytes,address,address,uint256,address)",
        ["address[]", "uint256", "address", "bytes", "address", "address", "uint256", "address"],
        [owners, threshold, ZERO_ADDRESS, b"", ZERO_ADDRESS, ZERO_ADDRESS, 0, ZERO_ADDRESS],
    )
    created = send(
        factory,
        encode_call(
            "createProxyWithNonce(address,bytes,uint256)", ["address", "bytes", "uint256"], [singleton, setup, 0]
        ),
    )
    creation_topic = Web3.keccak(text="ProxyCreation(address,address)")
    safe = next(
        to_checksum_address("0x" + bytes(log["topics"][1])[-20:].hex())
        for log in created["logs"]
        if bytes(log["topics"][0]) == bytes(creation_topic)
    )
    timelock = create("CouncilTimelock", [delay, [safe], [ZERO_ADDRESS], ZERO_ADDRESS])
    if len(member_signers) >= threshold:
        client = CouncilClient(
            web3,
            safe=safe,
            timelock=timelock,
            rpc_url=rpc_url,
            decoder=ErrorDecoder(ContractArtifact.load(name="CouncilTimelock").abi),
        )
        enable = SafeTransaction(to=safe, data=encode_call("enableModule(address)", ["address"], [timelock]), nonce=0)
        safe_hash = client.transaction_hash(enable)
        signers = list(member_signers)[:threshold]
        for member in signers:
            send(safe, client.approve_call(safe_hash), member)
        send(safe, client.safe_transaction_call(enable, [member.address for member in signers]))
    return CouncilRecord(
        safe=safe,
        timelock=timelock,
        members=tuple(owners),
        threshold=threshold,
        delay=delay,
        block_number=int(created["blockNumber"]),
    )
