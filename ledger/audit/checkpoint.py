"""Checkpoints: what an audit saw, signed with the auditor's own Ed25519 key."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import ConfigurationError, InvalidRequestError


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state of the chain an audit reached, and the auditor's signature over it."""

    chain_id: int
    registry: str
    block_number: int
    block_hash: str
    event_count: int
    events_root: str
    audited_at: str
    auditor: str
    previous: str | None = None
    # How events were hashed into `events_root`; checkpoints signed before the field existed used the first.
    leaf_encoding: str = "sijill-event-leaf/1"
    # The council's Safe and timelock events up to `block_number`, hashed alike; "" without a council.
    council_event_count: int = 0
    council_events_root: str = ""
    signature: str = ""

    def payload(self) -> bytes:
        """The canonical bytes that are signed: every field but the signature (and the council's two
        when there is no council root: checkpoints signed before they existed verify as they were)."""
        fields = asdict(self)
        fields.pop("signature")
        if not self.council_events_root:
            fields.pop("council_event_count")
            fields.pop("council_events_root")
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def digest(self) -> str:
        """An identifier of this checkpoint, which the next one names as `previous`."""
        from hashlib import sha256

        return sha256(self.payload() + self.signature.encode()).hexdigest()

    def save(self, path: Path) -> None:
        """Write as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Read a checkpoint file. Raises `InvalidRequestError` when it is not one."""
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, TypeError, ValueError) as error:
            raise InvalidRequestError(f"{path} is not a Sijill audit checkpoint: {error}") from error


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The auditor's key at `path`, created (mode 0600) if there is none."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as error:
            raise ConfigurationError(f"{path} is not a PEM private key") from error
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return key


def public_hex(key: Ed25519PrivateKey) -> str:
    """The raw public key, as hex: how a checkpoint names its auditor."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> Checkpoint:
    """`checkpoint` signed by `key` (its `auditor` set to the key's public half)."""
    unsigned = replace(checkpoint, auditor=public_hex(key), signature="")
    return replace(unsigned, signature=base64.b64encode(key.sign(unsigned.payload())).decode("ascii"))


def countersigned(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> Checkpoint:
    """The same state attested by a second auditor: signed by `key`, naming the original as `previous`."""
    return sign(replace(checkpoint, previous=checkpoint.digest()), key)


def signature_valid(checkpoint: Checkpoint, expected_auditor: str | None = None) -> bool:
    """Whether the signature is the named auditor's (and that auditor the expected one, if given)."""
    if expected_auditor is not None and checkpoint.auditor != expected_auditor:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.auditor))
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.payload())
    except (ValueError, InvalidSignature):
        return False
    return True


def as_dict(checkpoint: Checkpoint) -> dict[str, Any]:
    """A JSON-ready form."""
    return asdict(checkpoint)
