"""The savings report over awarded jobs (DESIGN "Savings report"), with CSV and XLSX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from app.forms import FilterCheck
from app.i18n import get_locale
from app.i18n import gettext as _
from marketplace.controllers.page_helpers import method_name
from marketplace.domain.methods import METHODS
from marketplace.models import (
    AWARDED,
    COMPLETED,
    CONTRACTED,
    DRAFT,
    RATED,
    Job,
    Owner,
    Quote,
    Selection,
    ServiceCategory,
)
from marketplace.schemas import local_day_bounds
from ratings.domain.credit import CENT
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


def check_filters(f: ReportFilters, categories: set[str], check: FilterCheck | None = None) -> ReportFilters:
    """The filters with their choices checked (and stripped); raises once for everything noted in
    `check` too (the report page notes its own problems first)."""
    check = check or FilterCheck()
    check.period(f.date_from, f.date_to)
    f = replace(f, method=check.choice("method", f.method, METHODS),
                category=check.choice("category", f.category, categories),
                group_by=check.choice("group_by", f.group_by, GROUP_BY))
    check.done()
    return f


async def _owner_known(session: AsyncSession, credit_code: str) -> bool:
    return (await session.exec(select(Owner.id).where(Owner.credit_code == credit_code.upper()))).first() is not None


async def awarded_jobs(session: AsyncSession, f: ReportFilters) -> tuple[ReportFilters, list[tuple[AwardedJob, int]]]:
    """The filters checked, and the awarded jobs they select, each with its winning agency's id."""
    cats = set((await session.exec(select(ServiceCategory.code))).all())
    f = check_filters(f, cats)
    check = FilterCheck()
    if f.owner and not await _owner_known(session, f.owner):
        check.refuse("owner", _("No owner organisation has this credit code."))
    if f.district and not (await session.exec(select(Job.id).where(Job.district == f.district).limit(1))).first():
        check.unknown("district")
    check.done()
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
    quotes: dict[int, Quote] = {}
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk:chunk + 1000]
        quotes.update({q.id: q for q in (await session.exec(select(Quote).where(col(Quote.id).in_(part)))).all()})
    jobs = []
    for job, sel, cat, owner in rows:
        won = quotes[int(sel.winner_quote_id)]
        jobs.append((AwardedJob(cap=job.budget_cap, awarded_price=won.price, method=job.method, category=cat,
                                owner=owner, district=job.district or "-",
                                published_at=ensure_aware(job.published_at), awarded_at=ensure_aware(job.awarded_at)),
                     won.agency_id))
    return f, jobs


async def savings_report(session: AsyncSession, f: ReportFilters) -> SavingsReport:
    f, jobs = await awarded_jobs(session, f)
    return summarise([j for j, _agency in jobs], f.group_by)


async def report_districts(session: AsyncSession) -> list[str]:
    """The districts of published jobs, sorted (the report page offers these)."""
    rows = (await session.exec(select(Job.district).where(Job.status != DRAFT, Job.district != "")
                               .distinct().order_by(Job.district))).all()
    return list(rows)


async def page_filters(session: AsyncSession, *, date_from: str, date_to: str, category: str, method: str,
                       owner: str, district: str, group_by: str, districts: list[str],
                       categories: set[str]) -> ReportFilters:
    """The report page's filters as typed (dates as text, `owner` upper-cased), checked all at once:
    a malformed date, an owner no one has, a district not offered, then `check_filters`."""
    check = FilterCheck()
    d_from = check.date("date_from", date_from)
    d_to = check.date("date_to", date_to)
    if owner and (len(owner) > 18 or not await _owner_known(session, owner)):
        check.refuse("owner", _("No project owner has this credit code."))
    district = check.choice("district", district, districts)
    f = ReportFilters(date_from=d_from, date_to=d_to, category=category or None, method=method or None,
                      owner=owner or None, district=district, group_by=group_by or None)
    return check_filters(f, categories, check)


async def owner_names(session: AsyncSession, credit_codes: list[str]) -> dict[str, str]:
    """Owner organisations' names by credit code."""
    return dict((await session.exec(select(Owner.credit_code, Owner.name)
                                    .where(col(Owner.credit_code).in_(credit_codes)))).all())


async def group_names(session: AsyncSession, group_by: str | None, keys: list[str]) -> dict[str, str]:
    """What a person reads for each group key, in the request's language: a category's or a method's name,
    an owner organisation's name, "No district given" for "-"; months and districts as they are."""
    if group_by == "category":
        rows = (await session.exec(select(ServiceCategory).where(col(ServiceCategory.code).in_(keys)))).all()
        zh = get_locale() == "zh_CN"
        cats = {c.code: (c.name_zh if zh else c.name_en) for c in rows}
        return {k: cats.get(k, k) for k in keys}
    if group_by == "method":
        return {k: method_name(k) for k in keys}
    if group_by == "owner":
        owners = await owner_names(session, keys) if keys else {}
        return {k: owners.get(k, k) for k in keys}
    if group_by == "district":
        return {k: _("No district given") if k == "-" else k for k in keys}
    return {k: k for k in keys}


COLUMNS = ("group", "count", "total_cap", "total_awarded", "total_saved", "savings_rate", "average_selection_hours")


def _percent(rate: Decimal | None) -> str:
    return "" if rate is None else f"{(rate * 100).quantize(CENT)}%"


def report_rows(report: SavingsReport, names: dict[str, str] | None = None) -> list[list]:
    """One row per group after the overall one: name, count, cap, awarded, saved (Decimal, 2 places), rate
    (Decimal, 4 places, or None), average hours (Decimal or None), code."""
    names = names or {}
    rows = []
    for label, code, s in [(_("All"), "", report.overall),
                           *[(names.get(k, k), k, s) for k, s in report.groups.items()]]:
        rows.append([label, s.count, s.total_cap, s.total_awarded, s.total_saved, s.savings_rate,
                     s.average_selection_hours, code])
    return rows


def headers() -> list[str]:
    return [_("Group"), _("Awarded jobs"), _("Total budget cap (baseline)"), _("Total awarded"), _("Total saved"),
            _("Savings rate"), _("Average hours from publication to award"), _("Code")]


def to_csv(report: SavingsReport, names: dict[str, str] | None = None) -> bytes:
    """Names in the request's language, money with 2 places, the rate as a percentage ("42.60%")."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers())
    for row in report_rows(report, names):
        w.writerow([row[0], row[1], *(str(v) for v in row[2:5]), _percent(row[5]),
                    "" if row[6] is None else str(row[6]), row[7]])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def add_sheet(ws, head: list[str], rows: list[list], money: str = "", rate: str = "", number: str = "") -> None:
    """Rows into a worksheet; the cells in the `money` columns (letters) get `#,##0.00`, `rate` `0.00%`,
    `number` `0.00` (the values are Decimals, so the file holds exactly the report's figures)."""
    ws.append(head)
    for row in rows:
        ws.append(row)
    for letters, fmt in ((money, "#,##0.00"), (rate, "0.00%"), (number, "0.00")):
        for column in letters:
            for cell in ws[column][1:]:
                cell.number_format = fmt
    for column in ws.columns:
        width = max(len(str(c.value or "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(max(10, width * 1.6), 48)


def xlsx_workbook(report: SavingsReport, names: dict[str, str] | None = None):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "savings"
    add_sheet(ws, headers(), report_rows(report, names), money="CDE", rate="F", number="G")
    return wb


def save_workbook(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_xlsx(report: SavingsReport, names: dict[str, str] | None = None) -> bytes:
    return save_workbook(xlsx_workbook(report, names))
