"""Proof mode reads the registry's storage slots by number: they must be the compiler's layout."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.chain import layout

ROOT = Path(__file__).resolve().parents[2]


def _storage_layout() -> dict[str, int]:
    for build in sorted((ROOT / "artifacts" / "build-info").glob("*.json")):
        output = json.loads(build.read_text(encoding="utf-8"))["output"]["contracts"]
        registry = output.get("contracts/DocumentRegistry.sol", {}).get("DocumentRegistry")
        if registry is not None:
            return {item["label"]: int(item["slot"]) for item in registry["storageLayout"]["storage"]}
    raise AssertionError("no build of DocumentRegistry with its storage layout: run `make build`")


def test_the_slots_proof_mode_reads_are_the_compilers() -> None:
    slots = _storage_layout()
    assert slots["_paused"] == layout.PAUSED_SLOT
    assert slots["_agencies"] == layout.AGENCIES_SLOT
    assert slots["_agencyIndexes"] == layout.AGENCY_INDEXES_SLOT
    assert slots["_keys"] == layout.KEYS_SLOT
    assert slots["_anchors"] == layout.ANCHORS_SLOT
    assert slots["_documents"] == layout.DOCUMENTS_SLOT


def test_an_agencys_record_is_three_words_with_its_name_in_the_third() -> None:
    """The issuer's name is proven at `agency_slots`: the Agency struct's size and the name's place."""
    for build in sorted((ROOT / "artifacts" / "build-info").glob("*.json")):
        output = json.loads(build.read_text(encoding="utf-8"))["output"]["contracts"]
        registry = output.get("contracts/DocumentRegistry.sol", {}).get("DocumentRegistry")
        if registry is None:
            continue
        types = registry["storageLayout"]["types"]
        (agency,) = [value for key, value in types.items() if key.startswith("t_struct(Agency)")]
        members = {member["label"]: int(member["slot"]) for member in agency["members"]}
        assert int(agency["numberOfBytes"]) == 32 * layout.AGENCY_WORDS
        assert members["id"] == 0
        assert members["name"] == layout.AGENCY_NAME_WORD
        return
    raise AssertionError("no build of DocumentRegistry with its storage layout: run `make build`")


def test_proof_mode_reads_a_types_head_and_versions_where_the_compiler_put_them() -> None:
    """A type's head is one word (agency index in bits 0-31, versions in 32-63); a version two words."""
    for build in sorted((ROOT / "artifacts" / "build-info").glob("*.json")):
        output = json.loads(build.read_text(encoding="utf-8"))["output"]["contracts"]
        registry = output.get("contracts/DocumentRegistry.sol", {}).get("DocumentRegistry")
        if registry is None:
            continue
        slots = {item["label"]: int(item["slot"]) for item in registry["storageLayout"]["storage"]}
        assert slots["_typeHeads"] == layout.TYPE_HEADS_SLOT
        assert slots["_typeVersions"] == layout.TYPE_VERSIONS_SLOT
        types = registry["storageLayout"]["types"]
        (head,) = [value for key, value in types.items() if key.startswith("t_struct(TypeHead)")]
        (version,) = [value for key, value in types.items() if key.startswith("t_struct(TypeVersion)")]
        assert [(m["label"], int(m["slot"]), m["offset"]) for m in head["members"]] == [
            ("agencyIndex", 0, 0),
            ("versions", 0, 4),
        ]
        assert [(m["label"], int(m["slot"]), m["offset"]) for m in version["members"]] == [
            ("definitionHash", 0, 0),
            ("registeredAt", 1, 0),
        ]
        assert layout.type_head((7 << 32) | 3) == (3, 7)
        return
    raise AssertionError("no build of DocumentRegistry with its storage layout: run `make build`")
