"""Builders of realistic document data for the unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledger.domain import Address, AnchorView, ChainStatus

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337
ISSUER_KEY = Address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")


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
        "sijill": {"version": 1, "chainId": CHAIN_ID, "registry": REGISTRY, "agencyId": agency_id},
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
