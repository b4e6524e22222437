"""Savings report arithmetic (pure, stdlib only).

Implements DESIGN "Savings report": ``saved = cap - awarded price``;
``savings rate = sum(saved) / sum(cap)`` over awarded jobs, overall and per
period (month), category, method, owner or district, with counts, average
selection time (publish -> award) and the distribution per method.  The
baseline is the budget cap (``SavingsReport.baseline == "cap"``).

All money is exact ``Decimal`` with 2 places (summed as integer cents, never
float).  The savings rate is rounded half-up to 4 decimals (0.4260 = 42.60 %)
and is None when the caps sum to 0; the average selection time is in hours,
rounded half-up to 0.01, None for no jobs.  Months are calendar months of
``awarded_at`` in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.domain.methods import METHODS
from ratings.domain.rounding import round_half_up

__all__ = [
    "AwardedJob",
    "BASELINE",
    "GROUP_BY",
    "KNOWN_METHODS",
    "SavingsReport",
    "SavingsSummary",
    "summarise",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASELINE = "cap"
GROUP_BY = (None, "method", "category", "owner", "district", "month")
# DESIGN's selection methods, always listed in the distribution (zeros included)
# so that charts keep the same columns; other codes follow in sorted order.
KNOWN_METHODS = METHODS  # every selection method is listed, with or without jobs

_CENT = Decimal("0.01")
_MICROSECONDS_PER_HOUR = 3600 * 10**6


def _cents(value: Any, name: str) -> int:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite() or value != value.quantize(_CENT):
        raise ValueError(f"{name} must be an amount with at most 2 decimal places, got {value}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return int(value * 100)


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@dataclass(frozen=True)
class AwardedJob:
    """One awarded job as the report sees it (money Decimal, times aware)."""

    cap: Decimal
    awarded_price: Decimal
    method: str
    category: str
    owner: str
    district: str
    published_at: datetime
    awarded_at: datetime

    def __post_init__(self) -> None:
        cap = _cents(self.cap, "cap")
        price = _cents(self.awarded_price, "awarded_price")
        if price > cap:
            raise ValueError(f"awarded_price {self.awarded_price} exceeds the cap {self.cap}")
        for name in ("method", "category", "owner", "district"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str")
        for name in ("published_at", "awarded_at"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")
        if self.awarded_at < self.published_at:
            raise ValueError("awarded_at is before published_at")

    @property
    def saved(self) -> Decimal:
        """``cap - awarded_price``, 2 places."""
        return _money(_cents(self.cap, "cap") - _cents(self.awarded_price, "awarded_price"))

    @property
    def award_month(self) -> str:
        """``YYYY-MM`` of ``awarded_at`` in Asia/Shanghai."""
        return self.awarded_at.astimezone(SHANGHAI).strftime("%Y-%m")


@dataclass(frozen=True)
class SavingsSummary:
    """Totals over one set of awarded jobs."""

    count: int
    total_cap: Decimal
    total_awarded: Decimal
    total_saved: Decimal
    savings_rate: Decimal | None  # sum saved / sum cap, 4 places; None if sum cap is 0
    average_selection_hours: Decimal | None  # publish -> award, 2 places; None if no jobs
    method_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Decimals as strings (as the API and exports show them)."""
        return {
            "count": self.count,
            "total_cap": str(self.total_cap),
            "total_awarded": str(self.total_awarded),
            "total_saved": str(self.total_saved),
            "savings_rate": None if self.savings_rate is None else str(self.savings_rate),
            "average_selection_hours": (None if self.average_selection_hours is None
                                        else str(self.average_selection_hours)),
            "method_counts": dict(self.method_counts),
        }


@dataclass(frozen=True)
class SavingsReport:
    """The overall summary plus one summary per group value (sorted by key)."""

    group_by: str | None
    overall: SavingsSummary
    groups: dict[str, SavingsSummary] = field(default_factory=dict)
    baseline: str = BASELINE

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "group_by": self.group_by,
            "overall": self.overall.to_json(),
            "groups": {key: s.to_json() for key, s in self.groups.items()},
        }


def _summarise_group(jobs: list[AwardedJob]) -> SavingsSummary:
    cap = sum(_cents(j.cap, "cap") for j in jobs)
    awarded = sum(_cents(j.awarded_price, "awarded_price") for j in jobs)
    waited_us = sum((j.awarded_at - j.published_at) // timedelta(microseconds=1) for j in jobs)
    methods = dict.fromkeys(KNOWN_METHODS, 0)
    for extra in sorted({j.method for j in jobs} - set(KNOWN_METHODS)):
        methods[extra] = 0
    for j in jobs:
        methods[j.method] += 1
    return SavingsSummary(
        count=len(jobs),
        total_cap=_money(cap),
        total_awarded=_money(awarded),
        total_saved=_money(cap - awarded),
        savings_rate=None if cap == 0 else round_half_up(Fraction(cap - awarded, cap), 4),
        average_selection_hours=(None if not jobs else
                                 round_half_up(Fraction(waited_us, len(jobs) * _MICROSECONDS_PER_HOUR), 2)),
        method_counts=methods,
    )


def _group_key(job: AwardedJob, group_by: str) -> str:
    return job.award_month if group_by == "month" else getattr(job, group_by)


def summarise(jobs: Iterable[AwardedJob], group_by: str | None = None) -> SavingsReport:
    """Savings over awarded jobs, overall and per value of ``group_by``.

    ``group_by`` is None (overall only), "method", "category", "owner",
    "district" or "month" (``YYYY-MM`` of ``awarded_at`` in Asia/Shanghai).
    """
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {GROUP_BY}, got {group_by!r}")
    jobs = list(jobs)
    for j in jobs:
        if not isinstance(j, AwardedJob):
            raise TypeError(f"expected AwardedJob, got {type(j).__name__}")
    groups: dict[str, SavingsSummary] = {}
    if group_by is not None:
        buckets: dict[str, list[AwardedJob]] = {}
        for j in jobs:
            buckets.setdefault(_group_key(j, group_by), []).append(j)
        groups = {key: _summarise_group(buckets[key]) for key in sorted(buckets)}
    return SavingsReport(group_by=group_by, overall=_summarise_group(jobs), groups=groups)
