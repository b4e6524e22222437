"""Pure helpers of the platform's side of marketseal-v1 at publication ("Key holders", "On the notice").

The deadline as the holders get it (whole seconds, never earlier than the job's), the threshold rule
``2 <= k <= n <= 16``, the notice's sealing section and its digest, and whether a hex string is a real
Ed25519 public key (a point on the curve, not of small order: RFC 8032 section 5.1.3). No I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from marketplace.domain.sealing.codec import PROTOCOL, canonical, is_hex

MIN_THRESHOLD = 2
MAX_HOLDERS = 16

# Ed25519's curve -x^2 + y^2 = 1 + d x^2 y^2 over GF(p), p = 2^255 - 19.
_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def holder_deadline(at: datetime) -> str:
    """The deadline ``D`` sent to the holders: UTC, whole seconds, rounded *up* (a holder never releases
    before the job's real deadline), ``YYYY-MM-DDTHH:MM:SSZ``; a naive time is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    if at.microsecond:
        at = at.replace(microsecond=0) + timedelta(seconds=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def threshold_problem(k: int, n: int) -> str | None:
    """Why ``k`` of ``n`` holders is not allowed (``2 <= k <= n <= 16``), or ``None``."""
    if n < MIN_THRESHOLD:
        return "fewer than 2 active key holders"
    if n > MAX_HOLDERS:
        return "more than 16 active key holders"
    if not MIN_THRESHOLD <= k <= n:
        return "threshold is not 2 <= k <= n"
    return None


def sealing_section(platform: str, threshold: int, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The notice's ``sealing`` section: the holders' register entries sorted by id."""
    return {"protocol": PROTOCOL, "platform": platform, "threshold": threshold,
            "holders": sorted((dict(e) for e in entries), key=lambda e: e["id"])}


def section_digest(section: dict[str, Any]) -> str:
    """``hex(sha256(canonical(section)))``: what the publication's audit event records."""
    return hashlib.sha256(canonical(section)).hexdigest()


def section_text(section: dict[str, Any]) -> str:
    """The section as canonical JSON text (for OCDS ``tender.submissionMethodDetails``)."""
    return canonical(section).decode("utf-8")


def _edwards_add(p1: tuple[int, int], p2: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = p1, p2
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 5.1.3: the point encoded by 32 bytes, or ``None`` when it is not on the curve."""
    y = int.from_bytes(raw, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * _SQRT_M1 % _P
    elif v * x * x % _P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def is_ed25519_public_key(value: Any) -> bool:
    """Whether ``value`` is 32 bytes of lowercase hex encoding a point of Ed25519 not of small order."""
    if not is_hex(value, 32):
        return False
    point = _decode_point(bytes.fromhex(value))
    if point is None:
        return False
    eight = point
    for _ in range(3):
        eight = _edwards_add(eight, eight)
    return eight != (0, 1)
