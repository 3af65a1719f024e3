"""Signed transactions handled by hand: sign with a given nonce, broadcast, look up, replace.

Every transaction the service sends (anchors, status changes, governance, key changes,
funding) is recorded in the outbox before it is broadcast, and settled later from what the
chain says. This module is the outbox's only way to the chain for that: raw JSON-RPC, batched
where a question concerns many transactions. `send_transaction` and `deploy_contract` are for
deploying a registry and its council, before any store exists: they sign with the node's
pending nonce under a lock, send, and wait for the receipt.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
import rlp
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound, Web3Exception
from web3.types import RPCEndpoint

from ledger.chain.errors import ErrorDecoder
from ledger.chain.rpc import translate_errors
from ledger.chain.signer import Signer
from ledger.domain import Fees, SignedTransaction, TxReceipt
from ledger.errors import (
    ChainUnavailableError,
    NodeAnswerError,
    TransactionFailedError,
    TransactionOutcomeUnknownError,
)


@dataclass(frozen=True, slots=True)
class Inclusion:
    """Where a transaction was mined, and whether it succeeded."""

    block_number: int
    block_hash: str
    succeeded: bool
    gas_used: int


@dataclass(frozen=True, slots=True)
class SignedCall:
    """What a signed transaction calls: the contract, the calldata and the gas it may use."""

    to: str
    data: str
    gas: int
    value: int = 0


class BroadcastRefusedError(TransactionFailedError):
    """The node refused a transaction: its nonce is taken (`nonce_used`), or ahead of what the node
    holds for the sender (`nonce_ahead`: an earlier nonce it has not received; a node mining on
    demand, such as Hardhat's, or Besu past its distance, keeps no gap), or for good."""

    def __init__(self, message: str, *, nonce_used: bool, nonce_ahead: bool = False) -> None:
        super().__init__(message)
        self.nonce_used = nonce_used
        self.nonce_ahead = nonce_ahead


BATCH_LIMIT = 500  # calls in one JSON-RPC batch: under Besu's cap of 1,024 (`--rpc-http-max-batch-size`)
_KNOWN = ("already known", "known transaction", "already imported", "already in pool")
_NONCE_USED = ("nonce too low", "nonce has already been used", "oldnonce")
_NONCE_AHEAD = ("nonce too high", "nonce is too distant")  # Hardhat and geth; Besu
_UNDERPRICED = (
    "underpriced",
    "fee too low",
    "replacement transaction",
    "less than block base fee",
    "fee cap",
    "below configured minimum gas price",  # Besu's --min-gas-price
)


class TransactionClient:
    """Raw transaction operations for one chain."""

    def __init__(
        self, *, web3: Web3, chain_id: int, rpc_url: str, decoder: ErrorDecoder | None = None, free_gas: bool = False
    ) -> None:
        self._web3 = web3
        self._free_gas = free_gas
        self._chain_id = chain_id
        self._rpc_url = rpc_url
        self._decoder = decoder
        self._send_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def send_lock(self, address: str) -> threading.Lock:
        """The lock `address` reads its pending nonce and records and broadcasts under, in this process,
        so that its nonces reach the node in order (the database allocates them across processes)."""
        with self._locks_guard:
            return self._send_locks.setdefault(address, threading.Lock())

    def _call(self, method: str, params: list[Any]) -> Any:
        with translate_errors(self._rpc_url, self._decoder):
            response = self._web3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise NodeAnswerError(f"the chain node refused {method}: {response['error'].get('message')}")
        return response["result"]

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """`calls` in JSON-RPC batches of at most `BATCH_LIMIT` (Besu takes 1,024), the answers in order."""
        answers: list[dict[str, Any]] = []
        for offset in range(0, len(calls), BATCH_LIMIT):
            chunk = calls[offset : offset + BATCH_LIMIT]
            with translate_errors(self._rpc_url, self._decoder):
                responses = self._web3.provider.make_batch_request(  # type: ignore[attr-defined]
                    [(RPCEndpoint(method), params) for method, params in chunk]
                )
            if not isinstance(responses, list):
                raise ChainUnavailableError(f"the chain at {self._rpc_url} answered a batch request with an error")
            answers += responses
        return answers

    def head(self) -> int:
        """The latest block number."""
        return int(self._call("eth_blockNumber", []), 16)

    def pending_nonce(self, address: str) -> int:
        """How many transactions the node counts for `address`, pending ones included."""
        return int(self._call("eth_getTransactionCount", [address, "pending"]), 16)

    def fees(self) -> Fees:
        """Fees for a transaction sent now: twice the latest base fee plus the node's suggested tip; on a
        chain whose blocks carry no base fee (before London, or a network configured so), the node's gas
        price, for a legacy transaction; nothing at all on a free-gas network."""
        block, tip = self._batch([("eth_getBlockByNumber", ["latest", False]), ("eth_maxPriorityFeePerGas", [])])
        if "error" in block or not isinstance(block.get("result"), dict):
            raise NodeAnswerError("the chain node did not give its latest block")
        base_fee = block["result"].get("baseFeePerGas")
        if self._free_gas:  # a network whose validators take transactions for nothing (`--min-gas-price=0`)
            return Fees(max_fee=0, priority_fee=0, legacy=base_fee is None)
        if base_fee is None:
            price = int(self._call("eth_gasPrice", []), 16)
            return Fees(max_fee=price, priority_fee=price, legacy=True)
        if "error" in tip:
            raise NodeAnswerError("the chain node did not tell its fees")
        priority = int(tip["result"], 16)
        return Fees(max_fee=2 * int(base_fee, 16) + priority, priority_fee=priority)

    def estimate_gas(
        self,
        sender: str,
        to: str,
        data: str,
        *,
        value: int = 0,
        block: str | None = None,
        decoder: ErrorDecoder | None = None,
    ) -> int:
        """The gas a call needs, with a margin: the simulation that surfaces a revert before anything is
        signed (raised decoded by `decoder` or the registry's). `block` "pending" judges it at the next
        block's time (a node mining on demand stamps the latest block in the past)."""
        call: dict[str, Any] = {"from": sender, "to": to, "data": data}
        if value:
            call["value"] = value
        with translate_errors(self._rpc_url, decoder or self._decoder):
            gas = self._web3.eth.estimate_gas(call, block)  # type: ignore[arg-type]
        return int(gas * 1.2)

    def sign(
        self, signer: Signer, *, to: str, data: str, nonce: int, gas: int, fees: Fees, value: int = 0
    ) -> SignedTransaction:
        """Sign a call of `to` sending `value` wei (pure: nothing is sent)."""
        transaction: dict[str, Any] = {
            "chainId": self._chain_id,
            "nonce": nonce,
            "to": HexStr(to),
            "data": HexStr(data),
            "gas": gas,
            "value": value,
        }
        if fees.legacy:
            transaction["gasPrice"] = fees.max_fee
        else:
            transaction.update(type=2, maxFeePerGas=fees.max_fee, maxPriorityFeePerGas=fees.priority_fee)
        signed = signer.sign_transaction(transaction)
        return SignedTransaction(
            raw="0x" + bytes(signed.raw_transaction).hex(), tx_hash="0x" + bytes(signed.hash).hex()
        )

    @staticmethod
    def decode_call(raw: str) -> SignedCall:
        """The call inside signed transaction bytes (to sign it again with other fees or nonce)."""
        encoded = HexBytes(raw)
        if encoded and encoded[0] >= 0xC0:  # a legacy transaction: [nonce, gasPrice, gas, to, value, data, v, r, s]
            _nonce, _price, gas, to, value, data, *_signature = rlp.decode(bytes(encoded))
            return SignedCall(
                to=to_checksum_address(to),
                data="0x" + bytes(data).hex(),
                gas=int.from_bytes(gas, "big"),
                value=int.from_bytes(value, "big"),
            )
        fields = TypedTransaction.from_bytes(encoded).as_dict()
        return SignedCall(
            to=to_checksum_address(fields["to"]),
            data="0x" + bytes(fields["data"]).hex(),
            gas=int(fields["gas"]),
            value=int(fields["value"]),
        )

    def broadcast(self, raw: str) -> None:
        """Hand signed bytes to the node; sending the same bytes again is harmless.

        Raises `ChainUnavailableError` when the node cannot be reached (try again later),
        and `BroadcastRefusedError` when it refuses the transaction for good.
        """
        with translate_errors(self._rpc_url, self._decoder):
            response = self._web3.provider.make_request(RPCEndpoint("eth_sendRawTransaction"), [raw])
        error = response.get("error")
        if error is None:
            return
        message = str(error.get("message", error)).lower()
        if any(text in message for text in _KNOWN):
            return
        if any(text in message for text in _NONCE_USED) or "replacement transaction" in message:
            # A replacement refused: a transaction with this nonce is pending already.
            raise BroadcastRefusedError(f"the node refused the transaction: {message}", nonce_used=True)
        if any(text in message for text in _NONCE_AHEAD):
            raise BroadcastRefusedError(
                f"the node refused the transaction: {message}", nonce_used=False, nonce_ahead=True
            )
        if any(text in message for text in _UNDERPRICED):
            raise BroadcastRefusedError(
                f"the node refused the transaction's fee ({message}); check the network's minimum gas price "
                "(SIJILL_FREE_GAS is for networks that take transactions for nothing)",
                nonce_used=False,
            )
        raise BroadcastRefusedError(f"the node refused the transaction: {message}", nonce_used=False)

    def inclusions(self, tx_hashes: Sequence[str]) -> dict[str, Inclusion | None]:
        """Where each transaction was mined on the current chain (None: not mined)."""
        responses = self._batch([("eth_getTransactionReceipt", [tx_hash]) for tx_hash in tx_hashes])
        found: dict[str, Inclusion | None] = {}
        for tx_hash, response in zip(tx_hashes, responses, strict=True):
            if "error" in response:  # not an answer: never to be read as "not mined"
                raise ChainUnavailableError(
                    f"the chain node did not give the receipt of {tx_hash}: {response['error']}"
                )
            receipt = response.get("result")
            found[tx_hash] = (
                Inclusion(
                    block_number=int(receipt["blockNumber"], 16),
                    block_hash=receipt["blockHash"],
                    succeeded=int(receipt["status"], 16) == 1,
                    gas_used=int(receipt["gasUsed"], 16),
                )
                if receipt and receipt.get("blockNumber")
                else None
            )
        return found

    def known(self, tx_hashes: Sequence[str]) -> set[str]:
        """Which of the transactions the node knows (pending or mined)."""
        responses = self._batch([("eth_getTransactionByHash", [tx_hash]) for tx_hash in tx_hashes])
        return {tx_hash for tx_hash, response in zip(tx_hashes, responses, strict=True) if response.get("result")}

    def block_time(self, number: int) -> int:
        """The timestamp of block `number`."""
        block = self._call("eth_getBlockByNumber", [hex(number), False])
        if not block:
            raise NodeAnswerError(f"the chain node has no block {number}")
        return int(block["timestamp"], 16)


def fee_fields(web3: Web3) -> dict[str, int]:
    """The fee fields of a transaction sent now through `web3`: EIP-1559's from the latest base fee, or a
    legacy gas price on a chain whose blocks carry none."""
    base_fee = web3.eth.get_block("latest").get("baseFeePerGas")
    if base_fee is None:
        return {"gasPrice": int(web3.eth.gas_price)}
    priority = int(web3.eth.max_priority_fee)
    return {"maxPriorityFeePerGas": priority, "maxFeePerGas": 2 * int(base_fee) + priority}


def send_transaction(
    web3: Web3,
    signer: Signer,
    tx: dict[str, Any],
    *,
    chain_id: int,
    lock: threading.Lock,
    rpc_url: str,
    receipt_timeout: float,
    decoder: ErrorDecoder | None = None,
) -> TxReceipt:
    """Sign and send `tx` from `signer`, holding `lock` until it is mined (deployment only: the service
    sends through the outbox, `ledger.usecases.sending`).

    Raises `ChainUnavailableError` when nothing was sent, `TransactionOutcomeUnknownError`
    when it was sent but no receipt came within `receipt_timeout`, and
    `TransactionFailedError` when it was mined but failed.
    """
    with lock:
        with translate_errors(rpc_url, decoder):
            tx = {**tx, "from": signer.address, "chainId": chain_id}
            tx["nonce"] = web3.eth.get_transaction_count(signer.address, "pending")
            if "gas" not in tx:
                tx["gas"] = web3.eth.estimate_gas(tx)  # type: ignore[arg-type]
            else:
                tx["gas"] = int(tx["gas"] * 1.2) if tx.get("data") else tx["gas"]
            if "maxFeePerGas" not in tx and "gasPrice" not in tx:
                tx.update(fee_fields(web3))
            signed = signer.sign_transaction(tx)
        tx_hash = signed.hash
        hex_hash = "0x" + bytes(tx_hash).hex()
        unknown = (
            f"transaction {hex_hash} was sent but not confirmed within {receipt_timeout:.0f} s; "
            "its outcome is unknown until the chain answers"
        )
        try:
            with translate_errors(rpc_url, decoder):
                web3.eth.send_raw_transaction(signed.raw_transaction)
        except ChainUnavailableError as error:
            # Refused: nothing was sent. Timed out while sending: it may have arrived.
            if isinstance(error.__cause__, requests.exceptions.ReadTimeout):
                raise TransactionOutcomeUnknownError(unknown, tx_hash=hex_hash) from error
            raise
        try:
            receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=receipt_timeout, poll_latency=0.05)
            block = web3.eth.get_block(receipt["blockNumber"])
        except (TimeExhausted, TransactionNotFound, requests.exceptions.RequestException, Web3Exception) as error:
            raise TransactionOutcomeUnknownError(unknown, tx_hash=hex_hash) from error
        if receipt["status"] != 1:
            raise TransactionFailedError(f"transaction {hex_hash} was mined but failed")
        return TxReceipt(
            tx_hash=hex_hash,
            block_number=int(receipt["blockNumber"]),
            block_timestamp=int(block["timestamp"]),
            gas_used=int(receipt["gasUsed"]),
        )


def deploy_contract(
    web3: Web3,
    deployer: Signer,
    abi: list[dict[str, Any]],
    bytecode: str,
    args: Sequence[Any],
    *,
    chain_id: int,
    lock: threading.Lock,
    rpc_url: str,
    receipt_timeout: float,
) -> tuple[str, TxReceipt]:
    """Deploy a contract from `deployer` with constructor `args`: its address and the deployment's receipt."""
    factory = web3.eth.contract(abi=abi, bytecode=bytecode)
    with translate_errors(rpc_url):
        fees: dict[str, Any] = fee_fields(web3)
        tx = factory.constructor(*args).build_transaction({"from": deployer.address, "chainId": chain_id, **fees})
    receipt = send_transaction(
        web3, deployer, dict(tx), chain_id=chain_id, lock=lock, rpc_url=rpc_url, receipt_timeout=receipt_timeout
    )
    with translate_errors(rpc_url):
        address = web3.eth.get_transaction_receipt(HexStr(receipt.tx_hash))["contractAddress"]
    return str(address), receipt
