"""The value formats the OCDS releases share (pure; see marketplace.domain.ocds): identifiers, dates and money.

Shared by the release builder (`ocds`) and its contract part (`ocds_implementation`), and
re-exported as `ocds.<name>`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marketplace.domain.ocds_facts import CURRENCY, OCID_PREFIX


def ocid(job_no: str) -> str:
    """The contracting process identifier of a job."""
    return f"{OCID_PREFIX}-{job_no}"


def award_id(job_no: str, quote_id: str) -> str:
    """An award is identified by the quote it awards."""
    return f"{job_no}-award-q{quote_id}"


def format_date(dt: datetime) -> str:
    """An OCDS date-time: UTC, whole seconds, "Z" (a naive value is taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount(value: Decimal | int | str) -> Decimal:
    """Money with exactly two places (half-up), as OCDS `amount`s are written."""
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _value(money: Decimal) -> dict[str, Any]:
    return {"amount": amount(money), "currency": CURRENCY}


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
