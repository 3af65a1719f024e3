"""`did:web` identifiers of the service's public base URL, and the DID documents it serves (pure).

An agency's credentials name it ``did:web:<host>[%3A<port>][:<path>]:agencies:<agency id>``; the
document lives at ``<base URL>/agencies/<agency id>/did.json`` (the did:web rule: colons are path
separators, a port's colon is written ``%3A``). Its verification methods are the agency's P-256
credential keys as Multikeys, each one an `assertionMethod`. Which key was valid when is the
chain's to say; the document lists the keys the caller passes (those valid now).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError
from ledger.vc.loader import MULTIKEY_V1
from ledger.vc.multikey import encode_public

DID_V1 = "https://www.w3.org/ns/did/v1"
_AGENCY = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def web_did(base_url: str, *path: str) -> str:
    """The `did:web` of `base_url` with `path` segments under it. Raises `CredentialError` for a base URL
    that is not an http(s) URL with a host, or a segment that is not a plain name."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise CredentialError(f"{base_url!r} is not a base URL a did:web can name (scheme, host, path only)")
    host = parts.hostname + (quote(f":{parts.port}", safe="") if parts.port else "")
    segments = [segment for segment in parts.path.split("/") if segment] + list(path)
    if any(not re.fullmatch(r"[A-Za-z0-9._~-]+", segment) for segment in segments):
        raise CredentialError(f"a did:web path segment must be a plain name: {segments}")
    return ":".join(["did:web", host, *segments])


def agency_did(base_url: str, agency_id: str) -> str:
    """The `did:web` an agency's credentials name as their issuer."""
    if not _AGENCY.fullmatch(agency_id):
        raise CredentialError(f"{agency_id!r} is not an agency id")
    return web_did(base_url, "agencies", agency_id)


def did_document_url(did: str) -> str:
    """Where a `did:web` document is served (https, or http for a local host; `/.well-known` when bare)."""
    if not did.startswith("did:web:"):
        raise CredentialError(f"{did!r} is not a did:web")
    host, *segments = did.removeprefix("did:web:").split(":")
    host = host.replace("%3A", ":").replace("%3a", ":")
    scheme = "http" if host.split(":")[0] in ("127.0.0.1", "localhost") else "https"
    path = "/".join(segments) + "/did.json" if segments else ".well-known/did.json"
    return f"{scheme}://{host}/{path}"


def did_document(did: str, keys: Sequence[ec.EllipticCurvePublicKey]) -> dict[str, object]:
    """The DID document of `did` with `keys` as its Multikey verification methods (`#<multikey>` each)."""
    methods = [
        {
            "id": f"{did}#{encode_public(key)}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": encode_public(key),
        }
        for key in keys
    ]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
