"""The document types registered through this installation, in the store's database."""

from __future__ import annotations

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ledger.errors import ConflictError
from ledger.store.models import DocumentTypeRow
from ledger.store.repository import Store


class DocumentTypes:
    """The `document_types` table: one row per registered version."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, row: DocumentTypeRow) -> DocumentTypeRow:
        """Keep a registered version. Raises `ConflictError` when that version is kept already."""
        try:
            with self._store.session() as session:
                session.add(row)
                session.flush()
                session.refresh(row)
        except IntegrityError:
            raise ConflictError(f"version {row.version} of type '{row.type_id}' is registered already") from None
        return row

    def all(self, *, registered_only: bool = False) -> list[DocumentTypeRow]:
        """Every kept version in the order they were kept; only those the registry confirmed when
        `registered_only` (a version is kept before it is sent, so that no definition is ever lost)."""
        query = select(DocumentTypeRow).order_by(DocumentTypeRow.id)
        if registered_only:
            query = query.where(DocumentTypeRow.registered_at > 0)
        with self._store.session() as session:
            return list(session.scalars(query))

    def confirm(self, type_id: str, version: int, *, tx_hash: str, registered_at: int) -> None:
        """Record that the registry holds version `version` of `type_id`, registered at `registered_at`."""
        with self._store.session() as session:
            session.execute(
                update(DocumentTypeRow)
                .where(DocumentTypeRow.type_id == type_id, DocumentTypeRow.version == version)
                .values(tx_hash=tx_hash, registered_at=registered_at)
            )

    def discard(self, type_id: str, version: int) -> None:
        """Forget a version the registry never took (its registration was refused)."""
        with self._store.session() as session:
            session.execute(
                delete(DocumentTypeRow).where(
                    DocumentTypeRow.type_id == type_id,
                    DocumentTypeRow.version == version,
                    DocumentTypeRow.registered_at == 0,
                )
            )

    def get(self, type_id: str, version: int) -> DocumentTypeRow | None:
        """Version `version` of `type_id`, or None."""
        with self._store.session() as session:
            return session.scalar(
                select(DocumentTypeRow).where(DocumentTypeRow.type_id == type_id, DocumentTypeRow.version == version)
            )

    def marker(self) -> tuple[int, int]:
        """What changes when a version is kept or confirmed: a reader's cue to reload."""
        confirmed = func.sum(case((DocumentTypeRow.registered_at > 0, 1), else_=0))
        with self._store.session() as session:
            last, count = session.execute(
                select(func.coalesce(func.max(DocumentTypeRow.id), 0), func.coalesce(confirmed, 0))
            ).one()
        return int(last), int(count)
