"""Where the replayed anchors and document records live: in memory, or on disk page by page.

A replay touches only the records its current page names. `SqliteTable` loads those
records before the page (`prefetch`), serves them from a small cache while the page is
applied, and writes them back after it (`flush`), so the auditor's memory depends on
the page size, not on the size of the ledger. Records are lists of strings, integers and
None, stored with `marshal` (fast, and unable to run code when read back).
"""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

Record = list[Any]


class Table(Protocol):
    """A map from a hash to its replayed record."""

    def get(self, key: str) -> Record | None:
        """The record, or None."""

    def __setitem__(self, key: str, value: Record) -> None:
        """Set a record (in place mutation of a record got from `get` is kept too)."""

    def __contains__(self, key: object) -> bool:
        """Whether a record exists."""

    def insert(self, key: str, value: Record) -> bool:
        """Add a record expected to be new; False if it is known to exist already."""

    def prefetch(self, keys: Iterable[str]) -> None:
        """Load the records of `keys` before they are used."""

    def flush(self) -> list[str]:
        """Write back what changed; returns the keys `insert` added that existed already."""

    def chunks(self, size: int) -> Iterator[list[tuple[str, Record]]]:
        """Every record, `size` at a time."""


class MemoryTable(dict[str, Record]):
    """A plain dictionary: for tests and small ledgers."""

    def insert(self, key: str, value: Record) -> bool:
        """Add a new record; False if it exists."""
        if key in self:
            return False
        self[key] = value
        return True

    def prefetch(self, keys: Iterable[str]) -> None:
        """Nothing to load."""

    def flush(self) -> list[str]:
        """Nothing to write."""
        return []

    def chunks(self, size: int) -> Iterator[list[tuple[str, Record]]]:
        """Every record, `size` at a time."""
        items = list(self.items())
        for offset in range(0, len(items), size):
            yield items[offset : offset + size]


class SqliteTable:
    """Records in one SQLite table, with a cache of the current page's records."""

    def __init__(self, connection: sqlite3.Connection, name: str) -> None:
        self._db = connection
        self._name = name
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {name} (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
        self._cache: dict[str, Record] = {}
        self._absent: set[str] = set()
        self._new: set[str] = set()
        self._loaded: set[str] = set()

    def prefetch(self, keys: Iterable[str]) -> None:
        """Load the named records into the cache (and remember which do not exist)."""
        wanted = [key for key in set(keys) if key not in self._cache and key not in self._absent]
        for offset in range(0, len(wanted), 900):
            chunk = wanted[offset : offset + 900]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, value FROM {self._name} WHERE key IN ({marks})"  # noqa: S608 (fixed table name)
            found = dict(self._db.execute(query, chunk).fetchall())
            for key in chunk:
                if key in found:
                    self._cache[key] = marshal.loads(found[key])  # noqa: S302 (our own records: lists of str, int, None)
                    self._loaded.add(key)
                else:
                    self._absent.add(key)

    def get(self, key: str) -> Record | None:
        """The record, from the cache (loaded on a miss)."""
        if key not in self._cache and key not in self._absent:
            self.prefetch([key])
        return self._cache.get(key)

    def __setitem__(self, key: str, value: Record) -> None:
        self._cache[key] = value
        self._absent.discard(key)

    def insert(self, key: str, value: Record) -> bool:
        """Add a record expected to be new without reading the disk; a clash shows at `flush`."""
        if key in self._cache:
            return False
        self._cache[key] = value
        self._new.add(key)
        return True

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def flush(self) -> list[str]:
        """Write every cached record back and empty the cache; returns inserted keys that already existed."""
        clashes: list[str] = []
        insert = f"INSERT INTO {self._name} (key, value) VALUES (?, ?)"  # noqa: S608 (fixed table name)
        new = [(key, marshal.dumps(self._cache[key])) for key in sorted(self._new)]  # sorted: B-tree locality
        try:
            self._db.executemany(insert, new)
        except sqlite3.IntegrityError:
            self._db.rollback()
            for key, value in new:
                try:
                    self._db.execute(insert, (key, value))
                except sqlite3.IntegrityError:
                    clashes.append(key)
        loaded = [(marshal.dumps(self._cache[key]), key) for key in self._loaded if key in self._cache]
        if loaded:
            self._db.executemany(f"UPDATE {self._name} SET value = ? WHERE key = ?", loaded)  # noqa: S608
        skip = self._new | self._loaded
        created = [(key, marshal.dumps(value)) for key, value in self._cache.items() if key not in skip]
        if created:
            self._db.executemany(
                f"INSERT INTO {self._name} (key, value) VALUES (?, ?) "  # noqa: S608 (fixed table name)
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                created,
            )
        self._db.commit()
        self._cache.clear()
        self._absent.clear()
        self._new.clear()
        self._loaded.clear()
        return clashes

    def chunks(self, size: int) -> Iterator[list[tuple[str, Record]]]:
        """Every record, `size` at a time, in key order."""
        self.flush()
        last = ""
        while True:
            query = f"SELECT key, value FROM {self._name} WHERE key > ? ORDER BY key LIMIT ?"  # noqa: S608
            rows = self._db.execute(query, (last, size)).fetchall()
            if not rows:
                return
            yield [(key, marshal.loads(value)) for key, value in rows]  # noqa: S302
            last = rows[-1][0]


def open_tables(path: Path, *, fresh: bool) -> tuple[SqliteTable, SqliteTable, sqlite3.Connection]:
    """The anchors and documents tables of a replay database (emptied when `fresh`)."""
    if fresh:
        path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA cache_size=-8192")  # 8 MB of pages: bounded, whatever the ledger size
    return SqliteTable(connection, "anchors"), SqliteTable(connection, "documents"), connection


def mark(connection: sqlite3.Connection, block: int) -> None:
    """Record that the tables hold the replay up to `block` (written when an audit completes)."""
    connection.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    connection.execute(
        "INSERT INTO meta (name, value) VALUES ('last_block', ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (block,),
    )
    connection.commit()


def marked(connection: sqlite3.Connection) -> int | None:
    """The block the tables were last marked at, or None."""
    connection.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    row = connection.execute("SELECT value FROM meta WHERE name = 'last_block'").fetchone()
    return int(row[0]) if row else None
