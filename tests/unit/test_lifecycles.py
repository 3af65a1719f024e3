"""The four lifecycles: one enum each, and a table of the moves each allows."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import (
    TRANSITIONS,
    BatchState,
    ChainStatus,
    DocumentStage,
    TransactionState,
    allowed,
    require_transition,
)
from ledger.errors import ConflictError, TransitionError

LIFECYCLES: list[type[StrEnum]] = [DocumentStage, BatchState, TransactionState, ChainStatus]
states = st.sampled_from(LIFECYCLES).flatmap(lambda kind: st.tuples(st.sampled_from(kind), st.sampled_from(kind)))


def test_every_state_of_every_lifecycle_has_a_row_in_its_table() -> None:
    for kind in LIFECYCLES:
        assert set(TRANSITIONS[kind]) == set(kind), kind
        for moves in TRANSITIONS[kind].values():
            assert moves <= set(kind), f"{kind.__name__} moves to a state of another lifecycle: {moves}"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (TransactionState.SIGNED, TransactionState.SENT),
        (TransactionState.SENT, TransactionState.FINAL),  # mined with its confirmations at once
        (TransactionState.FINAL, TransactionState.SENT),  # its block was lost
        (TransactionState.MINED, TransactionState.SUPERSEDED),
        (BatchState.PENDING, BatchState.ANCHORED),
        (BatchState.MINED, BatchState.FAILED),  # put back reverted by a reorg
        (BatchState.ANCHORED, BatchState.PENDING),
        (ChainStatus.NONE, ChainStatus.REVOKED),  # a document's own record, at its first change
        (ChainStatus.SUSPENDED, ChainStatus.ACTIVE),
        (DocumentStage.ANCHORED, DocumentStage.PENDING),
    ],
)
def test_the_moves_the_pipeline_and_the_chain_make_are_allowed(old: StrEnum, new: StrEnum) -> None:
    require_transition(old, new, "the record")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ChainStatus.REVOKED, ChainStatus.ACTIVE),  # a revocation is final
        (ChainStatus.REVOKED, ChainStatus.SUSPENDED),
        (BatchState.FAILED, BatchState.ANCHORED),
        (BatchState.ANCHORED, BatchState.MINED),
        (TransactionState.SUPERSEDED, TransactionState.SENT),
        (TransactionState.FINAL, TransactionState.MINED),
        (DocumentStage.FAILED, DocumentStage.PENDING),
    ],
)
def test_moves_no_lifecycle_makes_are_refused_with_both_states_named(old: StrEnum, new: StrEnum) -> None:
    with pytest.raises(TransitionError, match=f"the record is {old} and cannot become {new}"):
        require_transition(old, new, "the record")


@given(states)
def test_staying_put_is_never_a_move(pair: tuple[StrEnum, StrEnum]) -> None:
    old, _new = pair
    assert allowed(old, old)


def test_what_is_final_stays_final() -> None:
    assert not TRANSITIONS[ChainStatus][ChainStatus.REVOKED]  # a revocation is never undone
    assert not TRANSITIONS[BatchState][BatchState.FAILED]
    assert not TRANSITIONS[TransactionState][TransactionState.SUPERSEDED]
    assert not allowed(BatchState.FAILED, BatchState.ANCHORED)


def test_a_refused_move_is_a_conflict_the_api_answers_409() -> None:
    assert issubclass(TransitionError, ConflictError)


def test_a_documents_stage_follows_its_batchs_state() -> None:
    assert {state: DocumentStage.of(state) for state in BatchState} == {
        BatchState.PENDING: DocumentStage.PENDING,
        BatchState.MINED: DocumentStage.PENDING,
        BatchState.ANCHORED: DocumentStage.ANCHORED,
        BatchState.FAILED: DocumentStage.FAILED,
    }
    # Each move of a batch is a move its documents may make (or no move at all).
    for old, moves in TRANSITIONS[BatchState].items():
        for new in moves:
            assert allowed(DocumentStage.of(BatchState(old)), DocumentStage.of(BatchState(new))), (old, new)


@given(st.sampled_from(ChainStatus))
def test_a_chain_status_goes_to_its_byte_and_back(status: ChainStatus) -> None:
    assert ChainStatus.from_code(status.code) is status


@pytest.mark.parametrize("code", [-1, 4, 255])
def test_a_byte_the_registry_never_writes_is_refused(code: int) -> None:
    with pytest.raises(ValueError, match="no status"):
        ChainStatus.from_code(code)
