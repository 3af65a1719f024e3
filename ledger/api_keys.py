"""API tokens: their format, and their storage as slow hashes (Argon2id).

A token reads ``sjl_<key id>_<secret>``. The key id (12 hex digits, random) finds the
stored record; only the Argon2id hash of the token is kept, so a copy of the store
gives nobody a working token. Tokens made before this format (no ``sjl_`` prefix) are
found by the first 12 hex digits of their SHA-256; they were 256-bit random strings.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from threading import BoundedSemaphore, Lock

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIX = "sjl_"
KEY_ID_HEX = 12
_CACHE_SIZE = 4096
_CONCURRENT_CHECKS = 2  # each Argon2 check holds 64 MiB and a core for about 0.1 s


def new_token() -> tuple[str, str]:
    """A fresh key id and the token that carries it."""
    key_id = secrets.token_hex(KEY_ID_HEX // 2)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(token: str) -> str | None:
    """The key id a token names, or None for something that is no token."""
    if not token or len(token) > 512 or not token.isascii():
        return None
    if token.startswith(PREFIX):
        key_id, _, secret = token[len(PREFIX) :].partition("_")
        valid = len(key_id) == KEY_ID_HEX and all(c in "0123456789abcdef" for c in key_id) and secret
        return key_id if valid else None
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:KEY_ID_HEX]


def _prehash(token: str) -> str:
    # Earlier stores kept SHA-256 digests of tokens; hashing the digest lets those rows move to Argon2id.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenHasher:
    """Hashes tokens with Argon2id and checks them, remembering recent successes.

    A check costs about 0.1 s of CPU and 64 MiB, on purpose; the service remembers the
    last few thousand tokens that matched their stored hash (by SHA-256, in memory only),
    so a client pays it once per process, not once per request. A wrong token never
    enters the memory, and a key revoked or changed no longer matches what it remembers.
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._verified: OrderedDict[str, str] = OrderedDict()
        self._lock = Lock()
        self._checks = BoundedSemaphore(_CONCURRENT_CHECKS)

    def hash(self, token: str) -> str:
        """The Argon2id hash to store for `token`."""
        return self.hash_digest(_prehash(token))

    def hash_digest(self, sha256_hex: str) -> str:
        """The Argon2id hash to store for a token known only by its SHA-256 (earlier stores)."""
        return self._hasher.hash(sha256_hex)

    def matches(self, stored: str, token: str) -> bool:
        """True when `token` is the one `stored` was made from."""
        digest = _prehash(token)
        with self._lock:
            if self._verified.get(digest) == stored:
                self._verified.move_to_end(digest)
                return True
        try:
            with self._checks:
                self._hasher.verify(stored, digest)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            self._verified[digest] = stored
            while len(self._verified) > _CACHE_SIZE:
                self._verified.popitem(last=False)
        return True
