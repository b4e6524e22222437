"""How the platform authenticates a register request to a key holder (our scheme; the protocol
says only "platform only, authenticated").

The platform signs every register request with its own Ed25519 key; each holder is
configured with the platform's *public* key only (``--platform-key P=HEX`` or the key file's
``platforms``). The signed message is

    utf8(canonical({"v": 1, "kind": "register-request", "holder": H, "platform": P,
                    "job_id": J, "deadline": D, "sent_at": T, "nonce": N}))

— the holder's own id ``H`` (a request for one holder is useless at another), the body's
``P``, ``J`` and ``D`` (nothing in between can change the deadline), ``T`` the sender's time
``YYYY-MM-DDTHH:MM:SSZ`` and ``N`` 16 random bytes in lowercase hex. It travels in three
headers beside the JSON body ``{"platform", "job_id", "deadline"}``:

    X-Marketseal-Sent-At: T
    X-Marketseal-Nonce: N
    X-Marketseal-Signature: hex(Ed25519.sign(message))

The holder accepts ``T`` within ``REPLAY_WINDOW`` of its own clock and each ``N`` once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from marketplace.domain.sealing.codec import canonical, is_hex
from marketplace.domain.sealing.primitives import ed25519_public, ed25519_sign, ed25519_verify

REPLAY_WINDOW = timedelta(minutes=5)
SENT_AT_HEADER = "x-marketseal-sent-at"
NONCE_HEADER = "x-marketseal-nonce"
SIGNATURE_HEADER = "x-marketseal-signature"


@dataclass(frozen=True)
class PlatformAuth:
    """The platform's identity towards holders: its id ``P`` and its Ed25519 signing seed."""

    platform: str
    signing_seed: bytes = field(repr=False)

    @property
    def public_key(self) -> str:
        """The hex public key each holder is configured with."""
        return ed25519_public(self.signing_seed).hex()


def request_message(holder: str, platform: str, job_id: str, deadline: str, sent_at: str, nonce: str) -> bytes:
    """The bytes the platform signs for a register request to ``holder``."""
    return canonical({"v": 1, "kind": "register-request", "holder": holder, "platform": platform,
                      "job_id": job_id, "deadline": deadline, "sent_at": sent_at, "nonce": nonce})


def sign_register_request(auth: PlatformAuth, holder: str, job_id: str, deadline: str, *,
                          now: datetime | None = None, nonce: str | None = None) -> dict[str, str]:
    """The three headers of a register request to ``holder``.

    ``now`` is the sender's real time (never the platform's shifted demo clock: the holder
    compares it with its own).
    """
    sent_at = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce or secrets.token_hex(16)
    signature = ed25519_sign(auth.signing_seed, request_message(holder, auth.platform, job_id, deadline,
                                                                sent_at, nonce))
    return {SENT_AT_HEADER: sent_at, NONCE_HEADER: nonce, SIGNATURE_HEADER: signature.hex()}


def request_signature_valid(platform_key: str, holder: str, platform: str, job_id: str, deadline: str,
                            sent_at: str, nonce: str, signature: str) -> bool:
    """Whether ``signature`` (hex) is the platform's over this request (hex public key ``platform_key``)."""
    if not (is_hex(platform_key, 32) and is_hex(signature, 64)):
        return False
    message = request_message(holder, platform, job_id, deadline, sent_at, nonce)
    return ed25519_verify(bytes.fromhex(platform_key), bytes.fromhex(signature), message)
