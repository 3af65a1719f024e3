"""Sharing a document by link: the link carries a reference and a key, never the document.

The key is derived from the document's secret salts, so only someone who holds the
document (or the link) can derive or learn it. The shared copy the page fetches is
kept encrypted under it (AES-256-GCM): a service that keeps only shared copies (a
public verification front separate from the issuing register) cannot read them. The
reference and key live in the link's fragment (after ``#``), which browsers never send
to a server, so they stay out of requests and logs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import InvalidRequestError

LINK_VERSION = "1"
REFERENCE = re.compile(r"^[A-Za-z0-9_-]{22}$")
"""What a reference looks like: 16 bytes in unpadded base64url."""
LINK_FIELDS = frozenset({"v", "c", "r", "s", "k"})


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class SealedDocument:
    """A document sealed for sharing: its reference, its key, and what the service stores."""

    reference: str
    key: str
    blob: bytes
    """12-byte nonce followed by the AES-GCM ciphertext and tag."""


def seal(document: dict[str, Any]) -> SealedDocument:
    """Seal a wrapped document. The same document always seals to the same reference, key and blob."""
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    salted = json.dumps(document.get("data"), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(b"sijill/share-key/v1\0" + salted.encode("utf-8")).digest()
    # The key is unique to this content, so a nonce derived from it is never reused with another plaintext.
    nonce = hashlib.sha256(b"sijill/share-nonce/v1\0" + key).digest()[:12]
    reference = _b64url(hashlib.sha256(b"sijill/share-ref/v1\0" + key).digest()[:16])
    return SealedDocument(
        reference=reference, key=_b64url(key), blob=nonce + AESGCM(key).encrypt(nonce, canonical, None)
    )


def unseal(blob: bytes, key: str) -> dict[str, Any]:
    """Open a sealed blob. Raises `InvalidRequestError` for a wrong key or altered blob."""
    try:
        raw_key = _unb64url(key)
        plain = AESGCM(raw_key).decrypt(blob[:12], blob[12:], None)
        document: dict[str, Any] = json.loads(plain)
    except (ValueError, InvalidTag) as error:
        raise InvalidRequestError("the link's key does not open this document; the link is damaged") from error
    return document


def link(base_url: str, *, chain_id: int, registry: str, sealed: SealedDocument) -> str:
    """The verification link for a sealed document: the page, and everything else in the fragment."""
    fragment = f"v={LINK_VERSION}&c={chain_id}&r={registry}&s={sealed.reference}&k={sealed.key}"
    return f"{base_url.rstrip('/')}/verify#{fragment}"


@dataclass(frozen=True, slots=True)
class ParsedLink:
    """What a verification link names."""

    base_url: str
    chain_id: int
    registry: str
    reference: str
    key: str


def parse_link(url: str) -> ParsedLink:
    """Read a verification link. Raises `InvalidRequestError` for anything else."""
    parts = urlsplit(url)
    fields = dict(parse_qsl(parts.fragment, keep_blank_values=True))
    if parts.path.rstrip("/").split("/")[-1] != "verify" or set(fields) != LINK_FIELDS:
        raise InvalidRequestError("this is not a Sijill verification link")
    if fields["v"] != LINK_VERSION or not fields["c"].isdigit():
        raise InvalidRequestError("this verification link has an unknown format")
    return ParsedLink(
        base_url=f"{parts.scheme}://{parts.netloc}",
        chain_id=int(fields["c"]),
        registry=fields["r"],
        reference=fields["s"],
        key=fields["k"],
    )
