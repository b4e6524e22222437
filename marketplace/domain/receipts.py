"""Quote receipts (pure; DESIGN "Quote receipts").

receipt = sha256(canonical({job_id, quote_id, agency_code, price, service_days,
submitted_at, nonce})); the quotes are published with their nonces once opened,
so anyone can recompute it. A sealed quote (marketseal-v1) has the sealed receipt instead, over
{job_id, quote_id, agency_code, envelope_digest, submitted_at}, which the bidder recomputes from its envelope.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from app.canonical import canonical, format_time
from marketplace.domain.money import money
from marketplace.domain.sealing.envelope import sealed_receipt

RECEIPT_FIELDS = ("job_id", "quote_id", "agency_code", "price", "service_days", "submitted_at", "nonce")


def receipt_body(job_no: str, quote: Any, agency_code: str) -> dict[str, Any]:
    """The fields a receipt commits to; `quote` is a Quote row (id, price, service_days, submitted_at, nonce)."""
    return {"job_id": job_no, "quote_id": str(quote.id), "agency_code": agency_code, "price": money(quote.price),
            "service_days": quote.service_days, "submitted_at": format_time(quote.submitted_at),
            "nonce": quote.nonce}


def compute_receipt(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


SEALED_RECEIPT_FIELDS = ("job_id", "quote_id", "agency_code", "envelope_digest", "submitted_at")


def sealed_time(at: datetime) -> str:
    """A time as marketseal-v1 writes it: UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ`` (naive = UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sealed_receipt_body(job_no: str, quote: Any, agency_code: str) -> dict[str, Any]:
    """The fields a sealed receipt commits to (marketseal-v1 "Sealed receipt"); `quote` is a sealed Quote row."""
    return {"job_id": job_no, "quote_id": str(quote.id), "agency_code": agency_code,
            "envelope_digest": quote.envelope_digest, "submitted_at": sealed_time(quote.submitted_at)}


def compute_sealed_receipt(body: dict[str, Any]) -> str:
    """``hex(sha256(utf8(canonical(body))))`` over the five fields of :func:`sealed_receipt_body`."""
    return sealed_receipt(**{k: body[k] for k in SEALED_RECEIPT_FIELDS})
