"""The council's proposals, in the store's database: what is needed to rebuild their calls."""

from __future__ import annotations

from sqlalchemy import select, update

from ledger.store.models import ProposalRow
from ledger.store.repository import Store


class Proposals:
    """The `council_proposals` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, row: ProposalRow) -> ProposalRow:
        """Keep a new proposal; returns it with its id."""
        with self._store.session() as session:
            session.add(row)
            session.flush()
            session.refresh(row)
        return row

    def get(self, proposal_id: int) -> ProposalRow | None:
        """The proposal `proposal_id`, or None."""
        with self._store.session() as session:
            return session.get(ProposalRow, proposal_id)

    def list(self, *, limit: int = 100) -> list[ProposalRow]:
        """The latest proposals, newest first."""
        with self._store.session() as session:
            return list(session.scalars(select(ProposalRow).order_by(ProposalRow.id.desc()).limit(limit)))

    def mark(self, proposal_id: int, *, scheduled_tx: str | None = None, executed_tx: str | None = None) -> None:
        """Record the transaction that scheduled or executed a proposal."""
        values = {"scheduled_tx": scheduled_tx} if scheduled_tx else {"executed_tx": executed_tx}
        with self._store.session() as session:
            session.execute(update(ProposalRow).where(ProposalRow.id == proposal_id).values(**values))
