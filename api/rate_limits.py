"""Request rates per client (an API key, an address), shared by every service process of a host.

The buckets live in a small table of fixed size in shared memory, a file mapped by each process
(as nginx's ``limit_req_zone`` keeps its counters in memory its workers share), so that
`SIJILL_API_WORKERS` processes allow a client the configured rate once, not once each. One
lock (``flock`` on the file, and a thread lock inside a process) guards a take, which reads and
writes one slot: a few microseconds. Without a file the table is this process's memory alone.

Each slot holds a client's key (16 bytes of BLAKE2b of its name keyed with a secret the file does
not hold, so that no address or key id is written to disk, nor can be found again by hashing every
address), its tokens and when it last took one, on the system's monotonic clock, which every
process of a host shares. The file is allocated whole when made (a full disk then fails the
start, not a write through the mapping), and its name carries its slot count, so a service of
another size never resizes a table that running processes have mapped.

A client is looked for in `PROBES` slots from its hash; when all are taken by others, the one
idle longest is reused: a bucket idle for a minute is full again, so reusing it changes nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import ConfigurationError, RateLimitedError

SLOT = struct.Struct("<16sdd")  # client key, tokens, last take (monotonic seconds)
SLOTS = 1 << 16  # 65,536 clients at once: 2 MiB
PROBES = 16
_EMPTY = bytes(16)
_MAGIC = b"sijill-rates-v1\0"  # the file's first 16 bytes (then 16 reserved)
HEADER = 32


class BucketTable:
    """A fixed table of token buckets, in a shared file or in this process's memory."""

    def __init__(self, path: Path | None = None, *, slots: int = SLOTS, secret: bytes | None = None) -> None:
        """`path` None: private to this process. Otherwise the file `path`.`slots` is made if missing
        (allocated whole) and mapped; processes that map it with the same `secret` share the buckets.
        `secret` keys the clients' hashes (required with a file; random without one).

        Raises `ConfigurationError` when that file is not such a table (remove it; it holds nothing
        that outlives a restart), or a file is given without a secret.
        """
        if path is not None and not secret:
            raise ConfigurationError("a shared table of request rates needs a secret to key its clients' hashes")
        self.slots = slots
        self._secret = hashlib.blake2b(secret or os.urandom(32), digest_size=32, person=b"sijill-limit").digest()
        size = HEADER + slots * SLOT.size
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, size)
        else:
            path = path.with_name(f"{path.name}.{slots}")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                with _flocked(fd):
                    if os.fstat(fd).st_size == 0:  # new: every page now, so no write through the map can fail
                        os.posix_fallocate(fd, 0, size)
                        os.pwrite(fd, _MAGIC, 0)
                    if os.fstat(fd).st_size != size or os.pread(fd, 16, 0) != _MAGIC:
                        raise ConfigurationError(f"{path} is not a table of request rates; remove it")
                self._map = mmap.mmap(fd, size)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd

    def key(self, client: str) -> bytes:
        """A client's slot key: 16 bytes of BLAKE2b keyed with the table's secret, never the name itself."""
        return hashlib.blake2b(client.encode(), digest_size=16, key=self._secret).digest()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive use of the table, across threads and processes."""
        with self._thread_lock:
            if self._fd is None:
                yield
                return
            with _flocked(self._fd):
                yield

    def find(self, key: bytes, now: float) -> tuple[int, float | None, float]:
        """The slot for `key` (hold `locked`): its index and stored tokens and time, tokens None
        when the slot is new to `key` (empty, or reused from the client idle longest)."""
        start = int.from_bytes(key[:8], "little") % self.slots
        oldest, oldest_at = start, math.inf
        for step in range(PROBES):
            index = (start + step) % self.slots
            stored, tokens, at = SLOT.unpack_from(self._map, HEADER + index * SLOT.size)
            if at > now:  # written before the host restarted (the monotonic clock began again): stale
                at = -math.inf
            if stored == key:
                return (index, None, now) if at == -math.inf else (index, tokens, at)
            if stored == _EMPTY:
                return index, None, now
            if at < oldest_at:
                oldest, oldest_at = index, at
        return oldest, None, now

    def store(self, index: int, key: bytes, tokens: float, at: float) -> None:
        """Write a slot (hold `locked`)."""
        SLOT.pack_into(self._map, HEADER + index * SLOT.size, key, tokens, at)

    def clients(self) -> set[bytes]:
        """The client keys held now (for tests and diagnostics)."""
        with self.locked():
            found = {SLOT.unpack_from(self._map, HEADER + i * SLOT.size)[0] for i in range(self.slots)}
        return found - {_EMPTY}

    def close(self) -> None:
        """Unmap the table and close its file."""
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def _flocked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class RateLimiter:
    """A token bucket per client: `per_minute` requests, in bursts of as many; 0 turns it off.

    With a `table` on a shared file every service process spends from the same buckets.
    `on_refusal` is told each refusal (for the metrics).
    """

    def __init__(
        self,
        per_minute: int,
        *,
        table: BucketTable | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_refusal: Callable[[], None] | None = None,
    ) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._table = table if table is not None else BucketTable(slots=1024 if per_minute <= 0 else SLOTS)
        self._clock = clock
        self._on_refusal = on_refusal

    def take(self, client: str, who: str) -> None:
        """Spend one request of `client`'s allowance. Raises `RateLimitedError` when none is left."""
        if self.per_minute <= 0:
            return
        key, full = self._table.key(client), float(self.per_minute)
        with self._table.locked():
            now = self._clock()
            index, tokens, at = self._table.find(key, now)
            tokens = full if tokens is None else min(full, tokens + max(0.0, now - at) * self._rate)
            allowed = tokens >= 1.0
            self._table.store(index, key, tokens - 1.0 if allowed else tokens, now)
        if allowed:
            return
        if self._on_refusal is not None:
            self._on_refusal()
        wait = math.ceil((1.0 - tokens) / self._rate)
        raise RateLimitedError(
            f"too many requests from {who}: {self.per_minute} a minute are allowed; retry in {wait} s",
            retry_after=wait,
        )

    def close(self) -> None:
        """Release the bucket table."""
        self._table.close()
