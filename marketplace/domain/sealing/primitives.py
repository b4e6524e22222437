"""The primitives of marketseal-v1 over ``cryptography`` (pure; marketseal-v1 "Primitives").

X25519 (RFC 7748; private keys given unclamped, X25519 clamps them), HKDF-SHA256
(RFC 5869), AES-256-GCM (12-byte IV, the 16-byte tag appended), Ed25519 (RFC 8032).
Every function takes and returns raw bytes.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidTag", "aes_gcm_decrypt", "aes_gcm_encrypt", "ed25519_public", "ed25519_sign", "ed25519_verify",
           "hkdf_sha256", "x25519", "x25519_public"]

ZERO_POINT = bytes(32)


@lru_cache(maxsize=256)
def _x25519_private(sk: bytes) -> X25519PrivateKey:
    # Cached: opening 1,000 envelopes uses the same few released keys again and again.
    return X25519PrivateKey.from_private_bytes(sk)


def x25519_public(sk: bytes) -> bytes:
    """``X25519(sk, 9)``: the public key of the (unclamped) 32-byte private key ``sk``."""
    return _x25519_private(bytes(sk)).public_key().public_bytes_raw()


def x25519(sk: bytes, public: bytes) -> bytes:
    """``X25519(sk, public)``; raises ``ValueError`` when the result is all zero (a low-order ``public``)."""
    shared = _x25519_private(bytes(sk)).exchange(X25519PublicKey.from_public_bytes(bytes(public)))
    if shared == ZERO_POINT:  # cryptography refuses this already; kept explicit, the protocol names it
        raise ValueError("all-zero X25519 shared secret")
    return shared


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) of ``length`` bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def aes_gcm_encrypt(key: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: ciphertext with the 16-byte tag appended."""
    if len(key) != 32 or len(iv) != 12:
        raise ValueError("AES-256-GCM needs a 32-byte key and a 12-byte IV")
    return AESGCM(key).encrypt(iv, plaintext, aad)


def aes_gcm_decrypt(key: bytes, iv: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """The plaintext of an AES-256-GCM ciphertext+tag; raises ``InvalidTag`` when it does not authenticate."""
    return AESGCM(key).decrypt(iv, ciphertext, aad)


def ed25519_public(seed: bytes) -> bytes:
    """The Ed25519 public key of a 32-byte seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message`` under the key with this seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
