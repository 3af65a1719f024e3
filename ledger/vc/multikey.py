"""P-256 keys as Multikeys (base58btc, multicodec header) and `did:key` identifiers.

A public key is ``0x80 0x24`` (multicodec p256-pub, 0x1200 as a varint) followed by the 33-byte
compressed point; a secret key ``0x86 0x26`` (p256-priv, 0x1306) followed by the 32-byte scalar.
Either is written ``z`` + base58btc. A `did:key` of a P-256 key is ``did:key:<public multikey>``,
and its verification method ``did:key:<multikey>#<multikey>``.
"""

from __future__ import annotations

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import CredentialError

P256_PUBLIC = b"\x80\x24"
P256_SECRET = b"\x86\x26"
PUBLIC_KEY_BYTES = len(P256_PUBLIC) + 33


def public_key_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """The 35 bytes of a P-256 public multikey: header and compressed point."""
    return P256_PUBLIC + key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def encode_public(key: ec.EllipticCurvePublicKey) -> str:
    """A P-256 public key as a multibase multikey (``zDn...``)."""
    return "z" + base58.b58encode(public_key_bytes(key)).decode()


def encode_secret(key: ec.EllipticCurvePrivateKey) -> str:
    """A P-256 secret key as a multibase multikey (``z42...``)."""
    return "z" + base58.b58encode(P256_SECRET + key.private_numbers().private_value.to_bytes(32, "big")).decode()


MAX_MULTIKEY = 80  # characters: a P-256 key is 49 (public) or 48 (secret); base58 decoding is quadratic


def _multibase(value: str, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z") or len(value) > MAX_MULTIKEY:
        raise CredentialError(f"the {what} is not a base58btc multikey (a 'z' and at most {MAX_MULTIKEY} characters)")
    try:
        return base58.b58decode(value[1:])
    except ValueError as error:
        raise CredentialError(f"the {what} is not base58btc") from error


def public_key_from_bytes(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its 35 multikey bytes. Raises `CredentialError` for anything else."""
    if len(raw) != PUBLIC_KEY_BYTES or raw[:2] != P256_PUBLIC:
        raise CredentialError("the key is not a P-256 public multikey (header 0x8024 and a compressed point)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
    except ValueError as error:
        raise CredentialError("the key's point is not on the P-256 curve") from error


def decode_public(value: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its multibase multikey. Raises `CredentialError` for anything else."""
    return public_key_from_bytes(_multibase(value, "public key"))


def decode_secret(value: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 secret key from its multibase multikey. Raises `CredentialError` for anything else."""
    raw = _multibase(value, "secret key")
    if len(raw) != 34 or raw[:2] != P256_SECRET:
        raise CredentialError("the key is not a P-256 secret multikey (header 0x8626 and 32 bytes)")
    try:
        return ec.derive_private_key(int.from_bytes(raw[2:], "big"), ec.SECP256R1())
    except ValueError as error:
        raise CredentialError("the secret key is out of the P-256 range") from error


def did_key(key: ec.EllipticCurvePublicKey) -> str:
    """The `did:key` of a P-256 public key."""
    return "did:key:" + encode_public(key)


def did_key_method(key: ec.EllipticCurvePublicKey) -> str:
    """The verification method of a P-256 key's `did:key` (``did:key:<multikey>#<multikey>``)."""
    multikey = encode_public(key)
    return f"did:key:{multikey}#{multikey}"


def public_key_of_did_key(method: str) -> ec.EllipticCurvePublicKey:
    """The key a `did:key` verification method names. Raises `CredentialError` for anything else."""
    if not isinstance(method, str) or not method.startswith("did:key:"):
        raise CredentialError(f"{method!r} is not a did:key verification method")
    did, _, fragment = method.partition("#")
    multikey = did.removeprefix("did:key:")
    if fragment and fragment != multikey:
        raise CredentialError(f"the verification method's fragment is not its key: {method!r}")
    return decode_public(multikey)


def compressed_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """The 33-byte compressed SEC1 point of a P-256 key: what the registry hashes into a credential key id."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
