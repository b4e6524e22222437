"""Quote receipts (pure; DESIGN "Quote receipts").

receipt = sha256(canonical({job_id, quote_id, agency_code, price, service_days,
submitted_at, nonce})); the quotes are published with their nonces once opened,
so anyone can recompute it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from app.canonical import canonical, format_time
from marketplace.domain.money import money

RECEIPT_FIELDS = ("job_id", "quote_id", "agency_code", "price", "service_days", "submitted_at", "nonce")


def receipt_body(job_no: str, quote: Any, agency_code: str) -> dict[str, Any]:
    """The fields a receipt commits to; `quote` is a Quote row (id, price, service_days, submitted_at, nonce)."""
    return {"job_id": job_no, "quote_id": str(quote.id), "agency_code": agency_code, "price": money(quote.price),
            "service_days": quote.service_days, "submitted_at": format_time(quote.submitted_at),
            "nonce": quote.nonce}


def compute_receipt(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()
