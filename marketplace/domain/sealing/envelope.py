"""Sealing a quote into an envelope, its digests and receipt, and the server's
well-formedness check (pure; marketseal-v1 "Sealing a quote", steps 1–5, and "Sealed receipt").

Every random input (``K``, ``iv``, the nonce, the Shamir coefficients, the per-holder
ephemeral keys) can be injected through :class:`SealRandomness`, so that known-answer
vectors reproduce; by default each is fresh from ``os.urandom``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.domain.sealing.codec import canonical, from_hex, is_hex, sha256_hex
from marketplace.domain.sealing.gf256 import check_threshold, random_coefficients, split_secret
from marketplace.domain.sealing.holders import NoticeHolder
from marketplace.domain.sealing.primitives import aes_gcm_encrypt, hkdf_sha256, x25519, x25519_public

PRICE = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")
NONCE = re.compile(r"[0-9a-f]{32}")
MAX_SERVICE_DAYS = 36500
QUOTE_KEYS = frozenset({"price", "service_days", "note", "nonce"})
ENVELOPE_KEYS = frozenset({"v", "job_id", "agency_code", "iv", "content", "shares_digest", "shares"})
SHARE_KEYS = frozenset({"holder", "ephemeral", "share"})
KEY_BYTES, IV_BYTES, SHARE_CT_BYTES = 32, 12, 48
MIN_CONTENT, MAX_CONTENT = 16, 4096
ZERO_IV = bytes(12)
SHARES_LABEL = b"marketseal-v1 shares"
SHARE_INFO = b"marketseal-v1 share "


@dataclass(frozen=True)
class SealRandomness:
    """All the randomness of one sealing: ``K`` (32 B), ``iv`` (12 B), ``nonce`` (16 B), the ``k − 1``
    Shamir coefficient strings (32 B each) and one ephemeral X25519 private key (32 B) per holder."""

    key: bytes
    iv: bytes
    nonce: bytes
    coefficients: tuple[bytes, ...]
    ephemerals: tuple[bytes, ...]

    @classmethod
    def fresh(cls, k: int, n: int, randbytes: Callable[[int], bytes] = os.urandom) -> SealRandomness:
        """Fresh randomness for threshold ``k`` of ``n`` holders (never reuse it)."""
        return cls(key=randbytes(KEY_BYTES), iv=randbytes(IV_BYTES), nonce=randbytes(16),
                   coefficients=tuple(random_coefficients(k, KEY_BYTES, randbytes)),
                   ephemerals=tuple(randbytes(32) for _ in range(n)))


@dataclass(frozen=True)
class Sealed:
    """A sealed quote: the envelope (JSON-ready dict), the plaintext and the clear shares (for tests only)."""

    envelope: dict[str, Any]
    plaintext: bytes
    shares: tuple[bytes, ...]


# -- step 1: the plaintext ------------------------------------------------------------------------

def quote_problem(quote: Any) -> str | None:
    """Why a parsed quote object is not of the step-1 forms, or ``None``.

    Exactly the keys price, service_days, note, nonce; price ``(0|[1-9][0-9]*)\\.[0-9]{2}``;
    service_days an integer (not a boolean) 0…36500; note a string; nonce ``[0-9a-f]{32}``.
    """
    if not isinstance(quote, dict) or set(quote) != QUOTE_KEYS:
        return "keys are not {price, service_days, note, nonce}"
    if not isinstance(quote["price"], str) or not PRICE.fullmatch(quote["price"]):
        return "price is not of the form (0|[1-9][0-9]*).[0-9]{2}"
    days = quote["service_days"]
    if type(days) is not int or not 0 <= days <= MAX_SERVICE_DAYS:
        return "service_days is not an integer 0..36500"
    if not isinstance(quote["note"], str):
        return "note is not a string"
    if not isinstance(quote["nonce"], str) or not NONCE.fullmatch(quote["nonce"]):
        return "nonce is not 32 lowercase hex characters"
    return None


def quote_plaintext(price: str, service_days: int, note: str, nonce: bytes | str) -> bytes:
    """Step 1: ``utf8(canonical({"price", "service_days", "note", "nonce": hex(16 bytes)}))``.

    Raises ``ValueError`` when a field is not of its form.
    """
    nonce_hex = nonce.hex() if isinstance(nonce, bytes) else nonce
    quote = {"price": price, "service_days": service_days, "note": note, "nonce": nonce_hex}
    problem = quote_problem(quote)
    if problem is not None:
        raise ValueError(problem)
    return canonical(quote)


# -- steps 2–4: the aads, the shares, the share keys -----------------------------------------------

def content_aad(job_id: str, agency_code: str) -> bytes:
    """Step 2: ``utf8(canonical({"job_id": J, "agency_code": A}))``."""
    return canonical({"job_id": job_id, "agency_code": agency_code})


def share_aad(job_id: str, agency_code: str, holder: str, x: int) -> bytes:
    """Step 4: ``utf8(canonical({"job_id": J, "agency_code": A, "holder": id_j, "x": j}))``."""
    return canonical({"job_id": job_id, "agency_code": agency_code, "holder": holder, "x": x})


def shares_digest_input(shares: Sequence[bytes]) -> bytes:
    """Step 3: ``utf8("marketseal-v1 shares") || share_1 || … || share_n``."""
    return SHARES_LABEL + b"".join(shares)


def shares_digest(shares: Sequence[bytes]) -> str:
    """Step 3: ``hex(sha256(utf8("marketseal-v1 shares") || share_1 || … || share_n))``."""
    return sha256_hex(shares_digest_input(shares))


def share_key(shared: bytes, ephemeral_public: bytes, holder_public: bytes, job_id: str) -> bytes:
    """Step 4: ``key_j = HKDF-SHA256(ikm=Z, salt=E || pk_j, info=utf8("marketseal-v1 share ") || utf8(J), L=32)``."""
    return hkdf_sha256(shared, ephemeral_public + holder_public, SHARE_INFO + job_id.encode("utf-8"))


# -- steps 1–5: sealing -----------------------------------------------------------------------------

def seal_quote(*, job_id: str, agency_code: str, holders: Sequence[NoticeHolder], threshold: int, price: str,
               service_days: int, note: str, randomness: SealRandomness | None = None) -> Sealed:
    """Seal a quote to the notice's holders (in notice order, ``x = j``): steps 1–5.

    Raises ``ValueError`` for a quote not of the step-1 forms, bounds outside
    ``2 ≤ k ≤ n ≤ 16``, randomness of the wrong sizes or a reused ephemeral.
    """
    rnd = randomness if randomness is not None else SealRandomness.fresh(threshold, len(holders))
    if len(rnd.nonce) != 16:
        raise ValueError("the nonce is 16 bytes")
    plaintext = quote_plaintext(price, service_days, note, rnd.nonce)
    return seal_plaintext(plaintext, job_id=job_id, agency_code=agency_code, holders=holders, threshold=threshold,
                          randomness=rnd)


def seal_plaintext(plaintext: bytes, *, job_id: str, agency_code: str, holders: Sequence[NoticeHolder],
                   threshold: int, randomness: SealRandomness | None = None,
                   content_agency_code: str | None = None) -> Sealed:
    """Steps 2–5 over any plaintext bytes (``randomness.nonce`` unused): what :func:`seal_quote` does after step 1.

    Unchecked plaintexts are for tests and vectors (a malformed quote must still seal);
    ``content_agency_code`` seals the content with another agency's aad (a moved envelope).
    """
    n = len(holders)
    check_threshold(threshold, n)
    if [h.x for h in holders] != list(range(1, n + 1)):
        raise ValueError("holders must be in notice order with x = 1..n")
    rnd = randomness if randomness is not None else SealRandomness.fresh(threshold, n)
    if len(rnd.key) != KEY_BYTES or len(rnd.iv) != IV_BYTES:
        raise ValueError("K is 32 bytes and iv 12")
    if len(rnd.ephemerals) != n or any(len(e) != 32 for e in rnd.ephemerals):
        raise ValueError(f"need {n} ephemeral private keys of 32 bytes")
    aad = content_aad(job_id, agency_code if content_agency_code is None else content_agency_code)
    content = aes_gcm_encrypt(rnd.key, rnd.iv, plaintext, aad)
    shares = split_secret(rnd.key, threshold, n, rnd.coefficients)
    entries = []
    for holder, share, e in zip(holders, shares, rnd.ephemerals):
        ephemeral_public = x25519_public(e)
        key = share_key(x25519(e, holder.public_key), ephemeral_public, holder.public_key, job_id)
        share_ct = aes_gcm_encrypt(key, ZERO_IV, share, share_aad(job_id, agency_code, holder.id, holder.x))
        entries.append({"holder": holder.id, "ephemeral": ephemeral_public.hex(), "share": share_ct.hex()})
    if len({entry["ephemeral"] for entry in entries}) != n:
        raise ValueError("an ephemeral key was reused")
    envelope = {"v": 1, "job_id": job_id, "agency_code": agency_code, "iv": rnd.iv.hex(), "content": content.hex(),
                "shares_digest": shares_digest(shares), "shares": entries}
    return Sealed(envelope=envelope, plaintext=plaintext, shares=tuple(shares))


def envelope_digest(envelope: dict[str, Any]) -> str:
    """Step 5: ``hex(sha256(utf8(canonical(envelope))))``."""
    return sha256_hex(canonical(envelope))


def sealed_receipt(*, job_id: str, quote_id: str, agency_code: str, envelope_digest: str, submitted_at: str) -> str:
    """"Sealed receipt": ``hex(sha256(utf8(canonical({job_id, quote_id, agency_code, envelope_digest,
    submitted_at}))))``."""
    return sha256_hex(canonical({"job_id": job_id, "quote_id": quote_id, "agency_code": agency_code,
                                 "envelope_digest": envelope_digest, "submitted_at": submitted_at}))


# -- the server's well-formedness check --------------------------------------------------------------

NOT_OBJECT = "envelope is not {v, job_id, agency_code, iv, content, shares_digest, shares}"
BAD_V = "v is not 1"
OTHER_JOB = "job_id is not the job's"
OTHER_AGENCY = "agency_code is not the submitting agency's"
BAD_IV = "iv is not 12 bytes of hex"
BAD_CONTENT = "content is not 16..4096 bytes of hex"
BAD_DIGEST = "shares_digest is not 32 bytes of hex"
NOT_ONE_PER_HOLDER = "not one share per holder"
BAD_SHARE_ENTRY = "shares are not {holder, ephemeral, share} in notice order"
BAD_EPHEMERAL = "ephemeral is not 32 bytes of hex"
BAD_SHARE_CT = "share is not 48 bytes of hex"
EPHEMERAL_REUSED = "ephemeral not distinct within the job"


def envelope_problem(envelope: Any, *, job_id: str, agency_code: str, holder_ids: Sequence[str],
                     accepted_ephemerals: Collection[str] = ()) -> str | None:
    """Why the server refuses (4xx) an envelope as not well formed, or ``None`` ("Sealing a quote", after step 5).

    Exactly the keys of step 5; ``v`` = 1 (the integer, not ``true``); ``job_id`` and
    ``agency_code`` equal to the job's and the submitting agency's; ``iv`` 12 bytes;
    ``content`` 16..4096 bytes; ``shares_digest`` 32 bytes; one share per holder in notice
    order, each exactly ``{holder, ephemeral, share}``, ``ephemeral`` 32 bytes and unequal
    to every other ephemeral in the envelope and in ``accepted_ephemerals`` (every envelope
    accepted for the job, replaced ones included), ``share`` 48 bytes. Hex is lowercase.
    """
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_KEYS:
        return NOT_OBJECT
    if type(envelope["v"]) is not int or envelope["v"] != 1:
        return BAD_V
    if envelope["job_id"] != job_id:
        return OTHER_JOB
    if envelope["agency_code"] != agency_code:
        return OTHER_AGENCY
    if not is_hex(envelope["iv"], IV_BYTES):
        return BAD_IV
    if not is_hex(envelope["content"], min_bytes=MIN_CONTENT, max_bytes=MAX_CONTENT):
        return BAD_CONTENT
    if not is_hex(envelope["shares_digest"], 32):
        return BAD_DIGEST
    shares = envelope["shares"]
    if not isinstance(shares, list) or len(shares) != len(holder_ids):
        return NOT_ONE_PER_HOLDER
    for entry, holder in zip(shares, holder_ids):
        if not isinstance(entry, dict) or set(entry) != SHARE_KEYS or entry["holder"] != holder:
            return BAD_SHARE_ENTRY
        if not is_hex(entry["ephemeral"], 32):
            return BAD_EPHEMERAL
        if not is_hex(entry["share"], SHARE_CT_BYTES):
            return BAD_SHARE_CT
    ephemerals = [entry["ephemeral"] for entry in shares]
    if len(set(ephemerals)) != len(ephemerals) or any(e in accepted_ephemerals for e in ephemerals):
        return EPHEMERAL_REUSED
    return None


def envelope_ephemerals(envelope: dict[str, Any]) -> list[str]:
    """The ephemerals of a well-formed envelope, to remember as accepted for the job."""
    return [entry["ephemeral"] for entry in envelope["shares"]]


def decode_hex_fields(envelope: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """``(iv, content, [(ephemeral, share_ct), …])`` of a well-formed envelope."""
    return (from_hex(envelope["iv"], IV_BYTES), from_hex(envelope["content"]),
            [(from_hex(s["ephemeral"], 32), from_hex(s["share"], SHARE_CT_BYTES)) for s in envelope["shares"]])

