"""Wrapped documents: building them, reading them back, and hiding fields.

A wrapped document is an OpenAttestation v2 document::

    {"version": ..., "data": {...salted...},
     "signature": {"type": "SHA3MerkleProof", "targetHash": ..., "proof": [...], "merkleRoot": ...},
     "privacy": {"obfuscatedData": [...]}}
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.documents.digest import field_hash, flatten, target_hash
from ledger.documents.merkle import MerkleTree, root_from_proof
from ledger.documents.salt import SaltSource, salt_data, unsalt_data
from ledger.errors import InvalidDocumentError, ObfuscationError

OA_V2_SCHEMA = "https://schema.openattestation.com/2.0/schema.json"
PROOF_TYPE = "SHA3MerkleProof"
PROTECTED_FIELDS = ("issuers", "sijill", "documentType", "validUntil")
"""Top-level fields a verifier needs; hiding them would make a document unverifiable."""

_HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_DEPTH = 32
"""How deeply a document's data may nest; deeper is refused as malformed."""


@dataclass(frozen=True, slots=True)
class WrappedDocument:
    """A wrapped document read back from JSON, with its parts checked for shape."""

    raw: dict[str, Any]
    data: dict[str, Any]
    target_hash: str
    proof: tuple[str, ...]
    merkle_root: str
    obfuscated: tuple[str, ...]

    @classmethod
    def parse(cls, document: Any) -> WrappedDocument:
        """Read a wrapped document. Raises `InvalidDocumentError` naming the bad part."""
        if not isinstance(document, dict):
            raise InvalidDocumentError("a wrapped document is a JSON object")
        if document.get("version") != OA_V2_SCHEMA:
            raise InvalidDocumentError(
                f"'version' must be '{OA_V2_SCHEMA}' (an OpenAttestation v2 document)", field="version"
            )
        data = document.get("data")
        if not isinstance(data, dict):
            raise InvalidDocumentError("the document has no 'data' object", field="data")
        if _depth(data) > MAX_DEPTH:
            raise InvalidDocumentError(f"'data' nests deeper than {MAX_DEPTH} levels", field="data")
        signature = document.get("signature")
        if not isinstance(signature, dict):
            raise InvalidDocumentError("the document has no 'signature' object", field="signature")
        if signature.get("type") != PROOF_TYPE:
            raise InvalidDocumentError(
                f"'signature.type' must be '{PROOF_TYPE}', got {signature.get('type')!r}", field="signature.type"
            )
        target = _hash_field(signature.get("targetHash"), "signature.targetHash")
        root = _hash_field(signature.get("merkleRoot"), "signature.merkleRoot")
        proof_raw = signature.get("proof", [])
        if not isinstance(proof_raw, list):
            raise InvalidDocumentError("'signature.proof' must be a list of hashes", field="signature.proof")
        proof = tuple(_hash_field(item, f"signature.proof.{i}") for i, item in enumerate(proof_raw))
        privacy = document.get("privacy", {})
        if not isinstance(privacy, dict):
            raise InvalidDocumentError("'privacy' must be an object", field="privacy")
        obfuscated_raw = privacy.get("obfuscatedData", [])
        if not isinstance(obfuscated_raw, list):
            raise InvalidDocumentError("'privacy.obfuscatedData' must be a list", field="privacy.obfuscatedData")
        obfuscated = tuple(_hash_field(item, f"privacy.obfuscatedData.{i}") for i, item in enumerate(obfuscated_raw))
        return cls(
            raw=document,
            data=data,
            target_hash=target,
            proof=proof,
            merkle_root=root,
            obfuscated=obfuscated,
        )

    def computed_target_hash(self) -> str:
        """The target hash recomputed from the data and the obfuscated hashes."""
        return target_hash(self.data, self.obfuscated)

    def computed_root(self) -> str:
        """The root the proof leads to from the stated target hash."""
        return root_from_proof(self.target_hash, self.proof)


def _hash_field(value: Any, field: str) -> str:
    # Hashes are taken exactly as written, as OpenAttestation does: 64 lowercase hex digits.
    if not isinstance(value, str) or not _HASH.match(value):
        raise InvalidDocumentError(f"'{field}' must be a hash of 64 lowercase hex characters without 0x", field=field)
    return value


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
    return depth


def salt_document(document: dict[str, Any], *, salt: Callable[[], str] | None = None) -> tuple[dict[str, Any], str]:
    """A document salted as OpenAttestation v2 wants it (``version`` and ``data``), and its target hash.

    Raises `InvalidDocumentError` for a value JSON cannot carry exactly.
    """
    salted = {"version": OA_V2_SCHEMA, "data": salt_data(document, salt=salt)}
    return salted, target_hash(salted["data"])


def batch_documents(salted: Sequence[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    """Salted documents (with their target hashes) under one Merkle root, each with its proof.

    Raises `ValueError` for an empty batch.
    """
    tree = MerkleTree.build([digest for _, digest in salted])
    return [
        {
            **item,
            "signature": {
                "type": PROOF_TYPE,
                "targetHash": digest,
                "proof": tree.proof(digest),
                "merkleRoot": tree.root,
            },
        }
        for item, digest in salted
    ]


def wrap_documents(
    documents: Sequence[dict[str, Any]], *, salt: Callable[[], str] | None = None
) -> list[dict[str, Any]]:
    """Salt, digest and batch `documents` under one Merkle root.

    Returns the wrapped documents in the order given. Raises `InvalidDocumentError`
    for a value JSON cannot carry exactly, and `ValueError` for an empty batch.
    """
    source = salt or SaltSource()
    return batch_documents([salt_document(document, salt=source) for document in documents])


def obfuscate(document: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """Hide the fields at dotted `paths`, keeping the document verifiable.

    Each hidden leaf's hash moves to ``privacy.obfuscatedData``. A parent object
    left empty is hidden with it, since an empty object would hash differently.
    Raises `ObfuscationError` for an absent path, a path to a single array element,
    a protected field, or one its document type says no holder may hide.
    """
    wrapped = WrappedDocument.parse(document)
    data = copy.deepcopy(wrapped.data)
    kept = never_hidden(wrapped.data)
    hidden: list[str] = []
    for path in paths:
        held = next((field for field in kept if _overlaps(path, field)), None)
        if held is not None:
            raise ObfuscationError(f"'{held}' is a field its document type says no holder may hide", field=path)
        hidden.extend(_hide(data, path))
    result = copy.deepcopy(document)
    result["data"] = data
    privacy = dict(result.get("privacy") or {})
    privacy["obfuscatedData"] = [*wrapped.obfuscated, *hidden]
    result["privacy"] = privacy
    return result


def never_hidden(data: dict[str, Any]) -> list[str]:
    """The dotted paths a document's type says no holder may hide (``sijill.documentType.neverHidden``)."""
    sijill = data.get("sijill")
    binding = unsalt_data(sijill).get("documentType") if isinstance(sijill, dict) else None
    paths = binding.get("neverHidden") if isinstance(binding, dict) else None
    return [path for path in paths if isinstance(path, str)] if isinstance(paths, list) else []


def _overlaps(path: str, field: str) -> bool:
    """Whether hiding `path` hides some or all of `field`."""
    return path == field or field.startswith(f"{path}.") or path.startswith(f"{field}.")


def _hide(data: dict[str, Any], path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(part == "" for part in parts):
        raise ObfuscationError(f"'{path}' is not a dotted field path such as 'subject.name'", field=path)
    if parts[0] in PROTECTED_FIELDS:
        raise ObfuscationError(
            f"'{parts[0]}' tells a verifier who issued the document and cannot be hidden", field=path
        )
    chain: list[tuple[Any, str]] = []
    node: Any = data
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            raise ObfuscationError(
                f"'{path}' points inside the list '{'.'.join(parts[:depth])}'; hide the whole list instead",
                field=path,
            )
        if not isinstance(node, dict) or part not in node:
            raise ObfuscationError(f"the document has no visible field '{here}'", field=path)
        chain.append((node, part))
        node = node[part]
    parent, key = chain[-1]
    value = parent.pop(key)
    leaves = flatten({key: value}) if isinstance(value, dict | list) and value else {key: value}
    prefix = ".".join(parts[:-1])
    hidden = [field_hash(f"{prefix}.{leaf}" if prefix else leaf, leaf_value) for leaf, leaf_value in leaves.items()]
    # An object emptied by the removal would become a leaf of its own: remove it too.
    for container, name in reversed(chain[:-1]):
        if container[name]:
            break
        del container[name]
    return hidden
