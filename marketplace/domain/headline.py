"""The home page's headline figures (pure): jobs published and awarded, and over the awarded jobs the total
saved and the savings rate, as DESIGN "Savings report" defines them: `saved = cap − awarded price`,
`savings rate = Σ saved / Σ cap` over awarded jobs (the baseline is the cap).

The full report (by period, method, category, owner and district) is ratings' savings report; the marketplace
may not import ratings, so these few figures are computed here from the same definition and rounding: money to
the cent, the rate half-up to 4 places (0.4260 = 42.60 %), None when the caps sum to 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Headline:
    published: int          # jobs ever published (never a draft)
    awarded: int            # jobs awarded (awarded, contracted, completed or rated)
    awarded_caps: Decimal   # Σ cap of the awarded jobs: the baseline
    total_awarded: Decimal  # Σ awarded price
    savings_rate: Decimal | None

    @property
    def total_saved(self) -> Decimal:
        return self.awarded_caps - self.total_awarded

    @property
    def savings_percent(self) -> str | None:
        """The rate as a percentage with 2 places ("42.60"); None without a baseline."""
        return None if self.savings_rate is None else f"{self.savings_rate * 100:.2f}"


def savings_rate(caps: Decimal, awarded: Decimal) -> Decimal | None:
    """Σ saved / Σ cap, half-up to 4 places; None when the caps sum to 0."""
    if caps <= 0:
        return None
    return ((caps - awarded) / caps).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def headline(published: int, awarded: int, caps: Decimal | float | str | None,
             prices: Decimal | float | str | None) -> Headline:
    """The figures from the counts and the two sums (as the database returns them: to the cent here)."""
    cap_sum = Decimal(str(caps or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    price_sum = Decimal(str(prices or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    return Headline(published=int(published), awarded=int(awarded), awarded_caps=cap_sum, total_awarded=price_sum,
                    savings_rate=savings_rate(cap_sum, price_sum))
