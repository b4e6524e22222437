"""The savings dashboard (/reports/savings, GET /api/reports/savings/dashboard): the savings report's figures
grouped by month, method, category and district, the selection time per month and the top agencies.

Every savings figure comes from `ratings.domain.savings.summarise` over the same awarded jobs as
`savings_report` selects for the same filters, so a month's row equals `/api/reports/savings?group_by=month`'s
group for that month (likewise method, category, district). Two figures are the dashboard's own:

* selection time, per month of award (Asia/Shanghai): days from publication to award of each job; the median
  (the middle job, or the mean of the two middle ones) and the mean, both rounded half-up to 0.01 day;
* top agencies: the winning agencies of those jobs by total awarded amount (descending, ties by credit code),
  the first 10, each with `summarise` over its jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.models import Agency
from ratings.domain.rounding import round_half_up
from ratings.domain.savings import AwardedJob, SavingsReport, SavingsSummary, summarise
from ratings.services.savings_report import ReportFilters, awarded_jobs

TOP_AGENCIES = 10
BREAKDOWNS = ("month", "method", "category", "district")
_US_PER_DAY = 86400 * 10**6


@dataclass(frozen=True)
class SelectionTime:
    """Days from publication to award over a month's awarded jobs."""

    count: int
    median_days: Decimal | None
    mean_days: Decimal | None
    shortest_days: Decimal | None
    longest_days: Decimal | None

    def to_json(self) -> dict[str, Any]:
        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {"count": self.count, "median_days": s(self.median_days), "mean_days": s(self.mean_days),
                "shortest_days": s(self.shortest_days), "longest_days": s(self.longest_days)}


def selection_time(jobs: list[AwardedJob]) -> SelectionTime:
    """Median, mean, shortest and longest days from publication to award (0.01 day, half-up)."""
    waits = sorted((j.awarded_at - j.published_at) // timedelta(microseconds=1) for j in jobs)
    if not waits:
        return SelectionTime(0, None, None, None, None)
    n = len(waits)
    middle = Fraction(waits[n // 2]) if n % 2 else Fraction(waits[n // 2 - 1] + waits[n // 2], 2)
    return SelectionTime(count=n, median_days=round_half_up(middle / _US_PER_DAY),
                         mean_days=round_half_up(Fraction(sum(waits), n * _US_PER_DAY)),
                         shortest_days=round_half_up(Fraction(waits[0], _US_PER_DAY)),
                         longest_days=round_half_up(Fraction(waits[-1], _US_PER_DAY)))


@dataclass(frozen=True)
class AgencyAwards:
    credit_code: str
    name: str
    summary: SavingsSummary

    def to_json(self) -> dict[str, Any]:
        return {"credit_code": self.credit_code, "name": self.name, **self.summary.to_json()}


@dataclass(frozen=True)
class Dashboard:
    """The report for the page's own grouping, and the dashboard's breakdowns over the same jobs."""

    report: SavingsReport
    breakdowns: dict[str, dict[str, SavingsSummary]]           # "month" | "method" | ... -> key -> summary
    selection_time: dict[str, SelectionTime]                   # month -> times
    selection_time_overall: SelectionTime
    top_agencies: list[AgencyAwards] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.report.baseline,
            "overall": self.report.overall.to_json(),
            "by_month": {k: s.to_json() for k, s in self.breakdowns["month"].items()},
            "by_method": {k: s.to_json() for k, s in self.breakdowns["method"].items()},
            "by_category": {k: s.to_json() for k, s in self.breakdowns["category"].items()},
            "by_district": {k: s.to_json() for k, s in self.breakdowns["district"].items()},
            "selection_time": {
                "overall": self.selection_time_overall.to_json(),
                "by_month": {k: t.to_json() for k, t in self.selection_time.items()},
            },
            "top_agencies": [a.to_json() for a in self.top_agencies],
        }


async def dashboard(session: AsyncSession, f: ReportFilters) -> Dashboard:
    """The dashboard for the filters (checked as `savings_report` checks them; InputError if bad)."""
    f, rows = await awarded_jobs(session, f)
    jobs = [j for j, _agency in rows]
    breakdowns = {g: summarise(jobs, g).groups for g in BREAKDOWNS}
    months: dict[str, list[AwardedJob]] = {}
    by_agency: dict[int, list[AwardedJob]] = {}
    for job, agency_id in rows:
        months.setdefault(job.award_month, []).append(job)
        by_agency.setdefault(agency_id, []).append(job)
    agencies = {}
    if by_agency:
        agencies = {a.id: a for a in (await session.exec(select(Agency).where(col(Agency.id).in_(list(by_agency)))))
                    .all()}
    ranked = sorted((AgencyAwards(agencies[aid].credit_code, agencies[aid].name, summarise(js).overall)
                     for aid, js in by_agency.items()),
                    key=lambda a: (-a.summary.total_awarded, a.credit_code))
    return Dashboard(report=summarise(jobs, f.group_by), breakdowns=breakdowns,
                     selection_time={m: selection_time(months[m]) for m in sorted(months)},
                     selection_time_overall=selection_time(jobs), top_agencies=ranked[:TOP_AGENCIES])
