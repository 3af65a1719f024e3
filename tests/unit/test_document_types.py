"""Document type definitions: what is one, its canonical hash, and the verdict's type and never-hidden checks."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.documents.definitions import load_shared_schemas, parse_definition, shipped_definitions
from ledger.documents.types import DocumentTypeCatalog
from ledger.documents.wrap import obfuscate, wrap_documents
from ledger.errors import InvalidRequestError, ObfuscationError
from tests.unit.documents import licence_data, licence_registration, licence_type
from tests.unit.test_verification import ANCHORED, verdict, view

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
YEAR_TWO = ["visitor-entry-permit", "company-registration", "food-health-certificate"]
SHARED = load_shared_schemas()


def definition(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / "types" / f"{name}.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", YEAR_TWO)
def test_the_year_two_types_are_definitions_and_their_examples_valid(name: str) -> None:
    kind = parse_definition(definition(name), owner="moi", version=1, shared=SHARED)
    catalog = DocumentTypeCatalog(definitions=[kind], shared=SHARED)
    fields = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))["fields"]
    assert catalog.problems(name, fields) == []
    assert kind.shared_schemas == {"localized-text.schema.json": SHARED["localized-text.schema.json"]}
    assert kind.never_hidden
    assert set(kind.layout) == set(kind.schema["properties"])


def _broken(change: str) -> dict[str, Any]:
    raw = definition("visitor-entry-permit")
    properties = raw["schema"]["properties"]
    if change == "not a schema":
        properties["entries"]["enum"] = "single"
    elif change == "draft 7":
        raw["schema"]["$schema"] = "http://json-schema.org/draft-07/schema#"
    elif change == "no Arabic title":
        del properties["nationality"]["x-title-ar"]
    elif change == "no English title":
        del raw["schema"]["title"]
    elif change == "not an object":
        raw["schema"]["type"] = "array"
    elif change == "a remote reference":
        properties["holder"]["$ref"] = "https://example.com/name.json"
    elif change == "an unknown never-hidden field":
        raw["neverHidden"] = ["permitNumber", "visaColour"]
    elif change == "a layout field twice":
        raw["layout"] = ["permitNumber", "permitNumber"]
    elif change == "a bad id":
        raw["id"] = "Visitor Permit"
    elif change == "an id longer than 32 bytes":
        raw["id"] = "visitor-entry-permit-for-long-stays"
    return raw


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("not a schema", "schema.properties.entries.enum"),
        ("draft 7", "schema.$schema"),
        ("no Arabic title", "schema.properties.nationality"),
        ("no English title", "schema"),
        ("not an object", "schema.type"),
        ("a remote reference", "schema"),
        ("an unknown never-hidden field", "neverHidden"),
        ("a layout field twice", "layout"),
        ("a bad id", "id"),
        ("an id longer than 32 bytes", "id"),
    ],
)
def test_a_definition_that_is_not_one_is_refused_naming_the_part(change: str, field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_definition(_broken(change), owner="moi", version=1, shared=SHARED)
    assert caught.value.field == field, caught.value.message


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@settings(max_examples=50)
@given(st.integers(0, 2**32), st.sampled_from(YEAR_TWO))
def test_the_hash_is_of_the_canonical_form_whatever_the_key_order(seed: int, name: str) -> None:
    raw = definition(name)
    same = parse_definition(_shuffled(raw, random.Random(seed)), owner="moi", version=1, shared=SHARED)
    assert same.hash == parse_definition(raw, owner="moi", version=1, shared=SHARED).hash


@settings(max_examples=50)
@given(st.sampled_from(YEAR_TWO), st.data())
def test_any_change_to_a_title_a_rule_the_owner_or_the_version_changes_the_hash(name: str, data: Any) -> None:
    raw = definition(name)
    original = parse_definition(raw, owner="moi", version=1, shared=SHARED).hash
    field = data.draw(st.sampled_from(sorted(raw["schema"]["properties"])))
    changed = copy.deepcopy(raw)
    changed["schema"]["properties"][field]["x-title-ar"] += data.draw(st.text(min_size=1, max_size=3))
    assert parse_definition(changed, owner="moi", version=1, shared=SHARED).hash != original
    assert parse_definition(raw, owner="mme", version=1, shared=SHARED).hash != original
    assert parse_definition(raw, owner="moi", version=2, shared=SHARED).hash != original
    assert parse_definition(raw, owner=None, version=1, shared=SHARED).hash != original


def test_the_shipped_types_hash_as_they_always_have() -> None:
    """A shipped definition is registered with every registry: changing one must be a new version."""
    assert {kind.id: kind.hash for kind in shipped_definitions()} == {
        "academic-certificate": "0x088f66b133123297fdba0a752bca6cdaf98ddfaedf9ac28e952ba5afaa0b2035",
        "building-permit": "0x04940a01ebba789732735054787a07736a99f8cc353b357c7958aa87da78a894",
        "commercial-licence": "0x65e73527faa6325f1290dd96a8132059b55e61c42a81efb9615ded3db07a8045",
    }


# --- the verdict's type check -------------------------------------------------------------------------------


def _document(**binding: Any) -> dict[str, Any]:
    data = licence_data()
    data["sijill"]["documentType"] = {**licence_type(), **binding}
    return wrap_documents([data, licence_data("CL-2026-000124")])[0]


def _type_check(result: Any) -> Any:
    return next(check for check in result.checks if check.name == "document_type")


def test_a_registered_definition_passes_with_its_evidence() -> None:
    result = verdict(_document())
    check = _type_check(result)
    assert (result.status.value, check.outcome.value) == ("VALID", "passed")
    assert check.evidence["owner"] == "shared"
    assert check.evidence["registered_definition"] == licence_type()["definition"]


@pytest.mark.parametrize(
    ("binding", "registration", "words"),
    [
        ({}, licence_registration(0, definition_hash=None), "never registered"),
        ({"definition": "0x" + "ab" * 32}, licence_registration(ANCHORED - 10), "but the ledger registered"),
        ({}, licence_registration(ANCHORED - 10, owner="qu"), "belongs to agency 'qu'"),
        ({}, licence_registration(ANCHORED + 1), "after the document was anchored"),
        ({"version": 2}, None, "never registered"),
        ({"id": "building-permit"}, licence_registration(ANCHORED - 10), "names two types"),
        ({"version": "1"}, licence_registration(ANCHORED - 10), "hidden or malformed"),
    ],
)
def test_an_unregistered_or_altered_definition_is_not_valid(
    binding: dict[str, Any], registration: Any, words: str
) -> None:
    result = verdict(_document(**binding), registration=registration)
    check = _type_check(result)
    assert result.status.value == "UNKNOWN_ISSUER"
    assert check.outcome.value == "failed"
    assert words in check.message, check.message


def test_an_agencys_own_type_passes_for_that_agency() -> None:
    result = verdict(_document(), registration=licence_registration(ANCHORED - 10, owner="moci"))
    assert result.status.value == "VALID"
    assert _type_check(result).evidence["owner"] == "moci"


def test_a_document_issued_before_types_were_registered_skips_the_check() -> None:
    data = licence_data()
    data["sijill"]["version"] = 1
    del data["sijill"]["documentType"]
    result = verdict(wrap_documents([data])[0], anchor=view(document_count=1), registration=None)
    assert result.status.value == "VALID"
    assert _type_check(result).outcome.value == "skipped"


def test_a_version_2_document_that_hides_its_type_is_not_valid() -> None:
    data = licence_data()
    del data["sijill"]["documentType"]
    result = verdict(wrap_documents([data])[0], anchor=view(document_count=1), registration=None)
    assert (result.status.value, _type_check(result).outcome.value) == ("UNKNOWN_ISSUER", "failed")


# --- fields no holder may hide ------------------------------------------------------------------------------


def test_a_never_hidden_field_cannot_be_hidden_and_the_rest_can() -> None:
    document = _document(neverHidden=["subject.licenceNumber", "subject.owner.name"])
    for path in ("subject.licenceNumber", "subject.owner", "subject.owner.name.en"):
        with pytest.raises(ObfuscationError, match="no holder may hide"):
            obfuscate(document, [path])
    shown = obfuscate(document, ["subject.owner.nationalId", "subject.address"])
    result = verdict(shown)
    assert result.status.value == "VALID"
    assert next(check for check in result.checks if check.name == "never_hidden").outcome.value == "passed"


def test_a_copy_cut_by_hand_past_its_never_hidden_fields_is_tampered() -> None:
    document = _document(neverHidden=["subject.licenceNumber"])
    document["privacy"] = {"obfuscatedData": []}
    # What obfuscate would do, without its refusal: the leaf's hash moves to obfuscatedData.
    from ledger.documents.digest import field_hash

    leaf = document["data"]["subject"].pop("licenceNumber")
    document["privacy"]["obfuscatedData"].append(field_hash("subject.licenceNumber", leaf))
    result = verdict(document)
    check = next(check for check in result.checks if check.name == "never_hidden")
    assert result.status.value == "TAMPERED"
    assert check.evidence["hidden"] == ["subject.licenceNumber"]
    assert next(c for c in result.checks if c.name == "integrity").outcome.value == "passed"  # the hashes hold
