"""Opening an envelope with the released keys (pure; marketseal-v1 "Opening" step 3).

Per envelope, in this order, the first failure being its reason:

1. decrypt the share of every holder in ``R`` (all-zero ``Z`` or a failed decryption →
   "share cannot be decrypted");
2. interpolate the ``k`` lowest positions of ``R``, compute all ``n`` shares; their
   ``shares_digest`` must equal the envelope's and every decrypted share its computed one,
   else "inconsistent shares";
3. decrypt ``content`` with ``K = f(0)`` and the aad of the quote's own job and agency
   ("content cannot be decrypted");
4. the plaintext must be strict UTF-8 JSON without duplicate keys, whose canonical form is
   the plaintext byte for byte, with exactly the four keys of the step-1 forms, else
   "malformed quote".

An envelope that is not well formed (the server must have refused it) is "malformed
envelope" — a CHOICE of the vectors, not spec text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.domain.sealing.codec import canonical
from marketplace.domain.sealing.envelope import (
    ZERO_IV,
    content_aad,
    decode_hex_fields,
    envelope_problem,
    quote_problem,
    share_aad,
    share_key,
    shares_digest,
)
from marketplace.domain.sealing.gf256 import check_threshold, interpolate
from marketplace.domain.sealing.holders import NoticeHolder
from marketplace.domain.sealing.primitives import InvalidTag, aes_gcm_decrypt, x25519

MALFORMED_ENVELOPE = "malformed envelope"
SHARE_UNDECRYPTABLE = "share cannot be decrypted"
INCONSISTENT_SHARES = "inconsistent shares"
CONTENT_UNDECRYPTABLE = "content cannot be decrypted"
MALFORMED_QUOTE = "malformed quote"
REASONS = (MALFORMED_ENVELOPE, SHARE_UNDECRYPTABLE, INCONSISTENT_SHARES, CONTENT_UNDECRYPTABLE, MALFORMED_QUOTE)


@dataclass(frozen=True)
class Opened:
    """The outcome of opening one envelope.

    ``valid`` with ``quote`` (``{"price", "service_days", "note", "nonce"}``), or not valid
    with ``reason`` (one of :data:`REASONS`, the string published as the envelope's
    ``validity``) and ``detail`` (which rule failed, for people; not protocol text).
    """

    valid: bool
    quote: dict[str, Any] | None = None
    reason: str | None = None
    detail: str | None = None

    @property
    def validity(self) -> str:
        """``"valid"`` or the reason string, as the draw record publishes it."""
        return "valid" if self.valid else str(self.reason)


def _invalid(reason: str, detail: str) -> Opened:
    return Opened(valid=False, reason=reason, detail=detail)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _DuplicateKey("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_plaintext(plaintext: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Step 3's last rule: ``(quote, None)`` for a valid plaintext, else ``(None, which rule failed)``.

    Strict UTF-8; JSON without duplicate keys (NaN and Infinity refused); its canonical
    form equal to the plaintext byte for byte (no spaces, sorted keys, no needless escapes,
    integers only); exactly the four keys of the step-1 forms.
    """
    try:
        text = plaintext.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return None, "not strict UTF-8"
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey:
        return None, "duplicate key"
    except ValueError:  # JSONDecodeError, a byte-order mark, NaN/Infinity, an over-long integer
        return None, "not JSON"
    try:
        if canonical(value) != plaintext:
            return None, "not canonical"
    except ValueError:  # a float, or a lone surrogate
        return None, "not canonical"
    problem = quote_problem(value)
    if problem is not None:
        return None, problem
    return value, None


def open_envelope(envelope: Any, *, job_id: str, agency_code: str, holders: Sequence[NoticeHolder], threshold: int,
                  released: Mapping[str, bytes]) -> Opened:
    """Open one envelope with the valid releases ``R`` (holder id → released ``sk``): Opening step 3.

    ``job_id`` and ``agency_code`` are the quote's own job and agency (never taken from the
    envelope); ``holders`` are the notice's, in notice order. Raises ``ValueError`` when ``R``
    has fewer than ``k`` holders or names an unknown one: nothing is opened without ``k`` keys.
    """
    check_threshold(threshold, len(holders))
    positions = {h.id: h for h in holders}
    if any(holder_id not in positions for holder_id in released):
        raise ValueError("a released key of a holder not on the notice")
    if len(released) < threshold:
        raise ValueError(f"need at least k={threshold} released keys, got {len(released)}")
    problem = envelope_problem(envelope, job_id=job_id, agency_code=agency_code,
                               holder_ids=[h.id for h in holders])
    if problem is not None:
        return _invalid(MALFORMED_ENVELOPE, problem)
    iv, content, share_cts = decode_hex_fields(envelope)
    in_r = [h for h in holders if h.id in released]  # notice order = ascending x

    decrypted: dict[int, bytes] = {}
    for holder in in_r:
        ephemeral, share_ct = share_cts[holder.x - 1]
        try:
            shared = x25519(released[holder.id], ephemeral)
            key = share_key(shared, ephemeral, holder.public_key, job_id)
            decrypted[holder.x] = aes_gcm_decrypt(key, ZERO_IV, share_ct,
                                                  share_aad(job_id, agency_code, holder.id, holder.x))
        except (ValueError, InvalidTag):
            return _invalid(SHARE_UNDECRYPTABLE, f"share of {holder.id}")

    lowest = {h.x: decrypted[h.x] for h in in_r[:threshold]}
    computed = [interpolate(lowest, x) for x in range(1, len(holders) + 1)]
    if shares_digest(computed) != envelope["shares_digest"]:
        return _invalid(INCONSISTENT_SHARES, "shares_digest differs")
    for x, share in decrypted.items():
        if computed[x - 1] != share:
            return _invalid(INCONSISTENT_SHARES, f"share {x} is off the polynomial")

    key = interpolate(lowest, 0)
    try:
        plaintext = aes_gcm_decrypt(key, iv, content, content_aad(job_id, agency_code))
    except InvalidTag:
        return _invalid(CONTENT_UNDECRYPTABLE, "content does not authenticate")

    quote, rule = parse_plaintext(plaintext)
    if quote is None:
        return _invalid(MALFORMED_QUOTE, str(rule))
    return Opened(valid=True, quote=quote)
