"""Builders of realistic document data for the unit tests."""

from __future__ import annotations

from typing import Any

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337


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
