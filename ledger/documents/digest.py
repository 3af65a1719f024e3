"""Field hashes and the target hash of an OpenAttestation v2 document.

The data is flattened to ``{"a.b.0.c": value}`` pairs; each pair is hashed as
``keccak256(JSON.stringify({key: value}))``; the target hash is
``keccak256(JSON.stringify(sorted(field_hashes + obfuscated_hashes)))``. Hashes
are lowercase hex without ``0x``, as OpenAttestation writes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ledger.documents.keccak import keccak256
from ledger.errors import InvalidDocumentError


def keccak_hex(text: str) -> str:
    """keccak256 of the UTF-8 bytes of `text`, as lowercase hex."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidDocumentError("the document holds a lone UTF-16 surrogate, which has no UTF-8 form") from error
    return keccak256(raw).hex()


def js_json(value: Any) -> str:
    """Serialize like JavaScript's ``JSON.stringify`` (compact, non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flatten(data: Any) -> dict[str, Any]:
    """Flatten nested objects and arrays to dotted keys, as the ``flatley`` package does.

    Empty objects and arrays are kept as leaves. Raises `InvalidDocumentError` for a
    key containing a dot, which OpenAttestation forbids.
    """
    output: dict[str, Any] = {}

    def step(node: dict[str, Any] | list[Any], prefix: str) -> None:
        items = node.items() if isinstance(node, dict) else ((str(i), v) for i, v in enumerate(node))
        for key, value in items:
            if "." in key:
                raise InvalidDocumentError(f"field names may not contain '.': '{key}'", field=prefix or key)
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict | list) and len(value) > 0:
                step(value, path)
            else:
                output[path] = value

    if isinstance(data, dict | list):
        step(data, "")
    return output


def field_hash(path: str, value: Any) -> str:
    """The hash of one flattened field."""
    return keccak_hex(js_json({path: value}))


def field_hashes(data: Any) -> list[str]:
    """The hashes of every visible field of `data`."""
    return [field_hash(path, value) for path, value in flatten(data).items()]


def target_hash(data: Any, obfuscated: Iterable[str] = ()) -> str:
    """The digest of a document: its visible field hashes and its obfuscated ones."""
    combined = sorted([*obfuscated, *field_hashes(data)])
    return keccak_hex(js_json(combined))
