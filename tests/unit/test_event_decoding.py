"""Registry logs decoded by the auditor's reader: arguments, the canonical leaf, malformed logs."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.abi import event_abi_to_log_topic
from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.events import EventReader
from ledger.errors import NodeAnswerError

ARTIFACT = ContractArtifact.load()
READER = EventReader(web3=Web3(), address="0x" + "ab" * 20, abi=ARTIFACT.abi, rpc_url="http://127.0.0.1:1")
ANCHORED = next(item for item in ARTIFACT.abi if item.get("name") == "Anchored")


def anchored_log(root: bytes, key: bytes, count: int, expires: int, at: int, block: int, index: int) -> dict[str, Any]:
    """An Anchored log as a node returns it, built from the ABI with eth-abi (not the reader's code)."""
    indexed = [arg for arg in ANCHORED["inputs"] if arg["indexed"]]
    data_args = [arg for arg in ANCHORED["inputs"] if not arg["indexed"]]
    values = {"root": root, "key": key.rjust(32, b"\0")}
    values.update({"documentCount": count, "expiresAt": expires, "at": at})
    topics = ["0x" + event_abi_to_log_topic(ANCHORED).hex()]  # type: ignore[arg-type]
    topics += ["0x" + values[arg["name"]].hex() for arg in indexed]
    data = encode([arg["type"] for arg in data_args], [values[arg["name"]] for arg in data_args])
    return {
        "blockNumber": hex(block),
        "blockHash": "0x" + "cd" * 32,
        "transactionHash": "0x" + "ef" * 32,
        "logIndex": hex(index),
        "topics": topics,
        "data": "0x" + data.hex(),
    }


@given(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=20, max_size=20),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**40 - 1),
    st.integers(0, 2**40 - 1),
    st.integers(0, 2**40),
    st.integers(0, 2**16),
)
def test_an_anchored_log_decodes_to_its_arguments_and_canonical_leaf(
    root: bytes, key: bytes, count: int, expires: int, at: int, block: int, index: int
) -> None:
    log = anchored_log(root, key, count, expires, at, block, index)
    event = READER.decode(log)
    assert event.name == "Anchored"
    assert (event.block_number, event.log_index) == (block, index)
    assert event.args["root"] == root.hex()
    assert event.args["key"] == "0x" + key.hex()
    assert (event.args["documentCount"], event.args["expiresAt"], event.args["at"]) == (count, expires, at)
    # The leaf as the README defines it, from bytes: 0x00, block (8), index (4), tx, topic count (1), topics, data.
    encoded = b"\x00" + block.to_bytes(8, "big") + index.to_bytes(4, "big") + bytes.fromhex("ef" * 32)
    encoded += len(log["topics"]).to_bytes(1, "big")
    encoded += b"".join(bytes.fromhex(topic[2:]) for topic in log["topics"]) + bytes.fromhex(log["data"][2:])
    assert event.leaf == sha256(encoded).digest()


def test_hex_in_capitals_decodes_as_the_same_event() -> None:
    log = anchored_log(b"\xab" * 32, b"\x01" * 20, 1, 0, 5, 10, 0)
    upper = {
        **log,
        "topics": ["0x" + topic[2:].upper() for topic in log["topics"]],
        "data": "0x" + log["data"][2:].upper(),
    }
    assert READER.decode(upper) == READER.decode(log)
    assert READER.decode(upper).name == "Anchored"


def test_moving_a_byte_between_topics_or_into_the_data_changes_the_leaf_or_is_refused() -> None:
    log = anchored_log(b"\xab" * 32, b"\x01" * 20, 1, 0, 5, 10, 0)
    topics = log["topics"]
    shifted = {**log, "topics": [topics[0], topics[1][:-2], topics[2][:2] + topics[1][-2:] + topics[2][2:]]}
    with pytest.raises(NodeAnswerError):
        READER.decode(shifted)
    unknown = {**log, "topics": ["0x" + "00" * 32, *topics[1:]]}
    fewer = {**unknown, "topics": unknown["topics"][:-1], "data": "0x" + topics[-1][2:] + log["data"][2:]}
    assert READER.decode(fewer).leaf != READER.decode(unknown).leaf


@pytest.mark.parametrize(
    "damage",
    [
        lambda log: {**log, "topics": log["topics"][:-1]},  # an indexed argument missing
        lambda log: {**log, "data": log["data"][:-2]},  # data cut short
        lambda log: {**log, "data": log["data"][:-2] + "zz"},  # not hex
        lambda log: {**log, "blockNumber": "0x"},  # no number
        lambda log: {**log, "logIndex": None},
        lambda log: {key: value for key, value in log.items() if key != "transactionHash"},
        lambda log: {**log, "topics": [*log["topics"], "0x" + "00" * 32]},  # one topic too many
    ],
)
def test_a_malformed_log_is_refused_with_a_clear_error(damage: Any) -> None:
    log = damage(anchored_log(b"\x01" * 32, b"\x02" * 20, 1, 0, 5, 10, 0))
    with pytest.raises(NodeAnswerError, match="malformed registry log"):
        READER.decode(log)


def test_a_log_of_an_event_the_registry_does_not_have_is_kept_as_unknown() -> None:
    log = anchored_log(b"\x01" * 32, b"\x02" * 20, 1, 0, 5, 10, 0)
    event = READER.decode({**log, "topics": ["0x" + "00" * 32, *log["topics"][1:]]})
    assert (event.name, dict(event.args)) == ("Unknown", {})


def test_a_dynamic_event_with_a_bad_offset_is_refused_with_a_clear_error() -> None:
    registered = next(item for item in ARTIFACT.abi if item.get("name") == "AgencyRegistered")
    topic = "0x" + event_abi_to_log_topic(registered).hex()  # type: ignore[arg-type]
    indexed = ["0x" + "11" * 32] * sum(1 for arg in registered["inputs"] if arg["indexed"])
    log = anchored_log(b"\x01" * 32, b"\x02" * 20, 1, 0, 5, 10, 0)
    with pytest.raises(NodeAnswerError, match="malformed registry log"):
        READER.decode({**log, "topics": [topic, *indexed], "data": "0x" + "ff" * 64})
