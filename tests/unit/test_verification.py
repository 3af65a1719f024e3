"""The verdict logic, on wrapped documents and chain evidence built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.documents.wrap import WrappedDocument, obfuscate, wrap_documents
from ledger.domain import Address, AnchorView, ChainEvidence, ChainStatus, Network, TypeRegistration
from ledger.verification import Outcome, VerificationStatus, evaluate
from tests.unit.documents import (
    CHAIN_ID,
    ISSUER_KEY,
    REGISTRY,
    anchor_view,
    licence_data,
    licence_registration,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ANCHORED = int((NOW - timedelta(days=1)).timestamp())
NETWORK = Network(chain_id=CHAIN_ID, registry=Address(REGISTRY))
KEY = ISSUER_KEY
REGISTERED = licence_registration(ANCHORED - 1000)


def view(**changes: Any) -> AnchorView:
    return anchor_view(ANCHORED, **changes)


def verdict(
    document: dict[str, Any],
    anchor: AnchorView | None = None,
    now: datetime = NOW,
    registration: TypeRegistration | None = REGISTERED,
) -> Any:
    evidence = ChainEvidence(
        view=anchor or view(),
        agency_name="Ministry of Commerce",
        anchor_tx="0xabc",
        read_at_block=20,
        type_registration=registration,
    )
    return evaluate(WrappedDocument.parse(document), network=NETWORK, fetch_evidence=lambda: evidence, now=now)


@pytest.fixture
def document() -> dict[str, Any]:
    return wrap_documents([licence_data(), licence_data("CL-2026-000124")])[0]


def test_valid_with_evidence(document: dict[str, Any]) -> None:
    result = verdict(document)
    assert result.status is VerificationStatus.VALID
    assert [check.name for check in result.checks] == [
        "integrity",
        "merkle_proof",
        "network",
        "anchored",
        "issuer",
        "issuer_key",
        "document_type",
        "not_revoked",
        "not_suspended",
        "not_expired",
    ]
    assert all(check.outcome is Outcome.PASSED for check in result.checks)
    assert result.anchor == {
        "block_number": 12,
        "transaction": "0xabc",
        "anchored_at": datetime.fromtimestamp(ANCHORED, UTC).isoformat(),
        "expires_at": None,
        "key": KEY,
        "document_count": 2,
        "read_at_block": 20,
    }
    key_check = next(check for check in result.checks if check.name == "issuer_key")
    assert key_check.evidence["valid_at_anchor"] is True


def test_obfuscated_document_stays_valid(document: dict[str, Any]) -> None:
    assert verdict(obfuscate(document, ["subject.owner"])).status is VerificationStatus.VALID


def test_tampered_content_is_caught_before_the_chain_is_asked(document: dict[str, Any]) -> None:
    document["data"]["subject"]["licenceNumber"] = document["data"]["subject"]["licenceNumber"][:-1] + "9"

    def chain_must_not_be_read() -> ChainEvidence:
        raise AssertionError("the chain was read for a tampered document")

    result = evaluate(WrappedDocument.parse(document), network=NETWORK, fetch_evidence=chain_must_not_be_read, now=NOW)
    assert result.status is VerificationStatus.TAMPERED
    assert "expected target hash" in result.checks[0].message


def test_forged_proof_is_tampering(document: dict[str, Any]) -> None:
    document["signature"]["proof"] = ["11" * 32]
    assert verdict(document).status is VerificationStatus.TAMPERED


@pytest.mark.parametrize(
    "anchor",
    [
        view(batch_status=ChainStatus.NONE, agency_id=None, key=None),
    ],
)
def test_unanchored_root_is_not_issued(document: dict[str, Any], anchor: AnchorView) -> None:
    assert verdict(document, anchor).status is VerificationStatus.NOT_ISSUED


def test_another_network_is_unknown_issuer() -> None:
    data = licence_data()
    data["sijill"]["chainId"] = 1
    result = verdict(wrap_documents([data])[0])
    assert result.status is VerificationStatus.UNKNOWN_ISSUER
    assert "trusts chain 31337" in result.summary


def test_document_store_must_be_the_registry() -> None:
    data = licence_data()
    data["issuers"][0]["documentStore"] = "0x000000000000000000000000000000000000dEaD"
    assert verdict(wrap_documents([data])[0]).status is VerificationStatus.UNKNOWN_ISSUER


def test_anchored_by_another_agency_is_unknown_issuer(document: dict[str, Any]) -> None:
    result = verdict(document, view(agency_id="qu"))
    assert result.status is VerificationStatus.UNKNOWN_ISSUER
    assert "claims agency 'moci'" in result.summary


def test_key_outside_its_window_is_unknown_issuer(document: dict[str, Any]) -> None:
    result = verdict(document, view(key_valid_from=ANCHORED + 1))
    assert result.status is VerificationStatus.UNKNOWN_ISSUER


def test_retired_key_keeps_what_it_issued_valid(document: dict[str, Any]) -> None:
    assert verdict(document, view(key_valid_until=ANCHORED + 1)).status is VerificationStatus.VALID


@pytest.mark.parametrize(
    ("anchor", "status", "reason"),
    [
        (view(batch_status=ChainStatus.REVOKED, batch_reason=3), VerificationStatus.REVOKED, "fraud"),
        (
            view(document_status=ChainStatus.REVOKED, document_reason=1, document_agency_id="moci"),
            VerificationStatus.REVOKED,
            "superseded",
        ),
        (view(batch_status=ChainStatus.SUSPENDED, batch_reason=7), VerificationStatus.SUSPENDED, "under_investigation"),
        (
            view(document_status=ChainStatus.SUSPENDED, document_reason=9, document_agency_id="moci"),
            VerificationStatus.SUSPENDED,
            "payment_overdue",
        ),
        (
            view(batch_status=ChainStatus.SUSPENDED, document_status=ChainStatus.REVOKED, document_agency_id="moci"),
            VerificationStatus.REVOKED,
            "unspecified",
        ),
    ],
)
def test_revoked_and_suspended(
    document: dict[str, Any], anchor: AnchorView, status: VerificationStatus, reason: str
) -> None:
    result = verdict(document, anchor)
    assert result.status is status
    assert reason in result.summary


def test_a_record_written_by_another_agency_is_ignored(document: dict[str, Any]) -> None:
    anchor = view(document_status=ChainStatus.REVOKED, document_agency_id="qu")
    assert verdict(document, anchor).status is VerificationStatus.VALID


def test_expiry_from_the_anchor_and_from_the_document(document: dict[str, Any]) -> None:
    expired_anchor = view(expires_at=int((NOW - timedelta(seconds=1)).timestamp()))
    assert verdict(document, expired_anchor).status is VerificationStatus.EXPIRED
    future_anchor = view(expires_at=int((NOW + timedelta(days=1)).timestamp()))
    assert verdict(document, future_anchor).status is VerificationStatus.VALID
    data = licence_data()
    data["validUntil"] = (NOW - timedelta(days=1)).isoformat()
    assert verdict(wrap_documents([data])[0]).status is VerificationStatus.EXPIRED


def test_revocation_outranks_expiry(document: dict[str, Any]) -> None:
    anchor = view(batch_status=ChainStatus.REVOKED, expires_at=int((NOW - timedelta(days=2)).timestamp()))
    assert verdict(document, anchor).status is VerificationStatus.REVOKED
