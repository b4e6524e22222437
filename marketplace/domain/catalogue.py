"""Pure rules of the service catalogue (中介服务事项清单): item codes, the level floor, item statistics.

Levels: 1 = 甲级 (the most demanding) … 3 = 丙级. An item's `min_level` is the floor of its jobs' minimum
level: a job naming the item must ask for that level or a more demanding one (numerically <=).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from marketplace.domain.ocds_facts import ITEM_SCHEME  # noqa: F401  (the OCDS classification scheme of items)

LEVELS = (1, 2, 3)
CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")


def valid_code(code: str) -> bool:
    """Codes are upper-case letters and digits in dash-separated parts, e.g. `EIA-01`, `WATER`."""
    return bool(CODE_RE.match(code)) and len(code) <= 32


def meets_floor(job_level: int, item_floor: int) -> bool:
    """True when a job asking for `job_level` is at least as demanding as the item's floor."""
    return job_level <= item_floor


def item_problem(*, item_category_code: str, item_floor: int, category_code: str, job_level: int) -> str | None:
    """Why a job of `category_code` at `job_level` cannot name the item: "category", "level" or None."""
    if item_category_code != category_code:
        return "category"
    if not meets_floor(job_level, item_floor):
        return "level"
    return None


@dataclass(frozen=True)
class ItemStats:
    jobs: int  # public jobs naming the item
    total_caps: Decimal  # Σ budget cap of those jobs
    awarded: int
    awarded_caps: Decimal  # Σ cap of the awarded jobs (the savings baseline)
    total_awarded: Decimal  # Σ awarded price
    savings_rate: Decimal | None  # Σ saved / Σ cap over the awarded jobs, 4 places half-up; None without any

    @property
    def total_saved(self) -> Decimal:
        return self.awarded_caps - self.total_awarded


def item_stats(jobs: int, total_caps: Decimal, awarded: list[tuple[Decimal, Decimal]]) -> ItemStats:
    """Statistics of an item from its public jobs' count and caps and the (cap, awarded price) of the awarded."""
    caps = sum((c for c, _p in awarded), Decimal(0))
    prices = sum((p for _c, p in awarded), Decimal(0))
    rate = ((caps - prices) / caps).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if caps > 0 else None
    return ItemStats(jobs=jobs, total_caps=Decimal(total_caps), awarded=len(awarded), awarded_caps=caps,
                     total_awarded=prices, savings_rate=rate)
