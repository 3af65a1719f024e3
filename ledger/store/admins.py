"""Agency admins' keys that this installation holds, encrypted at rest, in the store's database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger.errors import ConflictError
from ledger.store.models import AgencyAdminRow
from ledger.store.repository import Store


class AgencyAdmins:
    """The `agency_admins` table: one admin key per agency at most."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, agency_id: str, address: str, encrypted_key: str) -> AgencyAdminRow:
        """Keep the admin key of `agency_id`. Raises `ConflictError` if it has one."""
        row = AgencyAdminRow(agency_id=agency_id, address=address, encrypted_key=encrypted_key)
        try:
            with self._store.session() as session:
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"agency '{agency_id}' has an admin key already") from error
        return row

    def get(self, agency_id: str) -> AgencyAdminRow | None:
        """The admin key kept for `agency_id`, or None when the agency holds its own."""
        with self._store.session() as session:
            return session.get(AgencyAdminRow, agency_id)

    def by_address(self, address: str) -> AgencyAdminRow | None:
        """The admin key kept with address `address`, or None."""
        with self._store.session() as session:
            return session.scalars(select(AgencyAdminRow).where(AgencyAdminRow.address == address)).first()

    def sealed_keys(self) -> list[tuple[str, str]]:
        """Every agency admin key kept here, as (address, sealed private key)."""
        return self._store.sealed_keys(AgencyAdminRow)

    def reseal_key(self, address: str, old: str, new: str) -> bool:
        """Replace the sealed form `old` of an admin key by `new`; False when it changed meanwhile."""
        return self._store.reseal_key(address, old, new, AgencyAdminRow)
