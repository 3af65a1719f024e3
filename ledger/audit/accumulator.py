"""An append-only Merkle accumulator: O(log n) memory, one root per prefix of events.

Leaves are SHA-256 digests already set apart from inner nodes (an event's leaf hashes a
0x00 prefix, see `ledger.chain.events`; inner nodes hash 0x01). They are added left to
right; the accumulator keeps the roots of perfect subtrees ("peaks"), merging equal
heights as a binary counter does. The root of a prefix bags
the peaks from right to left. Two parties replaying the same events in the same
order reach the same root for every prefix, so a checkpoint's root pins the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import sha256

EMPTY_ROOT = sha256(b"sijill/audit/empty").digest()


def node(left: bytes, right: bytes) -> bytes:
    """An inner node (ordered: position matters in a log). SHA-256, domain-separated from leaves."""
    return sha256(b"\x01" + left + right).digest()


@dataclass
class Accumulator:
    """Peaks as (height, hash), highest first, and the number of leaves."""

    count: int = 0
    peaks: list[tuple[int, bytes]] = field(default_factory=list)

    def add(self, leaf: bytes) -> None:
        """Append one leaf."""
        height, digest = 0, leaf
        while self.peaks and self.peaks[-1][0] == height:
            _, left = self.peaks.pop()
            digest = node(left, digest)
            height += 1
        self.peaks.append((height, digest))
        self.count += 1

    def root(self) -> bytes:
        """The root over every leaf so far."""
        if not self.peaks:
            return EMPTY_ROOT
        digest = self.peaks[-1][1]
        for _, peak in reversed(self.peaks[:-1]):
            digest = node(peak, digest)
        return digest

    def to_json(self) -> dict[str, object]:
        """A JSON form, to continue an audit later."""
        return {"count": self.count, "peaks": [[height, digest.hex()] for height, digest in self.peaks]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Accumulator:
        """The accumulator saved by `to_json`."""
        peaks = data.get("peaks", [])
        assert isinstance(peaks, list)
        return cls(count=int(str(data.get("count", 0))), peaks=[(int(h), bytes.fromhex(d)) for h, d in peaks])
