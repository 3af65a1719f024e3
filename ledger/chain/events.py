"""Reading the registry's event log in pages, decoded without web3's slow paths.

Each log becomes a `ChainEvent`; its `leaf` is the SHA-256 of a canonical text encoding
(lowercase hex of block number, log index, transaction, topics and data), the unit the auditor's
Merkle accumulator commits to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, cast

from eth_abi.abi import decode
from eth_typing import ABIEvent
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.types import RPCEndpoint

from ledger.chain.rpc import translate_errors
from ledger.errors import TransactionFailedError

_STATIC = ("uint", "int", "address", "bool", "bytes32")


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One registry event, decoded. Hashes are lowercase hex without ``0x``; addresses lowercase ``0x``."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    name: str
    args: Mapping[str, Any]
    leaf: bytes

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form, for exports."""
        return {
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "transaction": self.tx_hash,
            "log_index": self.log_index,
            "event": self.name,
            **self.args,
        }


@dataclass(frozen=True, slots=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, Callable[[str], Any]], ...]
    data: tuple[tuple[str, str], ...]
    static_data: tuple[tuple[str, Callable[[str], Any], int], ...] | None


def _address(word: str) -> str:
    return "0x" + word[24:]


def _same(word: str) -> str:
    return word


def _boolean(word: str) -> bool:
    return word[-1] != "0"


def _unsigned(word: str) -> int:
    return int(word, 16)


def _signed(word: str) -> int:
    value = int(word, 16)
    return value - (1 << 256) if value >= 1 << 255 else value


def _converter(kind: str) -> Callable[[str], Any]:
    """How to read one 32-byte word (as hex) of an ABI type."""
    if kind == "address":
        return _address
    if kind == "bytes32":
        return _same
    if kind == "bool":
        return _boolean
    return _unsigned if kind.startswith("uint") else _signed


class EventReader:
    """Pages through a registry's logs over raw JSON-RPC."""

    def __init__(self, *, web3: Web3, address: str, abi: Sequence[Mapping[str, Any]], rpc_url: str) -> None:
        self._web3 = web3
        self._address = address.lower()
        self._rpc_url = rpc_url
        self._specs: dict[str, _EventSpec] = {}
        for item in abi:
            if item.get("type") != "event":
                continue
            topic = event_abi_to_log_topic(cast(ABIEvent, item)).hex()
            indexed = tuple((arg["name"], _converter(arg["type"])) for arg in item["inputs"] if arg["indexed"])
            data = tuple((arg["name"], arg["type"]) for arg in item["inputs"] if not arg["indexed"])
            static = all(kind.startswith(_STATIC) and "[" not in kind for _, kind in data)
            static_data = (
                tuple((name, _converter(kind), position * 64) for position, (name, kind) in enumerate(data))
                if static
                else None
            )
            self._specs[topic] = _EventSpec(item["name"], indexed, data, static_data)

    def _request(self, method: str, params: list[Any]) -> Any:
        with translate_errors(self._rpc_url):
            response = self._web3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise TransactionFailedError(f"the chain node refused {method}: {response['error']}")
        return response["result"]

    def head(self) -> int:
        """The latest block number."""
        return int(self._request("eth_blockNumber", []), 16)

    def raw_logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """The registry's logs in [from_block, to_block], as the node returns them."""
        query = {"address": self._address, "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        logs: list[dict[str, Any]] = self._request("eth_getLogs", [query])
        return logs

    def decode(self, log: Mapping[str, Any]) -> ChainEvent:
        """Decode one raw log of the registry."""
        topics: list[str] = log["topics"]
        spec = self._specs.get(topics[0][2:])
        data: str = log["data"][2:]
        args: dict[str, Any] = {}
        if spec is None:
            name = "Unknown"
        else:
            name = spec.name
            for (arg, convert), topic in zip(spec.indexed, topics[1:], strict=True):
                args[arg] = convert(topic[2:])
            if spec.static_data is not None:
                for arg, convert, offset in spec.static_data:
                    args[arg] = convert(data[offset : offset + 64])
            else:
                values = decode([kind for _, kind in spec.data], bytes.fromhex(data))
                args.update({arg: value for (arg, _), value in zip(spec.data, values, strict=True)})
        block = int(log["blockNumber"], 16)
        index = int(log["logIndex"], 16)
        tx_hash = log["transactionHash"][2:]
        # Canonical encoding, as lowercase hex text: block (8 bytes), log index (4), transaction, topics, data.
        encoded = f"{block:016x}{index:08x}{tx_hash}{''.join(topic[2:] for topic in topics)}{data}".lower().encode()
        return ChainEvent(
            block_number=block,
            block_hash=log["blockHash"][2:],
            tx_hash=tx_hash,
            log_index=index,
            name=name,
            args=args,
            leaf=sha256(encoded).digest(),
        )

    def pages(self, start: int, end: int, *, blocks_per_page: int = 2000) -> Iterator[tuple[int, list[ChainEvent]]]:
        """Decoded events of [start, end], page by page, with each page's last block."""
        block = start
        while block <= end:
            last = min(end, block + blocks_per_page - 1)
            yield last, [self.decode(log) for log in self.raw_logs(block, last)]
            block = last + 1

    def block_hashes(self, numbers: Sequence[int]) -> dict[int, str | None]:
        """The current hash at each height (None past the head), in batched requests."""
        found: dict[int, str | None] = {}
        for offset in range(0, len(numbers), 500):
            chunk = numbers[offset : offset + 500]
            with translate_errors(self._rpc_url):
                responses = self._web3.provider.make_batch_request(  # type: ignore[attr-defined]
                    [(RPCEndpoint("eth_getBlockByNumber"), [hex(number), False]) for number in chunk]
                )
            for number, response in zip(chunk, responses, strict=True):
                block = response.get("result")
                found[number] = block["hash"][2:] if block else None
        return found

    def calls(self, data: Sequence[str], block: int) -> list[bytes]:
        """`eth_call`s to the registry at `block`, batched; each result's raw bytes."""
        results: list[bytes] = []
        for offset in range(0, len(data), 500):
            chunk = data[offset : offset + 500]
            with translate_errors(self._rpc_url):
                responses = self._web3.provider.make_batch_request(  # type: ignore[attr-defined]
                    [(RPCEndpoint("eth_call"), [{"to": self._address, "data": item}, hex(block)]) for item in chunk]
                )
            for response in responses:
                if "error" in response:
                    raise TransactionFailedError(f"the chain node refused a registry read: {response['error']}")
                results.append(bytes.fromhex(response["result"][2:]))
        return results
