"""Checking what a node says against Merkle-Patricia proofs, so that no single node is believed.

Pure: JSON-RPC answers in, proven values out. A block header's hash is recomputed from its
fields (so a header cannot carry a state root its hash does not commit to); an account and its
storage slots are read out of `eth_getProof`'s nodes under that state root with the Ethereum
trie library (`trie`'s `HexaryTrie.get_from_proof`) and `rlp`. Anything that does not check out
raises `ProofError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_hash.auto import keccak
from trie.exceptions import (
    BadTrieProof,
    InvalidKeyError,
    InvalidNibbles,
    InvalidNode,
    MissingTraversalNode,
    MissingTrieNode,
    TraversedPartialPath,
)
from trie.exceptions import ValidationError as TrieValidationError
from trie.hexary import HexaryTrie

# The header's fields in the order its RLP list holds them; the last ones exist from a fork on.
_HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentHash", "bytes"),
    ("sha3Uncles", "bytes"),
    ("miner", "bytes"),
    ("stateRoot", "bytes"),
    ("transactionsRoot", "bytes"),
    ("receiptsRoot", "bytes"),
    ("logsBloom", "bytes"),
    ("difficulty", "int"),
    ("number", "int"),
    ("gasLimit", "int"),
    ("gasUsed", "int"),
    ("timestamp", "int"),
    ("extraData", "bytes"),
    ("mixHash", "bytes"),
    ("nonce", "bytes"),
)
_FORK_FIELDS: tuple[tuple[str, str], ...] = (
    ("baseFeePerGas", "int"),  # London
    ("withdrawalsRoot", "bytes"),  # Shanghai
    ("blobGasUsed", "int"),  # Cancun
    ("excessBlobGas", "int"),
    ("parentBeaconBlockRoot", "bytes"),
    ("requestsHash", "bytes"),  # Prague
)


# What the trie library raises for nodes that are not a trie's (or not this root's).
_MALFORMED = (
    BadTrieProof,
    InvalidKeyError,
    InvalidNibbles,
    InvalidNode,
    MissingTraversalNode,
    MissingTrieNode,
    TraversedPartialPath,
    TrieValidationError,
    rlp.DecodingError,
    rlp.DeserializationError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
)


class ProofError(Exception):
    """A node's answer that its proof or its block header does not bear out."""


@dataclass(frozen=True, slots=True)
class ProvenHeader:
    """A block header whose hash was recomputed from its fields."""

    number: int
    hash: str  # 0x hex
    state_root: bytes
    timestamp: int


def _unhex(value: str) -> bytes:
    text = value.removeprefix("0x")
    return bytes.fromhex(text if len(text) % 2 == 0 else "0" + text)


def header_hash(block: Mapping[str, Any]) -> str:
    """The hash of `block`'s header (an `eth_getBlockByNumber` answer), computed from its fields.

    Raises `ProofError` when a field is missing or malformed.
    """
    try:
        fields: list[bytes | int] = []
        for name, kind in _HEADER_FIELDS:
            fields.append(int(block[name], 16) if kind == "int" else _unhex(block[name]))
        for name, kind in _FORK_FIELDS:
            if block.get(name) is None:
                break  # a fork's fields come all together, in order
            fields.append(int(block[name], 16) if kind == "int" else _unhex(block[name]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProofError(f"the node's block header is malformed ({error})") from error
    return "0x" + keccak(rlp.encode(fields)).hex()


def header_from_json(block: Mapping[str, Any]) -> ProvenHeader:
    """The header of `block` (an `eth_getBlockByNumber` answer), its hash recomputed from its fields.

    Raises `ProofError` when a field is missing or malformed, or the fields do not hash to the
    hash the node gave.
    """
    computed = header_hash(block)
    try:
        claimed = str(block["hash"]).lower()
        number, timestamp = int(block["number"], 16), int(block["timestamp"], 16)
        state_root = _unhex(block["stateRoot"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProofError(f"the node's block header is malformed ({error})") from error
    if computed != claimed:
        raise ProofError(f"block {number}'s header hashes to {computed}, not to the hash {claimed} the node gave")
    return ProvenHeader(number=number, hash=computed, state_root=state_root, timestamp=timestamp)


def _nodes(proof: Sequence[str]) -> tuple[Any, ...]:
    return tuple(rlp.decode(_unhex(node)) for node in proof)


def _get(root: bytes, key: bytes, proof: Sequence[str], what: str) -> bytes:
    try:
        value: bytes = HexaryTrie.get_from_proof(root, keccak(key), _nodes(proof))  # type: ignore[no-untyped-call]
    except _MALFORMED as error:  # a hostile node's bytes: whatever the library makes of them, a refusal
        raise ProofError(f"the proof of {what} does not lead to its root ({error})") from error
    return value


def proven_storage(
    state_root: bytes, address: str, answer: Mapping[str, Any], slots: Sequence[int], *, code_hash: bytes | None = None
) -> dict[int, int]:
    """The values of `slots` of contract `address`, read out of `answer` (an `eth_getProof` result)
    under `state_root`. With `code_hash`, the account must also run that code.

    Raises `ProofError` when the account's proof or a slot's does not lead to its root, the
    answer lacks a slot asked for, or the account is not the expected contract.
    """
    try:
        account_proof, storage = answer["accountProof"], answer["storageProof"]
        given = {int(entry["key"], 16): entry["proof"] for entry in storage}
        claimed = {int(entry["key"], 16): int(entry.get("value") or "0x0", 16) for entry in storage}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProofError(f"the node's proof answer is malformed ({error})") from error
    encoded = _get(state_root, _unhex(address), account_proof, f"account {address}")
    if not encoded:
        raise ProofError(f"account {address} does not exist in this block's state")
    try:
        _nonce, _balance, storage_root, account_code = rlp.decode(encoded)
    except _MALFORMED as error:
        raise ProofError(f"account {address}'s record is malformed ({error})") from error
    if code_hash is not None and bytes(account_code) != code_hash:
        raise ProofError(f"account {address} does not run the registry's code")
    values: dict[int, int] = {}
    for slot in slots:
        if slot not in given:
            raise ProofError(f"the node gave no proof of storage slot {slot:#x}")
        raw = _get(bytes(storage_root), slot.to_bytes(32, "big"), given[slot], f"storage slot {slot:#x}")
        try:
            values[slot] = int.from_bytes(rlp.decode(raw), "big") if raw else 0
        except _MALFORMED as error:
            raise ProofError(f"storage slot {slot:#x} holds no number ({error})") from error
        if claimed[slot] != values[slot]:
            raise ProofError(f"the node says slot {slot:#x} holds {claimed[slot]:#x}, its proof says {values[slot]:#x}")
    return values
