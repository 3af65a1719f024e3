"""`inspect`'s answer decoded word by word, as eth-abi decodes it; anything else is a clear error."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode, encode
from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.inspect import INSPECT_LAYOUT, anchor_view
from ledger.chain.registry import RegistryClient
from ledger.errors import DeploymentError

REGISTRY = RegistryClient(
    web3=Web3(), address="0x" + "ab" * 20, abi=ContractArtifact.load().abi, chain_id=31337, rpc_url="http://127.0.0.1:1"
)
uint = st.integers(min_value=0, max_value=2**40 - 1)
status = st.integers(min_value=0, max_value=3)
agency = st.binary(max_size=8).map(lambda raw: raw.replace(b"\0", b"a").ljust(32, b"\0"))


@given(
    st.tuples(
        agency,
        st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex()),
        uint,
        uint,
        uint,
        uint,
        uint,
        st.integers(min_value=0, max_value=2**32 - 1),
        status,
        st.integers(min_value=0, max_value=255),
        status,
        st.integers(min_value=0, max_value=255),
        agency,
        st.booleans(),
    )
)
def test_word_by_word_decoding_matches_eth_abi(values: tuple[object, ...]) -> None:
    raw = encode([INSPECT_LAYOUT], [values])
    (expected,) = decode([INSPECT_LAYOUT], raw)
    assert REGISTRY.decode_inspect(raw) == anchor_view(expected)


@pytest.mark.parametrize("raw", [b"", b"\0" * 31, b"\0" * (32 * 13), b"\0" * 32 * 8 + b"\xff" * 32 + b"\0" * 32 * 5])
def test_an_answer_of_another_shape_is_a_deployment_error(raw: bytes) -> None:
    with pytest.raises(DeploymentError, match="not a Sijill registry"):
        REGISTRY.decode_inspect(raw)
