"""Bitstring Status List v1.0 (W3C Recommendation): a status list as bits, encoded and read back.

A list is at least `MIN_ENTRIES` bits (16 KiB: herd privacy, so that an index says nothing of
its holder), bit 0 the most significant bit of the first byte. Its `encodedList` is the bits
GZIP-compressed, then multibase base64url without padding (``u`` prefix). The GZIP header's
time is 0, so the same bits always encode to the same text (an auditor rebuilding a list from the
chain gets the very string the service publishes).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Iterable

from ledger.errors import CredentialError

MIN_ENTRIES = 131_072  # bits: the specification's minimum
MAX_ENCODED_BYTES = 1 << 20  # a longer encodedList is not read
MAX_ENTRIES = 1 << 26  # 8 MiB of bits at the most, once decompressed


class StatusBits:
    """The bits of one status list (revocation or suspension), `size` entries, all clear at first."""

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        if size < MIN_ENTRIES or size % 8 or size > MAX_ENTRIES:
            raise ValueError(f"a status list holds {MIN_ENTRIES:,} to {MAX_ENTRIES:,} entries, a multiple of 8")
        self._bits = bytearray(size // 8)

    @property
    def size(self) -> int:
        """How many entries the list has."""
        return len(self._bits) * 8

    def set(self, index: int, value: bool = True) -> None:
        """Set (or clear) entry `index`. Raises `IndexError` past the list."""
        if not 0 <= index < self.size:
            raise IndexError(f"entry {index} is past the list's {self.size:,}")
        mask = 0x80 >> (index % 8)
        if value:
            self._bits[index // 8] |= mask
        else:
            self._bits[index // 8] &= ~mask

    def get(self, index: int) -> bool:
        """Whether entry `index` is set. Raises `IndexError` past the list."""
        if not 0 <= index < self.size:
            raise IndexError(f"entry {index} is past the list's {self.size:,}")
        return bool(self._bits[index // 8] & (0x80 >> (index % 8)))

    def set_indexes(self) -> list[int]:
        """Every entry that is set, in order."""
        return [
            byte_index * 8 + bit
            for byte_index, byte in enumerate(self._bits)
            if byte
            for bit in range(8)
            if byte & (0x80 >> bit)
        ]

    def encode(self) -> str:
        """The list's `encodedList`: ``u`` + base64url (no padding) of the GZIP-compressed bits."""
        compressed = gzip.compress(bytes(self._bits), compresslevel=9, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()

    @classmethod
    def decode(cls, encoded: str) -> StatusBits:
        """A list from its `encodedList`. Raises `CredentialError` when it is not one, or too large."""
        if not isinstance(encoded, str) or not encoded.startswith("u") or len(encoded) > MAX_ENCODED_BYTES:
            raise CredentialError("the status list is not a 'u' multibase string of reasonable size")
        try:
            compressed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip, read no further than the cap
            raw = decompressor.decompress(compressed, MAX_ENTRIES // 8 + 1)
        except (binascii.Error, ValueError, zlib.error) as error:
            raise CredentialError("the status list is not GZIP-compressed base64url") from error
        if len(raw) * 8 > MAX_ENTRIES or decompressor.unconsumed_tail:
            raise CredentialError(f"the status list is larger than {MAX_ENTRIES:,} entries")
        if not decompressor.eof or decompressor.unused_data:
            raise CredentialError("the status list's GZIP stream is cut short, or followed by another")
        if len(raw) * 8 < MIN_ENTRIES:
            raise CredentialError(f"the status list has {len(raw) * 8:,} entries, fewer than {MIN_ENTRIES:,}")
        bits = cls(len(raw) * 8)
        bits._bits[:] = raw
        return bits

    @classmethod
    def of(cls, indexes: Iterable[int], size: int = MIN_ENTRIES) -> StatusBits:
        """A list with exactly `indexes` set."""
        bits = cls(size)
        for index in indexes:
            bits.set(index)
        return bits
