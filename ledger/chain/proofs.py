"""Checking what a node says against Merkle-Patricia proofs, so that no single node is believed.

Pure: JSON-RPC answers in, proven values out. A block header's hash is recomputed from its
fields (so a header cannot carry a state root its hash does not commit to); an account and its
storage slots are read out of `eth_getProof`'s nodes under that state root with the Ethereum
trie library (`trie`'s `HexaryTrie.get_from_proof`) and `rlp`. Anything that does not check out
raises `ProofError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_hash.auto import keccak
from trie import exceptions as trie_errors
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
_TRIE_ERRORS = "BadTrieProof InvalidKeyError InvalidNibbles InvalidNode MissingTraversalNode MissingTrieNode"
_MALFORMED = (
    *(getattr(trie_errors, name) for name in f"{_TRIE_ERRORS} TraversedPartialPath ValidationError".split()),
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
        for name, kind in (*_HEADER_FIELDS, *_FORK_FIELDS):
            if name not in dict(_HEADER_FIELDS) and block.get(name) is None:
                break  # a fork's fields come all together, in order
            value = int(block[name], 16) if kind == "int" else _unhex(block[name])
            if isinstance(value, int) and value < 0:
                raise ValueError(f"{name} is negative")
            fields.append(value)
        encoded = rlp.encode(fields)
    except (*_MALFORMED, rlp.EncodingError) as error:
        raise ProofError(f"the node's block header is malformed ({error})") from error
    return "0x" + keccak(encoded).hex()


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


def _database(proofs: Iterable[Sequence[str]]) -> dict[bytes, bytes]:
    """The proofs' nodes by their hash, as the trie library keeps nodes: a node can only be found under
    the hash of its own bytes, so no node of a hostile answer can stand in for another."""
    nodes: dict[bytes, bytes] = {}
    for proof in proofs:
        for node in proof:
            raw = _unhex(node)
            nodes[keccak(raw)] = raw
    return nodes


def _read(root: bytes, key: bytes, nodes: dict[bytes, bytes], what: str) -> bytes:
    """The value under `keccak(key)` in the trie of root `root`, walked through `nodes` alone."""
    try:
        value: bytes = HexaryTrie(nodes, root_hash=root).get(keccak(key))
    except _MALFORMED as error:  # a hostile node's bytes: whatever the library makes of them, a refusal
        raise ProofError(f"the proof of {what} does not lead to its root ({error})") from error
    return value


def proven_account(state_root: bytes, address: str, account_proof: Any, *, code_hash: bytes | None = None) -> bytes:
    """The storage root of contract `address` under `state_root`, read out of its account proof (an
    `eth_getProof` answer's `accountProof`). With `code_hash`, the account must run that code.

    Raises `ProofError` when the proof does not lead to the root, the account does not exist, or it
    is not the expected contract.
    """
    try:
        nodes = _database([account_proof])
    except _MALFORMED as error:
        raise ProofError(f"the node's account proof is malformed ({error})") from error
    encoded = _read(state_root, _unhex(address), nodes, f"account {address}")
    if not encoded:
        raise ProofError(f"account {address} does not exist in this block's state")
    try:
        _nonce, _balance, storage_root, account_code = rlp.decode(encoded)
    except _MALFORMED as error:
        raise ProofError(f"account {address}'s record is malformed ({error})") from error
    if code_hash is not None and bytes(account_code) != code_hash:
        raise ProofError(f"account {address} does not run the registry's code")
    return bytes(storage_root)


def proven_slots(storage_root: bytes, storage_proof: Any, slots: Sequence[int]) -> dict[int, int]:
    """The values of `slots` under a contract's `storage_root`, read out of an `eth_getProof` answer's
    `storageProof`; each value the node states must be the one its proof proves.

    Raises `ProofError` when a slot asked for has no proof, a proof does not lead to the root, or
    the node's stated value is not the proven one.
    """
    try:
        given = {int(entry["key"], 16): entry for entry in storage_proof}
        claimed = {slot: int(entry.get("value") or "0x0", 16) for slot, entry in given.items()}
        nodes = _database(entry["proof"] for entry in given.values())
    except _MALFORMED as error:
        raise ProofError(f"the node's storage proof is malformed ({error})") from error
    values: dict[int, int] = {}
    for slot in slots:
        if slot not in given:
            raise ProofError(f"the node gave no proof of storage slot {slot:#x}")
        raw = _read(storage_root, slot.to_bytes(32, "big"), nodes, f"storage slot {slot:#x}")
        try:
            values[slot] = int.from_bytes(rlp.decode(raw), "big") if raw else 0
        except _MALFORMED as error:
            raise ProofError(f"storage slot {slot:#x} holds no number ({error})") from error
        if claimed[slot] != values[slot]:
            raise ProofError(f"the node says slot {slot:#x} holds {claimed[slot]:#x}, its proof says {values[slot]:#x}")
    return values


def proven_storage(
    state_root: bytes, address: str, answer: Mapping[str, Any], slots: Sequence[int], *, code_hash: bytes | None = None
) -> dict[int, int]:
    """The values of `slots` of contract `address`, read out of `answer` (an `eth_getProof` result)
    under `state_root`: `proven_account`, then `proven_slots`.

    Raises `ProofError` as they do, and when the answer is not an `eth_getProof` result.
    """
    try:
        account_proof, storage = answer["accountProof"], answer["storageProof"]
    except (KeyError, TypeError) as error:
        raise ProofError(f"the node's proof answer is malformed ({error})") from error
    return proven_slots(proven_account(state_root, address, account_proof, code_hash=code_hash), storage, slots)
