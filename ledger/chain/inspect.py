"""The registry's `inspect` answer, decoded without web3: pure, bytes in, `AnchorView` out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from eth_utils.address import to_checksum_address

from ledger.domain import Address, AnchorView, ChainStatus, agency_id_from_bytes32

INSPECT_LAYOUT = "(bytes32,address,uint40,uint40,uint40,uint40,uint40,uint32,uint8,uint8,uint8,uint8,bytes32,bool)"
"""The types of `inspect`'s result, in order: what `decode_inspect_words` reads word by word."""

# Checksumming hashes the address (keccak); the few issuer keys a registry has are worth remembering.
_checksum = lru_cache(maxsize=4096)(to_checksum_address)


def bytes32(hash_hex: str) -> bytes:
    """A hex hash (with or without ``0x``) as 32 bytes."""
    return bytes.fromhex(hash_hex.removeprefix("0x"))


def decode_inspect_words(result: bytes) -> AnchorView:
    """`inspect`'s raw answer in `INSPECT_LAYOUT`, decoded word by word (every field is a static type).

    Raises `ValueError` unless it is fourteen words, or when a status byte is one the registry never writes.
    """
    if len(result) != 32 * 14:
        raise ValueError(f"{len(result)} bytes, not 14 words")
    words = [result[offset : offset + 32] for offset in range(0, 32 * 14, 32)]
    numbers = [int.from_bytes(word, "big") for word in words[2:12]]
    return anchor_view((words[0], "0x" + words[1][12:].hex(), *numbers, words[12], words[13][-1] == 1))


def anchor_view(raw: Sequence[Any]) -> AnchorView:
    """The `AnchorView` of `inspect`'s fourteen fields, in the contract's order."""
    (
        agency,
        key,
        valid_from,
        valid_until,
        anchored_at,
        anchored_block,
        expires_at,
        count,
        batch_status,
        batch_reason,
        document_status,
        document_reason,
        document_agency,
        paused,
    ) = raw
    return AnchorView(
        agency_id=agency_id_from_bytes32(agency) if any(agency) else None,
        key=Address(_checksum(key)) if int(key, 16) else None,
        key_valid_from=valid_from,
        key_valid_until=valid_until,
        anchored_at=anchored_at,
        anchored_block=anchored_block,
        expires_at=expires_at,
        document_count=count,
        batch_status=ChainStatus.from_code(batch_status),
        batch_reason=batch_reason,
        document_status=ChainStatus.from_code(document_status),
        document_reason=document_reason,
        document_agency_id=agency_id_from_bytes32(document_agency) if any(document_agency) else None,
        paused=paused,
    )
