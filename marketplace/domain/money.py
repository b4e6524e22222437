"""Money as the platform writes it: a 2-place decimal string, and as pages show it, grouped in thousands (pure)."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):.2f}"


def grouped(value: Decimal | str | None) -> str:
    """As every page shows an amount: 1466600 → "1,466,600.00" ("" for none). Records, APIs and forms keep
    `money` (no separators)."""
    return "" if value is None or value == "" else f"{Decimal(value).quantize(Decimal('0.01')):,.2f}"
