"""A `string` read back from proven storage words, laid out as Solidity stores it."""

from __future__ import annotations

import contextlib

import pytest
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from ledger.chain.layout import MAX_PROVEN_STRING, LayoutMismatchError, proven_string, string_data_slots

SLOT = 12345


def solidity_words(slot: int, text: str) -> dict[int, int]:
    """How Solidity stores `text` at `slot` (written out here from the layout rules, independently of the code)."""
    data = text.encode()
    if len(data) < 32:
        return {slot: int.from_bytes(data.ljust(31, b"\0") + bytes([2 * len(data)]), "big")}
    words = {slot: 2 * len(data) + 1}
    start = int.from_bytes(keccak(slot.to_bytes(32, "big")), "big")
    padded = data.ljust((len(data) + 31) // 32 * 32, b"\0")
    for n in range(len(padded) // 32):
        words[start + n] = int.from_bytes(padded[32 * n : 32 * (n + 1)], "big")
    return words


@given(st.text(max_size=300))
def test_any_name_reads_back_from_its_words(text: str) -> None:
    words = solidity_words(SLOT, text)
    assert sorted(string_data_slots(SLOT, words[SLOT])) == sorted(set(words) - {SLOT})
    assert proven_string(SLOT, words) == text


@given(st.text(min_size=1, max_size=100), st.integers(min_value=0, max_value=255))
def test_a_changed_length_never_reads_as_the_name(text: str, length_byte: int) -> None:
    words = solidity_words(SLOT, text)
    if len(text.encode()) >= 32 or length_byte == 2 * len(text.encode()):
        return
    words[SLOT] = (words[SLOT] & ~0xFF) | length_byte
    with contextlib.suppress(LayoutMismatchError):  # refused, or read as something else
        assert proven_string(SLOT, words) != text


def test_a_name_longer_than_the_cap_is_read_up_to_it_and_marked_cut() -> None:
    name = "وزارة " * 1000  # 11,000 bytes: the council may register any name
    words = solidity_words(SLOT, name)
    assert len(string_data_slots(SLOT, words[SLOT])) == MAX_PROVEN_STRING // 32  # no more proofs asked for
    shown = proven_string(SLOT, words)
    assert shown.endswith("…")
    assert name.startswith(shown[:-1].rstrip("\ufffd"))


def test_a_name_that_is_not_utf8_is_shown_not_refused() -> None:
    words = {SLOT: int.from_bytes(b"Minist\xffry".ljust(31, b"\0") + bytes([2 * 9]), "big")}
    assert proven_string(SLOT, words) == "Minist\ufffdry"


def test_bytes_past_a_short_strings_end_are_refused() -> None:
    words = solidity_words(SLOT, "Qatar University")
    words[SLOT] |= 1 << 16  # a stray byte inside the word, past the name's 16 bytes
    with pytest.raises(LayoutMismatchError):
        proven_string(SLOT, words)
