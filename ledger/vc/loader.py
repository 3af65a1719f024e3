"""The JSON-LD contexts a credential may use, bundled with Sijill: a verifier never fetches a context.

`ContextLoader` is a pyld document loader over a fixed table of URLs. The table holds the W3C
contexts Sijill's credentials and DID documents use (byte-for-byte copies, kept in `contexts/`);
a caller may add others (tests add the contexts of the W3C test vectors). Any other URL is refused
with `CredentialError`, never looked up on the network.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ledger.errors import CredentialError

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS_V2 = "https://www.w3.org/ns/credentials/undefined-terms/v2"  # @vocab: issuer-dependent terms
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

BUNDLED = {
    CREDENTIALS_V2: "credentials-v2.jsonld",  # the VC Data Model 2.0 Recommendation's context
    UNDEFINED_TERMS_V2: "credentials-undefined-terms-v2.jsonld",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}


class ContextLoader:
    """A pyld document loader that serves only the bundled contexts and `extra` ones (URL -> JSON)."""

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        folder = resources.files("ledger.vc") / "contexts"
        self._documents: dict[str, Any] = {
            url: json.loads((folder / name).read_text(encoding="utf-8")) for url, name in BUNDLED.items()
        }
        self._documents.update(extra or {})

    def knows(self, url: str) -> bool:
        """Whether `url` is a context this loader serves."""
        return url in self._documents

    def __call__(self, url: str, _options: Any = None) -> dict[str, Any]:
        """The context at `url`, as pyld asks for it. Raises `CredentialError` for any other URL."""
        document = self._documents.get(url)
        if document is None:
            raise CredentialError(f"the JSON-LD context {url} is not one Sijill knows; contexts are never fetched")
        answer = {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(document),  # pyld may change what it is given
        }
        if url in BUNDLED:
            # The W3C's contexts never change, and every loader serves them alike: pyld may keep them
            # resolved for the whole process (its cache is keyed by URL alone, so `extra` ones are not).
            answer["tag"] = "static"
        return answer
