"""Salting as OpenAttestation v2 does it, including JavaScript's number formatting."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.documents.salt import js_number_to_string, salt_data, salt_value, unsalt_data
from ledger.errors import InvalidDocumentError

SALTED = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}:(string|number|boolean|null):"
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (5, "5"),
        (-7, "-7"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (1e20, "100000000000000000000"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (-2.5e-8, "-2.5e-8"),
        (123456.789, "123456.789"),
        (2**53 - 1, "9007199254740991"),
    ],
)
def test_numbers_format_like_javascript(value: float, text: str) -> None:
    assert js_number_to_string(value) == text


def test_unsafe_integers_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidDocumentError) as caught:
        salt_data({"amount": 2**53})
    assert caught.value.field == "amount"


def test_salt_carries_type_and_value() -> None:
    assert salt_value("مرحبا", salt=lambda: "6f2c1c4e-5d1b-4c8a-9b7e-0a1b2c3d4e5f").endswith(":string:مرحبا")
    assert salt_value(None).endswith(":null:null")
    assert salt_value(True).endswith(":boolean:true")


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_salting_round_trips_and_salts_every_leaf(value: object) -> None:
    salted = salt_data(value)
    # JSON has one number type: 1.0 comes back as 1, which compares equal.
    assert unsalt_data(salted) == value

    def leaves(node: object) -> list[object]:
        if isinstance(node, dict):
            return [leaf for child in node.values() for leaf in leaves(child)]
        if isinstance(node, list):
            return [leaf for child in node for leaf in leaves(child)]
        return [node]

    assert all(isinstance(leaf, str) and SALTED.match(leaf) for leaf in leaves(salted))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_formatted_numbers_read_back_exactly(value: float) -> None:
    assert float(js_number_to_string(value)) == value


def test_salts_are_random_version_4_uuids() -> None:
    import uuid

    from ledger.documents.salt import SaltSource, random_uuid4

    source = SaltSource()
    salts = [random_uuid4() for _ in range(1000)] + [source() for _ in range(1000)]
    assert len(set(salts)) == len(salts)
    for text in salts:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


@given(st.binary(max_size=300))
def test_keccak256_is_the_ethereum_keccak(data: bytes) -> None:
    from eth_hash.auto import keccak

    from ledger.documents.keccak import keccak256

    assert keccak256(data) == keccak(data)
