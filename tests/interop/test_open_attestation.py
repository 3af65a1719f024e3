"""Byte-exact agreement with OpenAttestation's own library (npm), used as an oracle.

Sijill documents verify under OpenAttestation; OpenAttestation's documents and
obfuscations verify under Sijill; both compute the same target hashes and roots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import WrappedDocument, wrap_documents
from ledger.verification import Outcome, integrity_checks
from tests.interop.node import run_node
from tests.unit.documents import licence_data

ORACLE = Path(__file__).with_name("oa_oracle.js")


def oracle(request: dict[str, Any]) -> dict[str, Any]:
    return run_node(ORACLE, stdin=request)


def intact(document: dict[str, Any]) -> bool:
    return all(check.outcome is Outcome.PASSED for check in integrity_checks(WrappedDocument.parse(document)))


@pytest.fixture(scope="module")
def batch() -> list[dict[str, Any]]:
    data = [licence_data(), licence_data("CL-2026-000124"), licence_data("CL-2026-000125")]
    data[1]["subject"]["capital"] = {"amount": 500000, "currency": "QAR"}
    data[2]["subject"]["remarks"] = {"ratio": 0.125, "flag": True, "none": None, "empty": {}, "list": []}
    return wrap_documents(data)


def test_sijill_documents_verify_under_open_attestation(batch: list[dict[str, Any]]) -> None:
    result = oracle({"verify": batch})
    for document, verdict in zip(batch, result["verify"], strict=True):
        assert verdict["signature"] is True
        assert verdict["schema"] is True
        assert verdict["data"] == unsalt_data(document["data"])


def test_open_attestation_obfuscation_verifies_under_sijill(batch: list[dict[str, Any]]) -> None:
    fields = ["subject.owner.nationalId", "subject.tradeName.ar"]
    obfuscated = oracle({"obfuscate": [{"document": batch[0], "fields": fields}]})["obfuscate"][0]
    assert "nationalId" not in obfuscated["data"]["subject"]["owner"]
    assert intact(obfuscated)
    assert WrappedDocument.parse(obfuscated).computed_target_hash() == batch[0]["signature"]["targetHash"]


def test_open_attestation_wrapping_verifies_under_sijill_byte_exact() -> None:
    raw = [licence_data(), {**licence_data("CL-2026-000777"), "notes": ["واحد", 2, 3.5, False, None]}]
    wrapped = oracle({"wrap": raw})["wrap"]
    assert [unsalt_data(document["data"]) for document in wrapped] == raw
    for document in wrapped:
        parsed = WrappedDocument.parse(document)
        assert parsed.computed_target_hash() == document["signature"]["targetHash"]
        assert parsed.computed_root() == document["signature"]["merkleRoot"]


def test_sijill_obfuscation_verifies_under_open_attestation(batch: list[dict[str, Any]]) -> None:
    from ledger.documents.wrap import obfuscate

    hidden = obfuscate(batch[2], ["subject.remarks.ratio", "subject.owner"])
    assert oracle({"verify": [hidden]})["verify"][0]["signature"] is True
