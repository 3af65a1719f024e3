"""Bitstring Status List v1.0 bits: set, encoded, decoded, the same text for the same bits."""

from __future__ import annotations

import base64
import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import CredentialError
from ledger.vc.status_list import MIN_ENTRIES, StatusBits

indexes = st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=64)


@given(indexes)
def test_any_set_of_entries_round_trips_through_the_encoded_list(chosen: set[int]) -> None:
    encoded = StatusBits.of(chosen).encode()
    assert encoded.startswith("u")
    decoded = StatusBits.decode(encoded)
    assert decoded.set_indexes() == sorted(chosen)
    assert all(decoded.get(index) == (index in chosen) for index in [*list(chosen)[:8], 0, MIN_ENTRIES - 1])


@given(indexes)
def test_the_same_bits_always_encode_to_the_same_text(chosen: set[int]) -> None:
    assert StatusBits.of(chosen).encode() == StatusBits.of(sorted(chosen, reverse=True)).encode()


def test_entry_zero_is_the_first_bytes_most_significant_bit() -> None:
    raw = gzip.decompress(base64.urlsafe_b64decode(StatusBits.of([0, 9]).encode()[1:] + "=="))
    assert len(raw) == MIN_ENTRIES // 8  # 16 KiB: the herd every index hides in
    assert raw[:2] == bytes([0b1000_0000, 0b0100_0000])


def test_a_cleared_entry_is_clear_again() -> None:
    bits = StatusBits.of([5])
    bits.set(5, False)
    assert bits.set_indexes() == []


@pytest.mark.parametrize(
    "encoded",
    [
        "zabc",  # not base64url multibase
        "u" + base64.urlsafe_b64encode(b"not gzip").decode(),
        "u" + base64.urlsafe_b64encode(gzip.compress(bytes(100), mtime=0)).decode(),  # fewer than 131,072 entries
        "u" + base64.urlsafe_b64encode(gzip.compress(bytes(64 << 20), mtime=0)).decode().rstrip("="),  # a zip bomb
    ],
    ids=["not-base64url", "not-gzip", "too-short", "zip-bomb"],
)
def test_what_is_not_a_status_list_is_refused_plainly(encoded: str) -> None:
    with pytest.raises(CredentialError):
        StatusBits.decode(encoded)


def test_an_index_past_the_list_is_refused() -> None:
    with pytest.raises(IndexError):
        StatusBits().set(MIN_ENTRIES)
