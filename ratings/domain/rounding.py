"""Half-up rounding of exact rationals, the one rule every published figure uses (pure, stdlib only)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """Round an exact rational half-up (away from zero on ties) to ``places`` decimals."""
    scale = 10**places
    sign = -1 if value < 0 else 1
    q, r = divmod(abs(value.numerator) * scale, value.denominator)
    if 2 * r >= value.denominator:
        q += 1
    return Decimal(sign * q).scaleb(-places)
