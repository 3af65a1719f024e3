"""Where the replayed anchors and document records live: in memory, or on disk.

A replay touches only the records its current page names. `SqliteTable` loads those
records before the page (`prefetch`), serves them from a bounded cache while pages are
applied, and writes them back in large sorted batches (`flush`), so the auditor's memory
depends on the cache bound, not on the size of the ledger. A record is an `AnchorRecord` or a
`DocumentStatusRecord`, one SQLite column a field, so an auditor can also query ``replay.sqlite``
with SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, Generic, NamedTuple, Protocol, TypeVar


class AnchorRecord(NamedTuple):
    """A batch as the replayed events left it, keyed by its root."""

    agency: str | None
    """The agency of the key that anchored it (None if the key was unknown then)."""
    issuer_key: str
    anchored_at: int
    block: int
    document_count: int
    expires_at: int
    status: str
    """ACTIVE, SUSPENDED or REVOKED."""
    reason: int
    """The reason code of the last suspension or revocation (0 while active)."""


class DocumentStatusRecord(NamedTuple):
    """A document whose status changed, as the replayed events left it, keyed by its hash."""

    agency: str | None
    """The agency of the batch it was changed in (None, as that batch's, if its key was unknown)."""
    status: str
    """ACTIVE, SUSPENDED or REVOKED."""
    reason: int
    claimed_at: int
    """The earliest anchoring time of the agency's batches it was changed in."""
    root: str
    """The batch it was last changed in."""


ANCHOR_COLUMNS = AnchorRecord._fields
DOCUMENT_COLUMNS = DocumentStatusRecord._fields

R = TypeVar("R", bound=AnchorRecord | DocumentStatusRecord)


class Table(Protocol[R]):
    """A map from a hash to its replayed record."""

    def get(self, key: str) -> R | None:
        """The record, or None."""

    def __setitem__(self, key: str, value: R) -> None:
        """Set a record (records are immutable: a changed one is set again, see `NamedTuple._replace`)."""

    def __contains__(self, key: object) -> bool:
        """Whether a record exists."""

    def insert(self, key: str, value: R) -> bool:
        """Add a record expected to be new; False if it is known to exist already."""

    def prefetch(self, keys: Iterable[str]) -> None:
        """Load the records of `keys` before they are used."""

    def flush(self, *, force: bool = False) -> list[str]:
        """Write back what changed (a table may wait until it holds many records, unless forced).

        Returns the keys `insert` added that existed already.
        """

    def held(self) -> int:
        """How many records wait in memory to be written."""

    def chunks(self, size: int) -> Iterator[list[tuple[str, R]]]:
        """Every record, `size` at a time."""


class MemoryTable(dict[str, R]):
    """A plain dictionary: for tests and small ledgers."""

    def insert(self, key: str, value: R) -> bool:
        """Add a new record; False if it exists."""
        if key in self:
            return False
        self[key] = value
        return True

    def prefetch(self, keys: Iterable[str]) -> None:
        """Nothing to load."""

    def flush(self, *, force: bool = False) -> list[str]:
        """Nothing to write."""
        return []

    def held(self) -> int:
        """Nothing waits."""
        return 0

    def chunks(self, size: int) -> Iterator[list[tuple[str, R]]]:
        """Every record, `size` at a time."""
        items = list(self.items())
        for offset in range(0, len(items), size):
            yield items[offset : offset + size]


class SqliteTable(Generic[R]):
    """Records of one type in one SQLite table, a column per field, behind a bounded cache.

    The cache holds the records recent pages read or wrote; they are written back together
    once `buffer` of them are held. A big sorted batch touches each B-tree page once rather
    than once per record, which is what keeps a replay's writes cheap.
    """

    def __init__(self, connection: sqlite3.Connection, name: str, record: type[R], *, buffer: int = 20_000) -> None:
        self._db = connection
        self._buffer = buffer
        self._record: type[R] = record
        columns = record._fields
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {name} (key TEXT PRIMARY KEY, {', '.join(columns)}) WITHOUT ROWID"
        )
        fields, marks = ", ".join(columns), ", ".join("?" * (len(columns) + 1))
        self._select = f"SELECT key, {fields} FROM {name}"  # noqa: S608 (fixed table and column names)
        # New records never overwrite: a key stored already is a clash, found by comparing afterwards
        # (the replay database keeps no rollback journal, see `open_tables`).
        self._insert_new = f"INSERT OR IGNORE INTO {name} (key, {fields}) VALUES ({marks})"  # noqa: S608
        self._upsert = (
            f"INSERT INTO {name} (key, {fields}) VALUES ({marks}) ON CONFLICT(key) DO UPDATE SET "  # noqa: S608
            + ", ".join(f"{column} = excluded.{column}" for column in columns)
        )
        self._cache: dict[str, R] = {}
        self._absent: set[str] = set()
        self._new: set[str] = set()  # inserted since the last write, not yet checked against the disk
        self._clashes: list[str] = []

    def prefetch(self, keys: Iterable[str]) -> None:
        """Load the named records into the cache (and remember which do not exist)."""
        if len(self._absent) > self._buffer:
            self._absent.clear()  # only a shortcut: bounded like the cache
        wanted = [key for key in set(keys) if key not in self._cache and key not in self._absent]
        for offset in range(0, len(wanted), 900):
            chunk = wanted[offset : offset + 900]
            for row in self._db.execute(f"{self._select} WHERE key IN ({','.join('?' * len(chunk))})", chunk):
                self._cache[row[0]] = self._record(*row[1:])
            self._absent.update(key for key in chunk if key not in self._cache)

    def get(self, key: str) -> R | None:
        """The record, from the cache (loaded on a miss).

        A record inserted since the last write is first checked against the disk: if the disk
        has the key already, the insert was a clash, and the stored record (the first) stands.
        """
        if key in self._new:
            self._new.discard(key)
            stored = self._db.execute(f"{self._select} WHERE key = ?", (key,)).fetchone()
            if stored is not None:
                self._clashes.append(key)
                self._cache[key] = self._record(*stored[1:])
        elif key not in self._cache and key not in self._absent:
            self.prefetch([key])
        return self._cache.get(key)

    def __setitem__(self, key: str, value: R) -> None:
        self._cache[key] = value
        self._absent.discard(key)

    def insert(self, key: str, value: R) -> bool:
        """Add a record expected to be new without reading the disk; a clash shows at `flush`."""
        if key in self._cache:
            return False
        self._cache[key] = value
        self._absent.discard(key)
        self._new.add(key)
        return True

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def held(self) -> int:
        """How many records the cache holds."""
        return len(self._cache)

    def flush(self, *, force: bool = False) -> list[str]:
        """Write the cache back and empty it, once it holds `buffer` records or when forced.

        Returns the inserted keys that were stored already (the stored record is kept).
        """
        cache = self._cache
        if not cache or (not force and len(cache) < self._buffer):
            return []
        new = [(key, *cache[key]) for key in sorted(self._new)]  # sorted: B-tree locality
        inserted = self._db.executemany(self._insert_new, new).rowcount
        clashes = self._clashes + (self._stored_elsewise(new) if inserted != len(new) else [])
        self._clashes = []
        if len(cache) > len(new):
            self._db.executemany(
                self._upsert, [(key, *record) for key, record in cache.items() if key not in self._new]
            )
        self._db.commit()
        cache.clear()
        self._absent.clear()
        self._new.clear()
        return clashes

    def _stored_elsewise(self, rows: list[tuple[Any, ...]]) -> list[str]:
        """The keys of `rows` whose stored record is another one (their insert found the key taken)."""
        clashes: list[str] = []
        for offset in range(0, len(rows), 900):
            chunk = {row[0]: row for row in rows[offset : offset + 900]}
            query = f"{self._select} WHERE key IN ({','.join('?' * len(chunk))})"
            clashes += [stored[0] for stored in self._db.execute(query, list(chunk)) if stored != chunk[stored[0]]]
        return clashes

    def chunks(self, size: int) -> Iterator[list[tuple[str, R]]]:
        """Every record, `size` at a time, in key order."""
        self.flush(force=True)
        last = ""
        while True:
            rows = self._db.execute(f"{self._select} WHERE key > ? ORDER BY key LIMIT ?", (last, size)).fetchall()
            if not rows:
                return
            yield [(row[0], self._record(*row[1:])) for row in rows]
            last = rows[-1][0]


def open_tables(
    path: Path, *, fresh: bool
) -> tuple[SqliteTable[AnchorRecord], SqliteTable[DocumentStatusRecord], sqlite3.Connection]:
    """The anchors and documents tables of a replay database (emptied when `fresh`).

    The database is the auditor's scratch space, rebuilt from the chain whenever in doubt, so it
    keeps no journal and does not wait for the disk: `begin_replay` unmarks it before a replay
    writes, `mark` marks it when an audit completes, and an unmarked database is replayed afresh.
    A file that is not a replay database of this layout is started afresh too.
    """
    if not fresh and path.exists():
        try:
            with closing(sqlite3.connect(path)) as probe:
                found = tuple(column for _, column, *_ in probe.execute("PRAGMA table_info(anchors)"))
        except sqlite3.DatabaseError:
            found = ()
        fresh = found != ("key", *ANCHOR_COLUMNS)
    if fresh:
        path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA page_size=16384")  # before the first table: fewer, fuller B-tree pages
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-8192")  # 8 MB of pages: bounded, whatever the ledger size
        anchors = SqliteTable(connection, "anchors", AnchorRecord)
        documents = SqliteTable(connection, "documents", DocumentStatusRecord)
    except BaseException:
        connection.close()
        raise
    return anchors, documents, connection


def _set_mark(connection: sqlite3.Connection, block: int | None) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)")
    connection.execute(
        "INSERT INTO meta (name, value) VALUES ('last_block', ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (block,),
    )
    connection.commit()


def begin_replay(connection: sqlite3.Connection) -> None:
    """Unmark the tables before a replay writes to them: until `mark`, they hold no finished audit."""
    _set_mark(connection, None)


def mark(connection: sqlite3.Connection, block: int) -> None:
    """Record that the tables hold the replay up to `block` (written when an audit completes)."""
    _set_mark(connection, block)


def marked(connection: sqlite3.Connection) -> int | None:
    """The block the tables were last marked at, or None (never, or a replay did not complete)."""
    connection.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)")
    row = connection.execute("SELECT value FROM meta WHERE name = 'last_block'").fetchone()
    return int(row[0]) if row and row[0] is not None else None
