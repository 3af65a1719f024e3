"""The input of an issuance, read by one model for the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import InvalidRequestError
from ledger.usecases.issuance import IssueRequest
from ledger.usecases.issue_input import IssueInput


def test_a_valid_input_becomes_an_issue_request() -> None:
    request = IssueInput.parse({"document_type": "permit", "fields": {"a": 1}, "expires_at": "2030-01-01T00:00:00Z"})
    assert request == IssueRequest("permit", {"a": 1}, datetime(2030, 1, 1, tzinfo=UTC))
    assert IssueInput.parse({"document_type": "permit", "fields": {}}).expires_at is None


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"document_type": "permit"}, "fields", "'fields': Field required"),
        ({"document_type": "permit", "fields": {}, "expires": "2030-01-01"}, "expires", "'expires': Extra inputs"),
        ({"document_type": "permit", "fields": {}, "expires_at": "2030-01-01T00:00"}, "expires_at", "timezone"),
        ({"document_type": 7, "fields": []}, "document_type", "(and 1 more problem(s))"),
    ],
)
def test_a_problem_names_its_field(raw: object, field: str, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        IssueInput.parse(raw)
    assert caught.value.field == field
    assert words in caught.value.message


def test_what_is_not_an_object_is_told_its_shape() -> None:
    with pytest.raises(InvalidRequestError, match="must hold") as caught:
        IssueInput.parse(["permit"])
    assert caught.value.field is None
