"""Proof mode's checks, on tries built by the Ethereum trie library: what a proof proves, and that any
change to a proof, a value or a root is refused."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st
from trie.hexary import HexaryTrie

from ledger.chain.layout import (
    ANCHORS_SLOT,
    DOCUMENTS_SLOT,
    PAUSED_SLOT,
    ClaimedNames,
    LayoutMismatchError,
    inspect_slots,
    mapping_slot,
    proven_view,
    with_document_agency,
)
from ledger.chain.proofs import ProofError, header_from_json, proven_storage
from ledger.domain import ChainStatus

ADDRESS = "0x" + "ab" * 20
CODE_HASH = keccak(b"the registry's code")
slots_and_values = st.dictionaries(
    st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=1, max_value=2**256 - 1), max_size=12
)


def state(storage: dict[int, int], *, others: int = 5) -> tuple[bytes, dict[str, Any], HexaryTrie]:
    """A state root holding `storage` at `ADDRESS` (and a few other accounts), and its proof answer builder."""
    storage_trie = HexaryTrie({})
    for slot, value in storage.items():
        storage_trie[keccak(slot.to_bytes(32, "big"))] = rlp.encode(
            value.to_bytes((value.bit_length() + 7) // 8, "big")
        )
    accounts = HexaryTrie({})
    accounts[keccak(bytes.fromhex(ADDRESS[2:]))] = rlp.encode([1, 0, storage_trie.root_hash, CODE_HASH])
    for index in range(others):
        accounts[keccak(index.to_bytes(20, "big"))] = rlp.encode([0, index, storage_trie.root_hash, keccak(b"")])
    answer = {
        "accountProof": [
            "0x" + rlp.encode(node).hex() for node in accounts.get_proof(keccak(bytes.fromhex(ADDRESS[2:])))
        ]
    }
    return accounts.root_hash, answer, storage_trie


def proof_answer(storage: dict[int, int], asked: list[int]) -> tuple[bytes, dict[str, Any]]:
    root, answer, storage_trie = state(storage)
    answer["storageProof"] = [
        {
            "key": hex(slot),
            "value": hex(storage.get(slot, 0)),
            "proof": [
                "0x" + rlp.encode(node).hex() for node in storage_trie.get_proof(keccak(slot.to_bytes(32, "big")))
            ],
        }
        for slot in asked
    ]
    return root, answer


@given(slots_and_values, st.lists(st.integers(min_value=0, max_value=2**256 - 1), max_size=4))
def test_a_proof_gives_every_slot_its_value_and_absent_slots_zero(storage: dict[int, int], absent: list[int]) -> None:
    asked = [*storage, *(slot for slot in absent if slot not in storage)]
    root, answer = proof_answer(storage, asked)
    assert proven_storage(root, ADDRESS, answer, asked, code_hash=CODE_HASH) == {
        slot: storage.get(slot, 0) for slot in asked
    }


@given(slots_and_values.filter(bool), st.data())
def test_any_changed_byte_of_a_proof_is_refused_or_changes_nothing(
    storage: dict[int, int], data: st.DataObject
) -> None:
    """A changed node is refused, unless another slot's proof carries the true node as well (proofs of one
    trie share their upper nodes): then the walk from the root takes the true one, and the values hold."""
    asked = list(storage)
    root, answer = proof_answer(storage, asked)
    entries = [("accountProof", None)] + [("storageProof", index) for index in range(len(asked))]
    where, index = data.draw(st.sampled_from(entries))
    nodes = answer[where] if index is None else answer[where][index]["proof"]
    position = data.draw(st.integers(min_value=0, max_value=len(nodes) - 1))
    original = nodes[position]
    raw = bytearray(bytes.fromhex(original[2:]))
    offset = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[offset] ^= data.draw(st.integers(min_value=1, max_value=255))
    nodes[position] = "0x" + raw.hex()
    elsewhere = index is not None and any(
        original in entry["proof"] for number, entry in enumerate(answer["storageProof"]) if number != index
    )
    if not elsewhere:
        with pytest.raises(ProofError):
            proven_storage(root, ADDRESS, answer, asked, code_hash=CODE_HASH)
    else:
        assert proven_storage(root, ADDRESS, answer, asked, code_hash=CODE_HASH) == storage


@given(slots_and_values.filter(bool), st.data())
def test_a_value_the_proof_does_not_prove_is_refused(storage: dict[int, int], data: st.DataObject) -> None:
    asked = list(storage)
    root, answer = proof_answer(storage, asked)
    entry = data.draw(st.sampled_from(answer["storageProof"]))
    entry["value"] = hex(int(entry["value"], 16) ^ data.draw(st.integers(min_value=1, max_value=2**256 - 1)))
    with pytest.raises(ProofError, match="its proof says"):
        proven_storage(root, ADDRESS, answer, asked, code_hash=CODE_HASH)


def test_another_state_root_another_account_or_other_code_is_refused() -> None:
    root, answer = proof_answer({1: 2}, [1])
    with pytest.raises(ProofError):
        proven_storage(keccak(b"another root"), ADDRESS, answer, [1])
    with pytest.raises(ProofError, match="account 0xcdcd"):
        proven_storage(root, "0x" + "cd" * 20, answer, [1])
    with pytest.raises(ProofError, match="registry's code"):
        proven_storage(root, ADDRESS, answer, [1], code_hash=keccak(b"other code"))
    with pytest.raises(ProofError, match="no proof of storage slot"):
        proven_storage(root, ADDRESS, answer, [1, 2])


def _anchor(key: int, agency: int, status: int) -> int:
    return key | (agency << 32) | (1_700_000_000 << 64) | (42 << 104) | (7 << 184) | (status << 216)


def test_the_view_is_rebuilt_from_proven_words_and_wrong_names_are_refused() -> None:
    root, target, agency, key = b"\x01" * 32, b"\x02" * 32, b"moci".ljust(32, b"\0"), b"\x0a" * 20
    claimed = ClaimedNames(agency=agency, key=key, document_agency=None)
    slots = inspect_slots(target, root, claimed)
    words = dict.fromkeys(slots, 0)
    words[mapping_slot(root, ANCHORS_SLOT)] = _anchor(key=3, agency=1, status=3)
    words[slots[3]] = 1  # _agencyIndexes["moci"]
    words[slots[4]] = 1 | (3 << 32) | (100 << 64) | ((2**40 - 1) << 104)  # the key: agency 1, index 3
    view = proven_view(target, root, claimed, words)
    assert (view.agency_id, view.batch_status, view.document_count, view.anchored_block) == (
        "moci",
        ChainStatus.REVOKED,
        7,
        42,
    )
    assert (view.key_valid_from, view.key_valid_until, view.paused) == (100, 2**40 - 1, False)
    with pytest.raises(LayoutMismatchError, match="not agency #1"):
        proven_view(target, root, claimed, {**words, slots[3]: 2})
    with pytest.raises(LayoutMismatchError, match="not the key that anchored"):
        proven_view(target, root, claimed, {**words, slots[4]: 1 | (4 << 32)})
    with pytest.raises(LayoutMismatchError, match="never anchored"):
        proven_view(target, root, claimed, {**words, mapping_slot(root, ANCHORS_SLOT): 0})
    with pytest.raises(LayoutMismatchError, match="never writes"):
        proven_view(target, root, claimed, {**words, mapping_slot(root, ANCHORS_SLOT): _anchor(3, 1, 9)})
    paused = proven_view(target, root, claimed, {**words, PAUSED_SLOT: 1})
    assert paused.paused
    assert mapping_slot(target, DOCUMENTS_SLOT) in slots


def test_a_header_must_hash_to_its_hash() -> None:
    block = {
        "parentHash": "0x" + "11" * 32, "sha3Uncles": "0x" + "22" * 32, "miner": "0x" + "33" * 20,
        "stateRoot": "0x" + "44" * 32, "transactionsRoot": "0x" + "55" * 32, "receiptsRoot": "0x" + "66" * 32,
        "logsBloom": "0x" + "00" * 256, "difficulty": "0x0", "number": "0x7", "gasLimit": "0x1c9c380",
        "gasUsed": "0x0", "timestamp": "0x6553f100", "extraData": "0x", "mixHash": "0x" + "77" * 32,
        "nonce": "0x0000000000000000", "baseFeePerGas": "0x7",
    }  # fmt: skip
    from ledger.chain.proofs import header_hash

    block["hash"] = header_hash(block)
    assert header_from_json(block).state_root == b"\x44" * 32
    with pytest.raises(ProofError, match="hashes to"):
        header_from_json({**block, "stateRoot": "0x" + "45" * 32})
    with pytest.raises(ProofError, match="malformed"):
        header_from_json({key: value for key, value in block.items() if key != "miner"})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["0x", "0x00", "0xzz", "0x" + "c0"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@given(json_values, json_values)
def test_a_hostile_answer_is_a_proof_error_never_a_crash(header: Any, answer: Any) -> None:
    """Whatever a node sends as a header or a proof, the verifier refuses it plainly."""
    if isinstance(header, dict):
        with pytest.raises(ProofError):
            header_from_json(header)
    if isinstance(answer, dict):
        with pytest.raises(ProofError):
            proven_storage(keccak(b"root"), ADDRESS, answer, [1])


def test_a_remembered_anchor_names_the_documents_agency_only_when_it_is_the_anchors() -> None:
    """The one-round-trip read knows an anchor's agency and key from an earlier proven read; the document's
    own record may belong to another agency (a copy anchored elsewhere took it over): then only the node's
    answer can name that agency, and the full read runs."""
    root, target = b"\x01" * 32, b"\x02" * 32
    known = ClaimedNames(agency=b"moci".ljust(32, b"\0"), key=b"\x0a" * 20, document_agency=None)
    words = {mapping_slot(root, ANCHORS_SLOT): _anchor(key=3, agency=2, status=1)}
    none = with_document_agency(known, target, root, {**words, mapping_slot(target, DOCUMENTS_SLOT): 0})
    assert none == ClaimedNames(known.agency, known.key, None)
    own = with_document_agency(known, target, root, {**words, mapping_slot(target, DOCUMENTS_SLOT): 2 | (3 << 32)})
    assert own == ClaimedNames(known.agency, known.key, known.agency)
    assert with_document_agency(known, target, root, {**words, mapping_slot(target, DOCUMENTS_SLOT): 5}) is None
