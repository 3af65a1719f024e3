"""What the chain adapter needs of a signer: an address, and signatures of transactions.

A local key (`eth_account`'s `LocalAccount`, which the service keeps encrypted at rest)
satisfies it; so can an HSM or a cloud KMS client, without touching anything else.
"""

from __future__ import annotations

from typing import Any, Protocol

from eth_account.datastructures import SignedTransaction
from eth_typing import ChecksumAddress


class Signer(Protocol):
    """Signs transactions for one address; never hands out its private key."""

    @property
    def address(self) -> ChecksumAddress:
        """The signer's checksummed address."""

    def sign_transaction(self, transaction_dict: dict[str, Any], /) -> SignedTransaction:
        """The signed transaction: its raw bytes (`raw_transaction`) and its hash (`hash`)."""
