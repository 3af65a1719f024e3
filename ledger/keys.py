"""Issuer and admin signing keys, and the encryption of issuer keys at rest."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.errors import ConfigurationError


def account_from_private_key(private_key: str) -> LocalAccount:
    """A signer for a hex private key. Raises `ConfigurationError` for a malformed key."""
    try:
        account: LocalAccount = Account.from_key(private_key)
        return account
    except (ValueError, TypeError) as error:
        raise ConfigurationError("the private key is not 32 bytes of hex") from error


class KeyVault:
    """Encrypts issuer private keys with a key-encryption key (Fernet: AES-128-CBC + HMAC)."""

    def __init__(self, *, key_encryption_key: str) -> None:
        # Any secret string works: it is stretched to the 32 bytes Fernet needs.
        digest = hashlib.sha256(key_encryption_key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def generate(self) -> tuple[LocalAccount, str]:
        """A fresh issuer key and its encrypted form for the store."""
        account: LocalAccount = Account.create()
        return account, self.encrypt(account)

    def encrypt(self, account: LocalAccount) -> str:
        """The encrypted private key of `account`."""
        return self._fernet.encrypt(bytes(account.key)).decode("ascii")

    def decrypt(self, encrypted: str) -> LocalAccount:
        """The signer behind an encrypted key. Raises `ConfigurationError` for a wrong vault key."""
        try:
            account: LocalAccount = Account.from_key(self._fernet.decrypt(encrypted.encode("ascii")))
            return account
        except InvalidToken as error:
            raise ConfigurationError(
                "an issuer key cannot be decrypted: SIJILL_KEY_ENCRYPTION_KEY differs from the one it was stored with"
            ) from error
