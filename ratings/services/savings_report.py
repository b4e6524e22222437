"""The savings report over awarded jobs (DESIGN "Savings report"), with CSV and XLSX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from app.errors import InputError
from app.i18n import gettext as _
from marketplace.models import AWARDED, COMPLETED, CONTRACTED, RATED, Job, Owner, Quote, Selection, ServiceCategory
from marketplace.schemas import METHOD_CODES, local_day_bounds
from ratings.domain.savings import GROUP_BY, AwardedJob, SavingsReport, summarise

AWARDED_STATES = (AWARDED, CONTRACTED, COMPLETED, RATED)


@dataclass
class ReportFilters:
    date_from: date | None = None
    date_to: date | None = None
    category: str | None = None
    method: str | None = None
    owner: str | None = None      # owner organisation's credit code
    district: str | None = None
    group_by: str | None = None


def check_filters(f: ReportFilters, categories: set[str]) -> None:
    fields = {}
    if f.date_from and f.date_to and f.date_from > f.date_to:
        fields["date_to"] = _("The end date is before the start date.")
    if f.method and f.method not in METHOD_CODES:
        fields["method"] = _("Choose one of the offered values.")
    if f.category and f.category not in categories:
        fields["category"] = _("Choose one of the offered values.")
    if f.group_by and f.group_by not in GROUP_BY:
        fields["group_by"] = _("Choose one of the offered values.")
    if fields:
        raise InputError(_("Unknown filter value."), fields=fields)


async def savings_report(session: AsyncSession, f: ReportFilters) -> SavingsReport:
    cats = set((await session.exec(select(ServiceCategory.code))).all())
    check_filters(f, cats)
    fields = {}
    if f.owner and not (await session.exec(select(Owner.id).where(Owner.credit_code == f.owner.upper()))).first():
        fields["owner"] = _("No owner organisation has this credit code.")
    if f.district and not (await session.exec(select(Job.id).where(Job.district == f.district).limit(1))).first():
        fields["district"] = _("Choose one of the offered values.")
    if fields:
        raise InputError(_("Unknown filter value."), fields=fields)
    stmt = (select(Job, Selection, ServiceCategory.code, Owner.credit_code)
            .join(Selection, Selection.job_id == Job.id)
            .join(ServiceCategory, ServiceCategory.id == Job.category_id)
            .join(Owner, Owner.id == Job.owner_id)
            .where(col(Job.status).in_(AWARDED_STATES), col(Selection.winner_quote_id).is_not(None)))
    start, end = local_day_bounds(f.date_from, f.date_to)
    if start:
        stmt = stmt.where(Job.awarded_at >= start)
    if end:
        stmt = stmt.where(Job.awarded_at < end)
    if f.category:
        stmt = stmt.where(ServiceCategory.code == f.category)
    if f.method:
        stmt = stmt.where(Job.method == f.method)
    if f.owner:
        stmt = stmt.where(Owner.credit_code == f.owner.upper())
    if f.district:
        stmt = stmt.where(Job.district == f.district)
    rows = (await session.exec(stmt)).all()
    ids = [int(sel.winner_quote_id) for _j, sel, _c, _o in rows]
    prices = {}
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk:chunk + 1000]
        prices.update({q.id: q.price for q in (await session.exec(select(Quote).where(col(Quote.id).in_(part)))).all()})
    jobs = [AwardedJob(cap=job.budget_cap, awarded_price=prices[int(sel.winner_quote_id)], method=job.method,
                       category=cat, owner=owner, district=job.district or "-",
                       published_at=ensure_aware(job.published_at), awarded_at=ensure_aware(job.awarded_at))
            for job, sel, cat, owner in rows]
    return summarise(jobs, f.group_by)


COLUMNS = ("group", "count", "total_cap", "total_awarded", "total_saved", "savings_rate", "average_selection_hours")


def _cells(summary: dict) -> list[str]:
    return ["" if summary[k] is None else str(summary[k]) for k in COLUMNS[1:]]


def report_rows(report: SavingsReport) -> list[list[str]]:
    rows = [[_("All"), *_cells(report.overall.to_json())]]
    for key, s in report.groups.items():
        rows.append([key, *_cells(s.to_json())])
    return rows


def headers() -> list[str]:
    return [_("Group"), _("Awarded jobs"), _("Total budget cap (baseline)"), _("Total awarded"), _("Total saved"),
            _("Savings rate"), _("Average hours from publication to award")]


def to_csv(report: SavingsReport) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers())
    w.writerows(report_rows(report))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(report: SavingsReport) -> bytes:
    from decimal import Decimal

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "savings"
    ws.append(headers())
    for row in report_rows(report):
        ws.append([row[0], int(row[1])] + [Decimal(v) if v else None for v in row[2:]])
    for column in "CDE":
        for cell in ws[column][1:]:
            cell.number_format = "#,##0.00"
    for cell in ws["F"][1:]:
        cell.number_format = "0.00%"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
