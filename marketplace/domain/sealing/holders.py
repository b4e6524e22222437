"""Key holders, their signed statements and the notice's sealing section (pure; marketseal-v1
"Key holders", "On the notice" and "Opening" step 1).

A holder derives per platform ``P`` and job ``J``
``sk = HKDF-SHA256(ikm=master, salt=utf8("marketseal-v1"), info=utf8(P + "/" + J), L=32)`` and
``pk = X25519(sk, 9)``, and signs ``utf8(canonical(statement))`` with Ed25519. The checks here
return ``None`` when all is well, else a short machine-readable reason string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.domain.sealing.codec import PROTOCOL, canonical, from_hex, is_hex, is_id, is_time, parse_time
from marketplace.domain.sealing.gf256 import MAX_HOLDERS, MIN_THRESHOLD
from marketplace.domain.sealing.primitives import ed25519_sign, ed25519_verify, hkdf_sha256, x25519_public

REGISTER_KEYS = frozenset({"v", "kind", "holder", "platform", "job_id", "public_key", "deadline"})
RELEASE_KEYS = frozenset({"v", "kind", "holder", "platform", "job_id", "deadline", "private_key", "released_at"})
NOTICE_KEYS = frozenset({"protocol", "platform", "threshold", "holders"})
NOTICE_HOLDER_KEYS = frozenset({"id", "signing_key", "statement", "signature"})

# Refusals of the holder service (the vectors' strings; the protocol names the rules, not the words).
REFUSED_NOT_FUTURE = "deadline is not in the future"
REFUSED_PASSED = "registered deadline has passed"
REFUSED_EARLIER = "registered deadline is later"
REFUSED_UNKNOWN = "job not registered"
REFUSED_TOO_EARLY = "before the deadline"


@dataclass(frozen=True)
class HolderKey:
    """A holder's per-(platform, job) X25519 key pair, raw bytes."""

    sk: bytes
    pk: bytes


@dataclass(frozen=True)
class NoticeHolder:
    """A holder as sealing needs it: its id, its Shamir x (1-based list position) and its ``pk``."""

    id: str
    x: int
    public_key: bytes


def key_info(platform: str, job_id: str) -> bytes:
    """The HKDF ``info`` of a holder key: ``utf8(P + "/" + J)``."""
    return f"{platform}/{job_id}".encode()


def derive_holder_key(master: bytes, platform: str, job_id: str) -> HolderKey:
    """``sk`` and ``pk = X25519(sk, 9)`` of a holder for ``(P, J)`` ("Key holders")."""
    if len(master) != 32:
        raise ValueError("a holder master secret is 32 bytes")
    sk = hkdf_sha256(master, PROTOCOL.encode("utf-8"), key_info(platform, job_id))
    return HolderKey(sk=sk, pk=x25519_public(sk))


def register_statement(holder: str, platform: str, job_id: str, public_key: bytes, deadline: str) -> dict[str, Any]:
    """The register statement ``{"v": 1, "kind": "register", …, "public_key": hex(pk), "deadline": D}``."""
    return {"v": 1, "kind": "register", "holder": holder, "platform": platform, "job_id": job_id,
            "public_key": public_key.hex(), "deadline": deadline}


def release_statement(holder: str, platform: str, job_id: str, deadline: str, private_key: bytes,
                      released_at: str) -> dict[str, Any]:
    """The release statement ``{"v": 1, "kind": "release", …, "private_key": hex(sk), "released_at": T}``."""
    return {"v": 1, "kind": "release", "holder": holder, "platform": platform, "job_id": job_id,
            "deadline": deadline, "private_key": private_key.hex(), "released_at": released_at}


def signing_bytes(statement: Mapping[str, Any]) -> bytes:
    """What a holder signs: ``utf8(canonical(statement))``."""
    return canonical(dict(statement))


def sign_statement(signing_seed: bytes, statement: Mapping[str, Any]) -> str:
    """``hex(Ed25519.sign(utf8(canonical(statement))))`` with the holder's signing key seed."""
    return ed25519_sign(signing_seed, signing_bytes(statement)).hex()


def verify_statement(signing_key: str, statement: Mapping[str, Any], signature: str) -> bool:
    """Whether ``signature`` (hex) verifies over the statement under ``signing_key`` (hex Ed25519 public key)."""
    if not (is_hex(signing_key, 32) and is_hex(signature, 64)):
        return False
    try:
        message = signing_bytes(statement)
    except (TypeError, ValueError):
        return False
    return ed25519_verify(from_hex(signing_key), from_hex(signature), message)


# -- the holder service's decisions (its store and clock are the caller's) ---------------------------

def register_refusal(recorded_deadline: str | None, clock: str, deadline: str) -> str | None:
    """Why a holder refuses to register ``(P, J)`` with ``deadline`` at ``clock``, or ``None`` to answer.

    "Register": refused if ``D`` is not in the future on its clock, or if ``(P, J)`` is
    registered with a deadline that has passed or a later one (a deadline may only move
    later, and only before it passes). A recorded deadline has passed from ``D`` on, as a
    release is then possible.
    """
    now, new = parse_time(clock), parse_time(deadline)
    if new <= now:
        return REFUSED_NOT_FUTURE
    if recorded_deadline is not None:
        recorded = parse_time(recorded_deadline)
        if recorded <= now:
            return REFUSED_PASSED
        if recorded > new:
            return REFUSED_EARLIER
    return None


def release_refusal(recorded_deadline: str | None, clock: str) -> str | None:
    """Why a holder refuses to release, or ``None``: never registered, or before the recorded ``D`` ("Release")."""
    if recorded_deadline is None:
        return REFUSED_UNKNOWN
    if parse_time(clock) < parse_time(recorded_deadline):
        return REFUSED_TOO_EARLY
    return None


# -- the notice (checked by the sealing page and scripts/seal_quote.py before sealing) -------------

def notice_problem(sealing: Any, *, job_id: str, deadline: str, platform: str | None = None) -> str | None:
    """Why the notice's ``sealing`` section must not be sealed to, or ``None`` ("On the notice").

    Refuses unless the section has exactly its keys, ``protocol``, a threshold
    ``2 ≤ k ≤ n ≤ 16``, holders sorted by distinct ``id`` and every register statement
    of the form above with ``holder`` = its id, ``platform``, ``job_id`` and ``deadline``
    equal to the notice's and a signature verifying under the holder's signing key.
    """
    if not isinstance(sealing, dict) or set(sealing) != NOTICE_KEYS:
        return "sealing is not {protocol, platform, threshold, holders}"
    if sealing["protocol"] != PROTOCOL:
        return "protocol is not marketseal-v1"
    if not is_id(sealing["platform"]) or (platform is not None and sealing["platform"] != platform):
        return "platform differs"
    holders = sealing["holders"]
    if not isinstance(holders, list) or not all(isinstance(h, dict) and set(h) == NOTICE_HOLDER_KEYS
                                                for h in holders):
        return "holders are not {id, signing_key, statement, signature}"
    k = sealing["threshold"]
    if type(k) is not int or not MIN_THRESHOLD <= k <= len(holders) <= MAX_HOLDERS:
        return "threshold is not 2 <= k <= n <= 16"
    ids = [h["id"] for h in holders]
    if not all(is_id(i) for i in ids) or ids != sorted(set(ids)):
        return "holders are not sorted by distinct id"
    for h in holders:
        st = h["statement"]
        if not isinstance(st, dict) or set(st) != REGISTER_KEYS or type(st["v"]) is not int or st["v"] != 1 \
                or st["kind"] != "register" or not is_hex(st["public_key"], 32):
            return f"statement of {h['id']} is not a register statement"
        if st["holder"] != h["id"]:
            return f"statement of {h['id']} names another holder"
        if st["platform"] != sealing["platform"] or st["job_id"] != job_id or st["deadline"] != deadline:
            return f"statement of {h['id']} is for another platform, job or deadline"
        if not verify_statement(h["signing_key"], st, h["signature"]):
            return f"signature of {h['id']} does not verify"
    return None


def notice_holders(sealing: Mapping[str, Any]) -> list[NoticeHolder]:
    """The holders of a (checked) sealing section in notice order, ``x = j`` for list position ``j``."""
    return [NoticeHolder(id=h["id"], x=j, public_key=from_hex(h["statement"]["public_key"], 32))
            for j, h in enumerate(sealing["holders"], start=1)]


# -- answers of the holders (checked by the platform's client before it keeps them) -----------------

def register_problem(statement: Any, signature: Any, *, holder: str, signing_key: str, platform: str, job_id: str,
                     deadline: str) -> str | None:
    """Why a register answer must not go on the notice, or ``None`` ("Key holders", "On the notice").

    Kept only if it is a register statement of ``holder`` whose signature verifies under
    ``signing_key``, whose ``platform``, ``job_id`` and ``deadline`` are the requested ones
    and whose ``public_key`` is 32 bytes of lowercase hex.
    """
    if problem := _statement_problem(statement, signature, "register", REGISTER_KEYS, "statement of another holder",
                                     holder=holder, signing_key=signing_key, platform=platform, job_id=job_id,
                                     deadline=deadline):
        return problem
    if not is_hex(statement["public_key"], 32):
        return "public_key is not 32 bytes of lowercase hex"
    return None


def _statement_problem(statement: Any, signature: Any, kind: str, keys: frozenset[str], other_holder: str, *,
                       holder: str, signing_key: str, platform: str, job_id: str, deadline: str) -> str | None:
    """Why an answer is not a ``kind`` statement of ``holder``, signed, on ``(P, J, D)``, or ``None``."""
    if not isinstance(statement, dict) or set(statement) != keys or type(statement["v"]) is not int \
            or statement["v"] != 1 or statement["kind"] != kind:
        return f"not a {kind} statement"
    if statement["holder"] != holder:
        return other_holder
    if not isinstance(signature, str) or not verify_statement(signing_key, statement, signature):
        return "signature does not verify"
    if statement["platform"] != platform:
        return "platform differs"
    if statement["job_id"] != job_id:
        return "job_id differs"
    if statement["deadline"] != deadline:
        return "deadline differs"
    return None


# -- releases (Opening step 1) -----------------------------------------------------------------------

def release_problem(statement: Any, signature: Any, *, holder: str, signing_key: str, platform: str, job_id: str,
                    deadline: str, public_key: bytes) -> str | None:
    """Why a release answer must not be kept, or ``None`` (Opening step 1).

    Kept only if it is a release statement of ``holder`` whose signature verifies under
    ``signing_key``, whose ``platform``, ``job_id`` and ``deadline`` equal the notice's,
    ``released_at ≥ deadline`` and ``X25519(sk, 9) = pk`` (``pk`` from the register statement).
    """
    if problem := _statement_problem(statement, signature, "release", RELEASE_KEYS, "release of another holder",
                                     holder=holder, signing_key=signing_key, platform=platform, job_id=job_id,
                                     deadline=deadline):
        return problem
    if not is_time(statement["released_at"]):
        return "released_at is not a YYYY-MM-DDTHH:MM:SSZ time"
    if parse_time(statement["released_at"]) < parse_time(deadline):
        return "released before the deadline"
    if not is_hex(statement["private_key"], 32):
        return "private_key is not 32 bytes of lowercase hex"
    if x25519_public(from_hex(statement["private_key"])) != public_key:
        return "private key does not match the public key"
    return None


def kept_releases(answers: Sequence[tuple[NoticeHolder, str, Any, Any]], *, platform: str, job_id: str,
                  deadline: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """Sort release answers ``(holder, signing_key, statement, signature)`` into kept keys and rejections.

    Returns ``(R, rejected)``: ``R`` maps a holder id to its released ``sk`` (bytes), ``rejected``
    a holder id to the reason its answer was not kept.
    """
    kept: dict[str, bytes] = {}
    rejected: dict[str, str] = {}
    for holder, signing_key, statement, signature in answers:
        problem = release_problem(statement, signature, holder=holder.id, signing_key=signing_key,
                                  platform=platform, job_id=job_id, deadline=deadline, public_key=holder.public_key)
        if problem is None:
            kept[holder.id] = from_hex(statement["private_key"], 32)
        else:
            rejected[holder.id] = problem
    return kept, rejected
