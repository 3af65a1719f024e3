"""Leases: which worker batches and sends for an agency, a row renewed every round.

A worker that dies stops renewing; its lease runs out and another worker takes the agency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from ledger.store.models import LeaseRow
from ledger.store.repository import Store


class Leases:
    """The leases' table, in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def acquire(self, name: str, owner: str, *, seconds: float, now: float) -> bool:
        """Take or renew the lease `name` for `owner`: True if it is held (free, expired or ours)."""
        try:
            with self._store.session() as session:
                result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                    update(LeaseRow)
                    .where(LeaseRow.name == name, or_(LeaseRow.owner == owner, LeaseRow.expires_at < now))
                    .values(owner=owner, expires_at=now + seconds)
                )
                taken = result.rowcount
                if taken:
                    return True
                if session.get(LeaseRow, name) is not None:
                    return False
                session.add(LeaseRow(name=name, owner=owner, expires_at=now + seconds))
        except IntegrityError:
            return False  # another process created it first
        return True

    def release(self, name: str, owner: str) -> None:
        """Give a lease back at once (on a clean stop), if `owner` holds it."""
        with self._store.session() as session:
            session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.owner == owner))

    def owner(self, name: str, *, now: float) -> str | None:
        """Who holds a lease now, or None."""
        with self._store.session() as session:
            row = session.get(LeaseRow, name)
            return row.owner if row is not None and row.expires_at >= now else None
