"""Hostile input for the parser and the verifier: nothing gets past, nothing crashes.

Deep nesting, huge numbers, odd Unicode, duplicate keys, random mutations of a real
wrapped document, forged proofs, and every single-bit change of a valid proof.
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.documents.digest import target_hash
from ledger.documents.jsonsafe import JS_SAFE_INTEGER, MAX_NESTING, MalformedJsonError, loads
from ledger.documents.salt import unsalt_value
from ledger.documents.wrap import WrappedDocument, batch_documents, salt_document, wrap_documents
from ledger.domain import Address, ChainEvidence, Network
from ledger.errors import InvalidDocumentError
from ledger.verification import VerificationStatus, evaluate
from tests.unit.documents import CHAIN_ID, REGISTRY, anchor_view, licence_data, licence_registration

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ANCHORED = int((NOW - timedelta(days=1)).timestamp())
NETWORK = Network(chain_id=CHAIN_ID, registry=Address(REGISTRY))
ANCHOR = anchor_view(ANCHORED, document_count=8)
EVIDENCE = ChainEvidence(
    view=ANCHOR,
    agency_name="Ministry of Commerce",
    anchor_tx="0xabc",
    read_at_block=20,
    type_registration=licence_registration(ANCHORED - 10),
)
BATCH = wrap_documents([licence_data(f"CL-2026-{n:06d}") for n in range(8)])  # proofs of three hashes


def status_of(document: Any) -> VerificationStatus:
    """The verdict, as if the chain held the batch's real root (so only the document can fail)."""
    parsed = WrappedDocument.parse(document)
    return evaluate(parsed, network=NETWORK, fetch_evidence=lambda: EVIDENCE, now=NOW).status


def test_the_unaltered_documents_are_valid() -> None:
    assert {status_of(document) for document in BATCH} == {VerificationStatus.VALID}


def _flip(hex_hash: str, bit: int) -> str:
    return f"{int(hex_hash, 16) ^ (1 << bit):064x}"


@pytest.mark.parametrize("index", [0, 5, 7])
def test_every_single_bit_change_of_a_proof_is_rejected(index: int) -> None:
    document = BATCH[index]
    signature = document["signature"]
    places = [("targetHash", None), ("merkleRoot", None)] + [("proof", n) for n in range(len(signature["proof"]))]
    assert len(signature["proof"]) == 3
    accepted = []
    for name, position in places:
        for bit in range(256):
            forged = copy.deepcopy(document)
            if position is None:
                forged["signature"][name] = _flip(signature[name], bit)
            else:
                forged["signature"]["proof"][position] = _flip(signature["proof"][position], bit)
            if status_of(forged) is not VerificationStatus.TAMPERED:
                accepted.append((name, position, bit))
    assert accepted == []


def test_a_proof_from_another_document_or_a_shortened_one_is_rejected() -> None:
    swapped = copy.deepcopy(BATCH[0])
    swapped["signature"]["proof"] = BATCH[1]["signature"]["proof"]
    shortened = copy.deepcopy(BATCH[0])
    shortened["signature"]["proof"] = shortened["signature"]["proof"][:-1]
    extended = copy.deepcopy(BATCH[0])
    extended["signature"]["proof"].append(BATCH[0]["signature"]["merkleRoot"])
    reordered = copy.deepcopy(BATCH[0])
    reordered["signature"]["proof"].reverse()
    for forged in (swapped, shortened, extended, reordered):
        assert status_of(forged) is VerificationStatus.TAMPERED


# --- random mutations of a real document ---------------------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-JS_SAFE_INTEGER, max_value=JS_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += _paths(item, (*prefix, n))
    return found


@given(data=st.data(), replacement=JSON_VALUES)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_any_change_anywhere_is_refused_or_not_valid(data: st.DataObject, replacement: Any) -> None:
    original = BATCH[2]
    paths = _paths(original)[1:]
    path = data.draw(st.sampled_from(paths))
    forged = copy.deepcopy(original)
    holder = forged
    for part in path[:-1]:
        holder = holder[part]
    if holder[path[-1]] == replacement:
        return
    holder[path[-1]] = replacement
    try:
        parsed = WrappedDocument.parse(forged)
    except InvalidDocumentError:
        return  # refused as malformed, with a message
    same = WrappedDocument.parse(original)
    if (parsed.data, parsed.target_hash, parsed.proof, parsed.merkle_root, parsed.obfuscated) == (
        same.data,
        same.target_hash,
        same.proof,
        same.merkle_root,
        same.obfuscated,
    ):
        return  # the change was to something the document does not mean (e.g. an empty 'privacy')
    status = status_of(forged)
    assert status is not VerificationStatus.VALID, f"{path} -> {replacement!r} still verifies"


# --- the strict JSON reader -----------------------------------------------------------------


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_any_bytes_parse_or_are_refused_plainly(raw: bytes) -> None:
    with contextlib.suppress(InvalidDocumentError):  # any other exception fails the test
        loads(raw)


@given(JSON_VALUES)
@settings(max_examples=300)
def test_standard_json_reads_back_unchanged(value: Any) -> None:
    assert loads(json.dumps(value, ensure_ascii=False).encode()) == value
    assert loads(json.dumps(value).encode()) == value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"data": 1, "data": 2}', "appears twice"),
        (b'{"a": {"b": [ {"c": 1, "c": 1} ]}}', "appears twice"),
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON value"),
        (b'{"a": 1e400}', "too large for a double"),
        (b'{"a": 9007199254740993}', "beyond what JavaScript reads exactly"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "thousands of digits"),
        (b'{"a": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"\\udfff": 1}', "unpaired UTF-16 surrogate"),
        (b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1), "nests deeper"),
    ],
)
def test_what_parsers_disagree_on_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidDocumentError, match=message):
        loads(raw)


def test_a_paired_surrogate_escape_is_a_character_and_broken_bytes_are_not_json() -> None:
    assert loads(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}
    with pytest.raises(MalformedJsonError):
        loads(b'{"a": "\xff"}')
    with pytest.raises(MalformedJsonError):
        loads(b'{"a": ')


@pytest.mark.parametrize("text", ["\x1f1", "\u0661\u0662", "\uff11", "\x851", "\ufeff1", "0x10", "1_000"])
def test_a_salted_number_no_page_would_read_is_a_verdict_not_a_crash(text: str) -> None:
    """An issuer-consistent document (its own hashes right) whose number text float() refuses or reads
    otherwise than the page: verification answers, and the field stays salted text as on the page."""
    data = licence_data("CL-2026-000001")
    salted, _target = salt_document(data)
    leaf = salted["data"]["subject"]["licenceNumber"]
    salted["data"]["subject"]["licenceNumber"] = f"{leaf[:36]}:number:{text}"
    (document,) = batch_documents([(salted, target_hash(salted["data"]))])
    parsed = WrappedDocument.parse(document)
    result = evaluate(parsed, network=NETWORK, fetch_evidence=lambda: EVIDENCE, now=NOW)
    assert result.status is not None
    assert unsalt_value(salted["data"]["subject"]["licenceNumber"]) == salted["data"]["subject"]["licenceNumber"]
