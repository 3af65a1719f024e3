"""Wrapping, selective disclosure and tamper evidence (Hypothesis properties)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.documents.digest import flatten
from ledger.documents.wrap import WrappedDocument, obfuscate, wrap_documents
from ledger.errors import InvalidDocumentError, ObfuscationError
from ledger.verification import Outcome, integrity_checks
from tests.unit.documents import licence_data

keys = st.text(alphabet=st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), min_size=1, max_size=6)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["مريم آل ثاني", "الدوحة", "Pearl Coast"]),
)
objects = st.recursive(
    st.dictionaries(keys, leaves, min_size=1, max_size=4),
    lambda children: st.dictionaries(
        keys, st.one_of(leaves, children, st.lists(leaves, max_size=3)), min_size=1, max_size=4
    ),
    max_leaves=16,
)


def intact(document: dict[str, Any]) -> bool:
    return all(check.outcome is Outcome.PASSED for check in integrity_checks(WrappedDocument.parse(document)))


@given(st.lists(objects, min_size=1, max_size=6))
def test_every_wrapped_document_verifies(batch: list[dict[str, Any]]) -> None:
    wrapped = wrap_documents(batch)
    assert len({document["signature"]["merkleRoot"] for document in wrapped}) == 1
    assert all(intact(document) for document in wrapped)


def object_paths(data: dict[str, Any], prefix: str = "") -> list[str]:
    """Every path to an object key (not through lists)."""
    paths = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        paths.append(path)
        if isinstance(value, dict):
            paths.extend(object_paths(value, path))
    return paths


@settings(max_examples=150)
@given(objects, st.data())
def test_any_obfuscation_keeps_the_document_verifiable(data: dict[str, Any], draw: st.DataObject) -> None:
    document = wrap_documents([data])[0]
    paths = object_paths(document["data"])
    chosen = draw.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    for path in chosen:  # hide one at a time: a path may vanish with its parent
        try:
            document = obfuscate(document, [path])
        except ObfuscationError:
            continue
        assert intact(document)
    assert WrappedDocument.parse(document).target_hash == document["signature"]["targetHash"]


def test_obfuscated_field_is_gone_and_its_hash_kept() -> None:
    document = wrap_documents([licence_data()])[0]
    hidden = obfuscate(document, ["subject.owner.nationalId"])
    assert "nationalId" not in hidden["data"]["subject"]["owner"]
    assert len(hidden["privacy"]["obfuscatedData"]) == 1
    assert intact(hidden)


def test_hiding_the_last_field_of_an_object_hides_the_object() -> None:
    document = wrap_documents([{"a": {"b": 1}, "c": 2}])[0]
    hidden = obfuscate(document, ["a.b"])
    assert "a" not in hidden["data"]
    assert intact(hidden)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("subject.missing", "no visible field"),
        ("subject.activities.0", "inside the list"),
        ("issuers", "cannot be hidden"),
        ("subject..x", "dotted field path"),
    ],
)
def test_obfuscation_refuses_what_it_cannot_hide(path: str, message: str) -> None:
    document = wrap_documents([licence_data()])[0]
    with pytest.raises(ObfuscationError, match=message):
        obfuscate(document, [path])


def strings_of(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        out = [((*path, ("key", k)), k) for k in node]
        return out + [item for k, v in node.items() for item in strings_of(v, (*path, k))]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in strings_of(v, (*path, i))]
    return [(path, node)] if isinstance(node, str) else []


def replace(document: dict[str, Any], path: tuple[Any, ...], new: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    last = path[-1]
    if isinstance(last, tuple):  # a key
        node[new] = node.pop(last[1])
    else:
        node[last] = new
    return changed


@settings(max_examples=200)
@given(st.data())
def test_any_changed_character_is_tampering(draw: st.DataObject) -> None:
    document = wrap_documents([licence_data(), licence_data("CL-2026-000124")])[0]
    document = obfuscate(document, ["subject.owner.nationalId"])
    targets = [("data", *p) for p, _ in strings_of(document["data"])]
    targets += [("signature", "targetHash"), ("signature", "merkleRoot"), ("signature", "proof", 0)]
    targets += [("privacy", "obfuscatedData", 0)]
    path = draw.draw(st.sampled_from(targets))
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    original = path[-1][1] if isinstance(path[-1], tuple) else node[path[-1]]
    position = draw.draw(st.integers(min_value=0, max_value=len(original) - 1))
    hex_field = path[0] in ("signature", "privacy")
    characters = st.sampled_from("0123456789abcdef") if hex_field else st.characters(blacklist_categories=("Cs",))
    replacement = draw.draw(characters)
    assume(replacement != original[position])
    if isinstance(path[-1], tuple):
        assume(original[:position] + replacement + original[position + 1 :] not in node)
    changed = replace(document, path, original[:position] + replacement + original[position + 1 :])
    try:
        parsed = WrappedDocument.parse(changed)
    except InvalidDocumentError:
        return  # refused outright, never accepted
    assert any(check.outcome is Outcome.FAILED for check in integrity_checks(parsed))


def test_flatten_keeps_empty_containers_and_refuses_dots() -> None:
    assert flatten({"a": {}, "b": [], "c": [1, {"d": 2}]}) == {"a": {}, "b": [], "c.0": 1, "c.1.d": 2}
    with pytest.raises(InvalidDocumentError):
        flatten({"a.b": 1})


def test_parse_names_the_broken_part() -> None:
    document = wrap_documents([licence_data()])[0]
    broken = copy.deepcopy(document)
    broken["signature"]["proof"] = ["zz"]
    with pytest.raises(InvalidDocumentError) as caught:
        WrappedDocument.parse(broken)
    assert caught.value.field == "signature.proof.0"


def test_nesting_depth_ignores_brackets_in_strings() -> None:
    from ledger.documents.jsonsafe import nesting_depth

    assert nesting_depth(b'{"a": [1, {"b": "[[[[\\"]]"}]}') == 3
    assert nesting_depth(b'"\\\\"') == 0
    assert nesting_depth(b"[" * 70 + b"]" * 70) == 70
