"""A revert's custom error, from however a node wraps it, and never a crash from a node's nonsense."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from hypothesis import given
from hypothesis import strategies as st
from web3.exceptions import ContractCustomError, ContractLogicError

from ledger import errors as e
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.errors import ErrorDecoder
from ledger.chain.rpc import revert_data, translate_errors

DECODER = ErrorDecoder(ContractArtifact.load().abi)
ROOT = b"\x11" * 32
ALREADY = "0x" + (function_signature_to_4byte_selector("RegistryRootAlreadyAnchored(bytes32)") + ROOT).hex()


def test_anvils_bare_hex_and_hardhats_wrapped_object_give_the_same_custom_error() -> None:
    for raised in (
        ContractCustomError(ALREADY, data=ALREADY),  # Anvil, Besu: error.data is the hex
        ContractLogicError("execution reverted: ...", data={"message": "reverted with custom error", "data": ALREADY}),
    ):
        assert revert_data(raised) == ALREADY
        with pytest.raises(e.RootAlreadyAnchoredError) as caught, translate_errors("http://node", DECODER):
            raise raised
        assert caught.value.error_args == {"root": "0x" + ROOT.hex()}


def test_a_reason_string_stays_the_nodes_message() -> None:
    reason = "0x08c379a0" + encode(["string"], ["GS013"]).hex()
    raised = ContractLogicError("execution reverted: GS013", data={"message": "GS013", "data": reason})
    with pytest.raises(e.TransactionFailedError) as caught, translate_errors("http://node", DECODER):
        raise raised
    assert "GS013" in caught.value.message
    assert not isinstance(caught.value, e.ContractRevertError)


@given(
    st.one_of(
        st.none(),
        st.text(max_size=80),
        st.binary(max_size=80).map(lambda raw: "0x" + raw.hex()),
        st.binary(max_size=80).map(lambda raw: ALREADY[:10] + raw.hex()),  # a known selector, any arguments
        st.dictionaries(st.sampled_from(["data", "message"]), st.text(max_size=40), max_size=2),
    )
)
def test_whatever_a_node_puts_in_a_revert_is_a_sijill_error_never_a_crash(data: Any) -> None:
    try:
        with translate_errors("http://node", DECODER):
            raise ContractLogicError("execution reverted", data=data)
    except e.SijillError:
        pass
    if isinstance(data, str):
        assert isinstance(DECODER.decode(data), e.ContractRevertError)
