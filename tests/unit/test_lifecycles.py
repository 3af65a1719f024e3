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


@given(states)
def test_a_move_is_allowed_exactly_when_the_table_lists_it_or_it_stays_put(pair: tuple[StrEnum, StrEnum]) -> None:
    old, new = pair
    assert allowed(old, new) == (old == new or new in TRANSITIONS[type(old)][old])
    if allowed(old, new):
        require_transition(old, new, "the record")
    else:
        with pytest.raises(TransitionError, match=f"the record is {old} and cannot become {new}"):
            require_transition(old, new, "the record")


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
