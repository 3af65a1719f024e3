"""Agencies' credential keys and documents' signed credentials, in the store's database.

A document's status index is taken once, when its credential is first signed, and never given to
another document: the `(agency_id, status_index)` pair is unique and a row is never deleted.
Indexes are drawn at random from the agency's lists (herd privacy: an index tells nothing of when
a document was issued or to whom), growing by a list when half of them are taken.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ledger.errors import ConflictError
from ledger.store.models import CredentialKeyRow, CredentialRow
from ledger.store.repository import Store
from ledger.vc.status_list import MIN_ENTRIES

_DRAWS = 64  # random draws before the lowest free index is taken instead


class Credentials:
    """The `credential_keys` and `credentials` tables."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- keys -------------------------------------------------------------------------------------

    def add_key(self, row: CredentialKeyRow) -> CredentialKeyRow:
        """Keep a credential key (before the chain knows it, with an empty window). Raises `ConflictError`."""
        try:
            with self._store.session() as session:
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"credential key {row.key_id} is kept already") from error
        return row

    def set_window(self, key_id: str, valid_from: int, valid_until: int, tx_hash: str | None = None) -> None:
        """Record the window the chain gives a key."""
        with self._store.session() as session:
            row = session.get(CredentialKeyRow, key_id)
            assert row is not None, "set_window follows add_key"
            row.valid_from, row.valid_until = valid_from, valid_until
            if tx_hash is not None:
                row.tx_hash = tx_hash

    def get_key(self, key_id: str) -> CredentialKeyRow | None:
        """The credential key `key_id`, or None."""
        with self._store.session() as session:
            return session.get(CredentialKeyRow, key_id)

    def keys_of(self, agency_id: str) -> list[CredentialKeyRow]:
        """An agency's credential keys, newest first."""
        query = select(CredentialKeyRow).where(CredentialKeyRow.agency_id == agency_id)
        with self._store.session() as session:
            return list(session.scalars(query.order_by(CredentialKeyRow.created_at.desc())))

    # --- credentials ------------------------------------------------------------------------------

    def get(self, target_hash: str) -> CredentialRow | None:
        """The credential of a document, or None when none was signed."""
        with self._store.session() as session:
            return session.get(CredentialRow, target_hash)

    def of_agency(self, agency_id: str, lowest: int, highest: int) -> list[tuple[str, str, int]]:
        """(target hash, batch root, index) of each of an agency's credentials with an index in [lowest, highest)."""
        query = select(CredentialRow.target_hash, CredentialRow.batch_root, CredentialRow.status_index).where(
            CredentialRow.agency_id == agency_id,
            CredentialRow.status_index >= lowest,
            CredentialRow.status_index < highest,
        )
        with self._store.session() as session:
            return [(str(h), str(r), int(i)) for h, r, i in session.execute(query)]

    def lists(self, agency_id: str) -> int:
        """How many status lists (of each purpose) an agency has: one more once half of them are taken."""
        return self.taken(agency_id) * 2 // MIN_ENTRIES + 1

    def taken(self, agency_id: str) -> int:
        """How many status indexes an agency has given."""
        query = select(func.count()).select_from(CredentialRow).where(CredentialRow.agency_id == agency_id)
        with self._store.session() as session:
            return int(session.scalar(query) or 0)

    def add(
        self,
        *,
        target_hash: str,
        agency_id: str,
        batch_root: str,
        key_id: str,
        sign: Callable[[int], dict[str, Any]],
    ) -> CredentialRow:
        """Give a document a free status index and keep the credential `sign(index)` makes with it.

        Two requests at once for one document keep the first credential; both get it back.
        """
        for attempt in range(_DRAWS + 1):
            index = self._draw(agency_id, lowest_free=attempt == _DRAWS)
            row = CredentialRow(
                target_hash=target_hash,
                agency_id=agency_id,
                batch_root=batch_root,
                status_index=index,
                key_id=key_id,
                credential=sign(index),
            )
            try:
                with self._store.session() as session:
                    session.add(row)
                return row
            except IntegrityError:
                kept = self.get(target_hash)
                if kept is not None:
                    return kept  # signed meanwhile by another request
        raise ConflictError(f"no free status index for agency '{agency_id}' after {_DRAWS} tries; try again")

    def _draw(self, agency_id: str, *, lowest_free: bool) -> int:
        """A random index in the agency's lists (one more list once half are taken), or the lowest free one."""
        capacity = MIN_ENTRIES * self.lists(agency_id)
        if not lowest_free:
            return secrets.randbelow(capacity)
        query = select(CredentialRow.status_index).where(CredentialRow.agency_id == agency_id)
        with self._store.session() as session:
            used = set(session.scalars(query))
        return next(index for index in range(capacity + 1) if index not in used)
