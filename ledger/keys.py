"""Issuer and admin signing keys, and the encryption of issuer keys at rest.

An issuer's private key is stored sealed with AES-256-GCM under a key derived (HKDF-SHA256)
from the installation's key-encryption key, with the key's address as associated data: a
sealed key moved to another row does not open. The key-encryption key comes from
``SIJILL_KEY_ENCRYPTION_KEY`` or from a file only its owner may read. Keys sealed by
earlier versions (Fernet) still open, checked against their address; `KeyVault.encrypt`
always writes the current form.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.errors import ConfigurationError

SEALED_PREFIX = "v2:"
_WRONG_KEY = (
    "an issuer key cannot be decrypted: the key-encryption key (SIJILL_KEY_ENCRYPTION_KEY or its file) "
    "differs from the one it was stored with"
)


def account_from_private_key(private_key: str) -> LocalAccount:
    """A signer for a hex private key. Raises `ConfigurationError` for a malformed key."""
    try:
        account: LocalAccount = Account.from_key(private_key)
        return account
    except (ValueError, TypeError):
        raise ConfigurationError("the private key is not 32 bytes of hex") from None


def read_key_file(path: Path, what: str = "key-encryption key") -> str:
    """The secret (by default the key-encryption key) in `path`, which only its owner may read or write.

    Raises `ConfigurationError` for a missing, empty or group- or world-accessible file.
    """
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigurationError(f"cannot read the {what} file {path}: {error.strerror}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigurationError(
            f"{path} may be read by others (mode {stat.S_IMODE(info.st_mode):o}); run `chmod 600 {path}`"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigurationError(f"{path} belongs to another user; the service's own user must own it")
    if not text:
        raise ConfigurationError(f"{path} is empty")
    return text


class KeyVault:
    """Seals issuer private keys under a key-encryption key (AES-256-GCM, bound to the address)."""

    def __init__(self, *, key_encryption_key: str) -> None:
        secret = key_encryption_key.encode("utf-8")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sijill/key-vault", info=b"issuer keys v2")
        self._aead = AESGCM(hkdf.derive(secret))
        # Keys sealed before v2: Fernet under the SHA-256 of the same secret.
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))

    def generate(self) -> tuple[LocalAccount, str]:
        """A fresh issuer key and its sealed form for the store."""
        account: LocalAccount = Account.create()
        return account, self.encrypt(account)

    def encrypt(self, account: LocalAccount) -> str:
        """The sealed private key of `account`."""
        return self.seal(bytes(account.key), account.address.lower())

    def seal(self, secret: bytes, bound_to: str) -> str:
        """`secret` sealed so that it opens only as the secret of `bound_to` (an address, a key id)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret, bound_to.encode("ascii"))
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def unseal(self, sealed: str, bound_to: str) -> bytes:
        """The secret `seal` sealed for `bound_to`. Raises `ConfigurationError` for a wrong key-encryption
        key, a damaged sealed secret, or one sealed for something else."""
        try:
            blob = base64.b64decode(sealed.removeprefix(SEALED_PREFIX), validate=True)
            return self._aead.decrypt(blob[:12], blob[12:], bound_to.encode("ascii"))
        except (ValueError, InvalidTag):
            raise ConfigurationError(f"{_WRONG_KEY}, or the sealed key of {bound_to} is damaged") from None

    @staticmethod
    def sealed_the_old_way(encrypted: str) -> bool:
        """Whether a stored key is still in the form earlier versions wrote (Fernet, not bound to its address)."""
        return not encrypted.startswith(SEALED_PREFIX)

    def decrypt(self, encrypted: str, address: str) -> LocalAccount:
        """The signer behind the sealed key of `address`.

        Raises `ConfigurationError` for a wrong key-encryption key, a damaged sealed key,
        or one sealed for another address.
        """
        if encrypted.startswith(SEALED_PREFIX):
            private = self.unseal(encrypted, address.lower())
        else:
            try:
                private = self._fernet.decrypt(encrypted.encode("ascii"))
            except (InvalidToken, ValueError):
                raise ConfigurationError(_WRONG_KEY) from None
        account: LocalAccount = Account.from_key(private)
        if account.address.lower() != address.lower():
            raise ConfigurationError(f"the sealed key stored for {address} belongs to another address")
        return account
