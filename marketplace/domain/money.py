"""Money as the platform writes it: a 2-place decimal string (pure)."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):.2f}"
