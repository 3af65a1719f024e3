"""Relying parties and their presentation requests, in the store's database.

A request's answer is taken once: `answer` moves it from PENDING to ANSWERED only if no other answer
got there first (a compare-and-set on the row), so two holders, or one holder's replay, cannot both
answer. `collect` hands the result over once and forgets the claims it held; `discard_before` drops the
results nobody collected in time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from ledger.domain import PresentationState
from ledger.errors import ConflictError
from ledger.store.models import PresentationRequestRow, RelyingPartyRow
from ledger.store.repository import Store

_KEPT_REFUSALS = 20  # the latest refused answers a relying party sees


class Presentations:
    """The `relying_parties` and `presentation_requests` tables."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- relying parties --------------------------------------------------------------------------

    def add_party(self, row: RelyingPartyRow) -> RelyingPartyRow:
        """Register a relying party. Raises `ConflictError` for an id in use."""
        try:
            with self._store.session() as session:
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"a relying party '{row.id}' is registered already") from error
        return row

    def party(self, party_id: str) -> RelyingPartyRow | None:
        """The relying party `party_id`, or None."""
        with self._store.session() as session:
            return session.get(RelyingPartyRow, party_id)

    def parties(self) -> list[RelyingPartyRow]:
        """Every relying party, by id."""
        with self._store.session() as session:
            return list(session.scalars(select(RelyingPartyRow).order_by(RelyingPartyRow.id)))

    # --- requests ---------------------------------------------------------------------------------

    def add_request(self, row: PresentationRequestRow) -> PresentationRequestRow:
        """Keep a new request."""
        with self._store.session() as session:
            session.add(row)
        return row

    def request(self, request_id: str) -> PresentationRequestRow | None:
        """The request `request_id`, or None."""
        with self._store.session() as session:
            return session.get(PresentationRequestRow, request_id)

    def answer(self, request_id: str, result: dict[str, Any], at: datetime, response_code: str | None) -> bool:
        """Keep the verified result of a PENDING request (and the response code its redirect carries); False
        when it was answered already."""
        query = (
            update(PresentationRequestRow)
            .where(
                PresentationRequestRow.id == request_id,
                PresentationRequestRow.status == PresentationState.PENDING.value,
            )
            .values(status=PresentationState.ANSWERED.value, result=result, answered_at=at, response_code=response_code)
        )
        with self._store.session() as session:
            moved: CursorResult[Any] = session.execute(query)  # type: ignore[assignment]
            return moved.rowcount == 1

    def refuse(self, request_id: str, refusal: dict[str, Any]) -> None:
        """Note a refused answer (its reason and time, never its claims) for the relying party to see."""
        with self._store.session() as session:
            row = session.get(PresentationRequestRow, request_id, with_for_update=True)
            if row is not None:
                row.refusals = [*(row.refusals or []), refusal][-_KEPT_REFUSALS:]

    def discard_before(self, answered_before: datetime) -> int:
        """Drop the results answered before `answered_before` that nobody collected; how many."""
        query = (
            update(PresentationRequestRow)
            .where(
                PresentationRequestRow.status == PresentationState.ANSWERED.value,
                PresentationRequestRow.answered_at < answered_before,
            )
            .values(status=PresentationState.DISCARDED.value, result=None)
        )
        with self._store.session() as session:
            moved: CursorResult[Any] = session.execute(query)  # type: ignore[assignment]
            return int(moved.rowcount)

    def collect(self, request_id: str, at: datetime) -> dict[str, Any] | None:
        """The result of an ANSWERED request, once: the row then keeps no claim. None if it was collected
        meanwhile (by another request of the relying party's, or its callback): the move from ANSWERED
        is a compare-and-set, so two collections never both get the result."""
        with self._store.session() as session:
            row = session.get(PresentationRequestRow, request_id)
            if row is None or row.status != PresentationState.ANSWERED.value or row.result is None:
                return None
            result = row.result
        query = (
            update(PresentationRequestRow)
            .where(
                PresentationRequestRow.id == request_id,
                PresentationRequestRow.status == PresentationState.ANSWERED.value,
            )
            .values(status=PresentationState.COLLECTED.value, result=None, collected_at=at)
        )
        with self._store.session() as session:
            moved: CursorResult[Any] = session.execute(query)  # type: ignore[assignment]
            return result if moved.rowcount == 1 else None
