"""Builders of realistic document data for the unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledger.documents.types import DocumentTypeCatalog
from ledger.domain import Address, AnchorView, ChainStatus, HexHash, TypeRegistration

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337
ISSUER_KEY = Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
LICENCE = DocumentTypeCatalog.shipped().get("commercial-licence").definition


def licence_type(never_hidden: list[str] | None = None) -> dict[str, Any]:
    """A licence's ``sijill.documentType``: the shipped type's version 1 and its definition's hash."""
    return {"id": "commercial-licence", "version": 1, "definition": LICENCE.hash, "neverHidden": never_hidden or []}


def licence_registration(registered_at: int, **changes: Any) -> TypeRegistration:
    """What the registry says of the shipped licence type (shared, version 1), with `changes`."""
    base = TypeRegistration(
        type_id="commercial-licence",
        version=1,
        owner=None,
        definition_hash=HexHash(LICENCE.hash),
        registered_at=registered_at,
        versions=1,
    )
    return replace(base, **changes)


def anchor_view(anchored_at: int, **changes: Any) -> AnchorView:
    """What the registry says of an active batch of moci's, anchored at `anchored_at`, with `changes`."""
    base = AnchorView(
        agency_id="moci",
        key=ISSUER_KEY,
        key_valid_from=anchored_at - 100,
        key_valid_until=2**40 - 1,
        anchored_at=anchored_at,
        anchored_block=12,
        expires_at=0,
        document_count=2,
        batch_status=ChainStatus.ACTIVE,
        batch_reason=0,
        document_status=ChainStatus.NONE,
        document_reason=0,
        document_agency_id=None,
        paused=False,
    )
    return replace(base, **changes)


def licence_data(number: str = "CL-2026-000123", agency_id: str = "moci") -> dict[str, Any]:
    """The data of a commercial licence as the service builds it, before salting."""
    return {
        "documentType": "commercial-licence",
        "issuers": [
            {
                "name": "Ministry of Commerce",
                "documentStore": REGISTRY,
                "identityProof": {"type": "DNS-TXT", "location": "moci.gov.qa"},
            }
        ],
        "sijill": {
            "version": 2,
            "chainId": CHAIN_ID,
            "registry": REGISTRY,
            "agencyId": agency_id,
            "documentType": licence_type(),
        },
        "subject": {
            "licenceNumber": number,
            "tradeName": {"en": "Pearl Coast Trading", "ar": "ساحل اللؤلؤ للتجارة"},
            "legalForm": "limited-liability-company",
            "owner": {"name": {"en": "Mariam Al-Thani", "ar": "مريم آل ثاني"}, "nationalId": "28763400123"},
            "activities": [{"code": "4690", "description": {"en": "Wholesale trade", "ar": "تجارة الجملة"}}],
            "address": {"en": "Doha", "ar": "الدوحة"},
            "issueDate": "2026-11-23",
            "expiryDate": "2027-11-22",
        },
    }
