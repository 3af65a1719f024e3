"""Reading the registry's event log in pages, decoded without web3's slow paths.

Each log becomes a `ChainEvent`; its `leaf` is the SHA-256 of its canonical binary encoding,
the unit the auditor's Merkle accumulator commits to:

    leaf = SHA-256(0x00 || block number (8 bytes) || log index (4) || transaction hash (32)
                   || number of topics (1) || topics (32 each) || data)

all integers big-endian; the 0x00 prefix keeps leaves apart from the tree's inner nodes. Every
part but the data has a fixed length, so no two logs share an encoding.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, NamedTuple, cast

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_typing import ABIEvent
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.types import RPCEndpoint

from ledger.chain.rpc import translate_errors
from ledger.errors import NodeAnswerError

_STATIC = ("uint", "int", "address", "bool", "bytes32")

LEAF_ENCODING = "sijill-event-leaf/2"
"""The name of the leaf definition above; checkpoints and saved audits carry it."""


class ChainEvent(NamedTuple):
    """One registry event, decoded. Hashes are lowercase hex without ``0x``; addresses lowercase ``0x``.

    A named tuple rather than a dataclass: an audit makes one per log, and a tuple is the
    cheapest immutable record Python builds.
    """

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


# How one 32-byte ABI word is read; each field of a static event is (name, kind, topic, start):
# the word is `topics[topic]` when topic > 0, else the data, from character `start` on.
_BYTES32, _ADDRESS, _UINT, _INT, _BOOL = range(5)
_Field = tuple[str, int, int, int]


def _kind(abi_type: str) -> int:
    if abi_type == "bytes32":
        return _BYTES32
    if abi_type == "address":
        return _ADDRESS
    if abi_type == "bool":
        return _BOOL
    return _UINT if abi_type.startswith("uint") else _INT


def _read_static(fields: tuple[_Field, ...], topics: list[str], data: str) -> dict[str, Any]:
    """The arguments of an event whose data holds only static words (one pass, no ABI decoder)."""
    args: dict[str, Any] = {}
    for name, kind, topic, start in fields:
        text = topics[topic] if topic else data
        end = start + 64
        if kind == _UINT:
            args[name] = int(text[start:end], 16)
        elif kind == _BYTES32:
            args[name] = text[start:end]
        elif kind == _ADDRESS:
            args[name] = "0x" + text[start + 24 : end]
        elif kind == _BOOL:
            args[name] = text[end - 1] != "0"
        else:
            value = int(text[start:end], 16)
            args[name] = value - (1 << 256) if value >= 1 << 255 else value
    return args


@dataclass(frozen=True, slots=True)
class _EventSpec:
    name: str
    topic_count: int
    # Static events: every field, and the data's exact length (with its 0x). Others: None, and the
    # indexed fields alone, the data going through the ABI decoder.
    fields: tuple[_Field, ...]
    data_length: int | None
    dynamic: tuple[tuple[str, str], ...]

    def read(self, topics: list[str], data: str) -> dict[str, Any]:
        """The event's arguments; raises ValueError when the log does not have the event's shape."""
        if len(topics) != self.topic_count or (self.data_length is not None and len(data) != self.data_length):
            raise ValueError(f"a {self.name} log with {len(topics)} topics and {len(data)} data characters")
        args = _read_static(self.fields, topics, data)
        if self.dynamic:
            values = decode([kind for _, kind in self.dynamic], bytes.fromhex(data[2:]))
            args.update({arg: value for (arg, _), value in zip(self.dynamic, values, strict=True)})
        return args

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> _EventSpec:
        """The reading plan of one ABI event."""
        inputs = item["inputs"]
        indexed = [arg for arg in inputs if arg["indexed"]]
        fields = [(arg["name"], _kind(arg["type"]), position + 1, 2) for position, arg in enumerate(indexed)]
        data = [(arg["name"], arg["type"]) for arg in inputs if not arg["indexed"]]
        if all(kind.startswith(_STATIC) and "[" not in kind for _, kind in data):
            fields += [(name, _kind(kind), 0, 2 + 64 * position) for position, (name, kind) in enumerate(data)]
            return cls(item["name"], 1 + len(indexed), tuple(fields), 2 + 64 * len(data), ())
        return cls(item["name"], 1 + len(indexed), tuple(fields), None, tuple(data))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a page of events.

    A page makes tens of thousands of small records, none of them in a cycle (reference
    counting frees them); left running, the collector would walk them again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _capped(error: Any) -> bool:
    """Whether a node refused a log query for its size (too many blocks or logs), not for its content."""
    if not isinstance(error, Mapping):
        return False
    message = str(error.get("message", "")).lower()
    return error.get("code") == -32005 or any(
        words in message for words in ("exceeds max", "too many", "range", "limit exceeded", "query returned more")
    )


class EventReader:
    """Pages through a registry's logs over raw JSON-RPC."""

    def __init__(self, *, web3: Web3, address: str, abi: Sequence[Mapping[str, Any]], rpc_url: str) -> None:
        self._web3 = web3
        self._address = address.lower()
        self._rpc_url = rpc_url
        self._specs: dict[str, _EventSpec] = {
            "0x" + event_abi_to_log_topic(cast(ABIEvent, item)).hex(): _EventSpec.of(item)
            for item in abi
            if item.get("type") == "event"
        }

    def _request(self, method: str, params: list[Any]) -> Any:
        with translate_errors(self._rpc_url):
            response = self._web3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise NodeAnswerError(f"the chain node refused {method}: {response['error']}")
        return response["result"]

    def head(self) -> int:
        """The latest block number."""
        return int(self._request("eth_blockNumber", []), 16)

    def raw_logs(
        self, from_block: int, to_block: int, events: Sequence[str] = (), *, first_topic: str | None = None
    ) -> list[dict[str, Any]]:
        """The contract's logs in [from_block, to_block] (only `events`, when named; only those whose first
        indexed argument is `first_topic`, when given), as the node gives them.

        A node that caps a query (Besu's `--rpc-max-logs-range`, error -32005) is asked again for each
        half of the range, down to single blocks.
        """
        query: dict[str, Any] = {"address": self._address, "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        if events or first_topic is not None:
            names = [topic for topic, spec in self._specs.items() if spec.name in events] if events else None
            query["topics"] = [names] if first_topic is None else [names, first_topic]
        with translate_errors(self._rpc_url):
            response = self._web3.provider.make_request(RPCEndpoint("eth_getLogs"), [query])
        error = response.get("error")
        if error is not None and from_block < to_block and _capped(error):
            middle = (from_block + to_block) // 2
            return self.raw_logs(from_block, middle, events, first_topic=first_topic) + self.raw_logs(
                middle + 1, to_block, events, first_topic=first_topic
            )
        if error is not None:
            raise NodeAnswerError(f"the chain node refused eth_getLogs: {error}")
        logs = response.get("result")
        if not isinstance(logs, list) or not all(isinstance(log, dict) for log in logs):
            raise NodeAnswerError(f"the chain node answered eth_getLogs with {str(logs)[:200]!r}, not a list of logs")
        return logs

    def decode(self, log: Mapping[str, Any]) -> ChainEvent:
        """Decode one raw log of the registry.

        Raises `NodeAnswerError` when the node returns a log that does not have its event's shape.
        """
        try:
            return self._decode(log)
        except (ValueError, TypeError, KeyError, AttributeError, DecodingError) as error:
            raise NodeAnswerError(f"the chain node returned a malformed registry log: {error!r}") from error

    def _decode(self, log: Mapping[str, Any]) -> ChainEvent:
        topics: list[str] = log["topics"]
        data: str = log["data"]
        block, index, tx_hash = log["blockNumber"][2:], log["logIndex"][2:], log["transactionHash"][2:]
        if (
            len(tx_hash) != 64
            or len(topics) > 4
            or any(len(t) != 66 for t in topics)
            or len(block) > 16
            or len(index) > 8
        ):
            raise ValueError("a hash, topic, block number or log index of the wrong length")
        spec = self._specs.get(topics[0]) if topics else None
        if spec is None and topics and topics[0] != topics[0].lower():  # a node writing hex in capitals
            return self._decode({**log, "topics": [topic.lower() for topic in topics], "data": data.lower()})
        args = spec.read(topics, data) if spec is not None else {}
        # The canonical encoding, built as hex and read once (hex digits in either case read alike).
        parts = ["00", block.zfill(16), index.zfill(8), tx_hash, f"{len(topics):02x}", *[t[2:] for t in topics]]
        encoded = "".join([*parts, data[2:]])
        return ChainEvent(
            int(block, 16),
            log["blockHash"][2:],
            tx_hash,
            int(index, 16),
            spec.name if spec is not None else "Unknown",
            args,
            sha256(bytes.fromhex(encoded)).digest(),
        )

    def raw_pages(
        self, start: int, end: int, *, blocks_per_page: int = 2000
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """The raw logs of [start, end], page by page, with each page's last block.

        The next page is requested while the caller works on this one: the node prepares
        its answer meanwhile, and the wait for it releases the interpreter.
        """
        ranges = ((block, min(end, block + blocks_per_page - 1)) for block in range(start, end + 1, blocks_per_page))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sijill-logs") as reader:
            current = next(ranges, None)
            pending = reader.submit(self.raw_logs, *current) if current else None
            try:
                while current is not None and pending is not None:
                    logs = pending.result()
                    last = current[1]
                    current = next(ranges, None)
                    pending = reader.submit(self.raw_logs, *current) if current else None
                    yield last, logs
            finally:
                if pending is not None:
                    pending.cancel()

    def pages(self, start: int, end: int, *, blocks_per_page: int = 2000) -> Iterator[tuple[int, list[ChainEvent]]]:
        """Decoded events of [start, end], page by page (read ahead as `raw_pages`), with each page's last block."""
        for last, logs in self.raw_pages(start, end, blocks_per_page=blocks_per_page):
            with collector_paused():
                events = [self.decode(log) for log in logs]
            yield last, events

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
                    raise NodeAnswerError(f"the chain node refused a registry read: {response['error']}")
                results.append(bytes.fromhex(response["result"][2:]))
        return results
