"""The public savings report page: a dashboard of charts, each with a table of the same figures, and export links.

The tables are the source of truth; each chart (drawn by /static/charts.js with the vendored ECharts) gets its
numbers from the same rows, passed as JSON in `<script type="application/json" id="report-data">`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import PUBLIC, roles
from app.cached_pages import shared_page
from app.clock import utcnow
from app.db import DB
from app.errors import InputError
from app.i18n import get_locale
from app.i18n import gettext as _
from marketplace.domain.methods import METHODS
from marketplace.models import ServiceCategory
from marketplace.services import registry
from marketplace.services.job_notices import JOB_PAGES
from ratings.controllers.page_helpers import (
    group_by_name,
    grouped_money,
    method_name,
    percent,
    render_page,
    two_places,
)
from ratings.domain.credit import CENT
from ratings.domain.savings import GROUP_BY, SavingsSummary
from ratings.services import savings_report as report
from ratings.services.profiles import AGENCY_PAGES
from ratings.services.savings_dashboard import Dashboard, dashboard

# Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, orange, sky blue, reddish purple).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7"]


def _group_label(group_by: str | None, key: str, categories: dict[str, ServiceCategory],
                 owners: dict[str, str]) -> str:
    if group_by == "method":
        return method_name(key)
    if group_by == "category":
        cat = categories.get(key)
        return (cat.name_zh if get_locale() == "zh_CN" else cat.name_en) if cat else key
    if group_by == "owner":
        return f"{owners[key]} ({key})" if key in owners else key
    if group_by == "district" and key == "-":
        return _("No district given")
    return key


def _rate_value(rate: Decimal | None) -> float:
    return 0.0 if rate is None else float((rate * 100).quantize(CENT))


def _yuan(value: Decimal | None) -> str:
    return "—" if value is None else f"¥{grouped_money(value)}"


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _series(name: str, kind: str, axis: int, values: list[float | None], texts: list[str]) -> dict[str, Any]:
    return {"name": name, "type": kind, "axis": axis, "data": values, "text": texts}


# ---- the dashboard's sections: a chart spec and a table per breakdown ---------------------------

SAVINGS_COLUMNS = ("count", "total_cap", "total_awarded", "total_saved", "savings_rate")


def _savings_head() -> list[str]:
    return [_("Awarded jobs"), _("Total budget cap (baseline)"), _("Total awarded"), _("Total saved"),
            _("Savings rate")]


def _savings_cells(s: SavingsSummary) -> list[tuple[str, str]]:
    return [("count", str(s.count)), ("total_cap", _yuan(s.total_cap)), ("total_awarded", _yuan(s.total_awarded)),
            ("total_saved", _yuan(s.total_saved)), ("savings_rate", percent(s.savings_rate))]


def _savings_section(key: str, title: str, axis_name: str, rows: list[tuple[str, str, SavingsSummary]],
                     horizontal: bool, line: bool = False) -> dict[str, Any]:
    """Saved amount (bars, left/bottom axis) and savings rate (a line over months, else bars; right/top axis)."""
    chart = {
        "title": title, "horizontal": horizontal, "categories": [label for _k, label, _s in rows],
        "axes": [{"name": _("Amount saved (¥)"), "unit": "money"}, {"name": _("Savings rate (%)"), "unit": "percent"}],
        "category_name": axis_name,
        "series": [
            _series(_("Total saved (¥)"), "bar", 0, [float(s.total_saved) for _k, _l, s in rows],
                    [_yuan(s.total_saved) for _k, _l, s in rows]),
            _series(_("Savings rate (%)"), "line" if line else "bar", 1,
                    [None if s.savings_rate is None else _rate_value(s.savings_rate) for _k, _l, s in rows],
                    [percent(s.savings_rate) for _k, _l, s in rows]),
        ],
    }
    return {"key": key, "title": title, "chart": chart, "head": [axis_name, *_savings_head()],
            "rows": [{"key": k, "label": label, "cells": _savings_cells(s)} for k, label, s in rows]}


def _selection_section(d: Dashboard) -> dict[str, Any]:
    months = list(d.selection_time.items())
    title = _("Days from publication to award, by month of award")
    chart = {
        "title": title, "horizontal": False, "categories": [m for m, _t in months],
        "axes": [{"name": _("Days"), "unit": "days"}], "category_name": group_by_name("month"),
        "series": [
            _series(_("Median days"), "bar", 0, [_num(t.median_days) for _m, t in months],
                    [two_places(t.median_days) for _m, t in months]),
            _series(_("Mean days"), "line", 0, [_num(t.mean_days) for _m, t in months],
                    [two_places(t.mean_days) for _m, t in months]),
        ],
    }
    rows = [{"key": m, "label": m, "cells": [
        ("count", str(t.count)), ("median_days", two_places(t.median_days)), ("mean_days", two_places(t.mean_days)),
        ("shortest_days", two_places(t.shortest_days)), ("longest_days", two_places(t.longest_days))]}
        for m, t in months]
    t = d.selection_time_overall
    return {"key": "selection", "title": title, "chart": chart,
            "head": [group_by_name("month"), _("Awarded jobs"), _("Median days"), _("Mean days"),
                     _("Shortest (days)"), _("Longest (days)")],
            "rows": rows,
            "foot": [_("All"), str(t.count), two_places(t.median_days), two_places(t.mean_days),
                     two_places(t.shortest_days), two_places(t.longest_days)] if months else None,
            "note": _("Selection time is counted for each job in days from its publication to its award. Per month "
                      "of award, the median is the middle job's time (or the mean of the two middle ones) and the "
                      "mean is the average; both are rounded to 0.01 day.")}


def _agencies_section(d: Dashboard) -> dict[str, Any]:
    title = _("Top 10 agencies by awarded amount")
    labels = [a.name for a in d.top_agencies]
    chart = {
        "title": title, "horizontal": True, "categories": labels,
        "axes": [{"name": _("Amount awarded (¥)"), "unit": "money"}], "category_name": _("Agency"),
        "series": [_series(_("Total awarded (¥)"), "bar", 0, [float(a.summary.total_awarded) for a in d.top_agencies],
                           [_yuan(a.summary.total_awarded) for a in d.top_agencies])],
    }
    rows = [{"key": a.credit_code, "label": f"{a.name} ({a.credit_code})", "rank": str(i),
             "cells": _savings_cells(a.summary)} for i, a in enumerate(d.top_agencies, 1)]
    return {"key": "agencies", "title": title, "chart": chart,
            "head": [_("Rank"), _("Agency"), *_savings_head()], "rows": rows,
            "note": _("Agencies that won the awarded jobs, by total awarded amount (ties by credit code).")}


def sections(d: Dashboard, cats: dict[str, ServiceCategory]) -> list[dict[str, Any]]:
    def rows(group: str) -> list[tuple[str, str, SavingsSummary]]:
        return [(k, _group_label(group, k, cats, {}), s) for k, s in d.breakdowns[group].items()]

    return [
        _savings_section("month", _("Savings by month of award"), group_by_name("month"), rows("month"),
                         horizontal=False, line=True),
        _savings_section("method", _("Savings by selection method"), group_by_name("method"), rows("method"),
                         horizontal=True),
        _savings_section("category", _("Savings by service category"), group_by_name("category"), rows("category"),
                         horizontal=True),
        _savings_section("district", _("Savings by district"), group_by_name("district"), rows("district"),
                         horizontal=True),
        _selection_section(d),
        _agencies_section(d),
    ]


@get("/reports/savings", opt=roles(PUBLIC))
async def savings_page(request: Request, db: DB, date_from: FromQuery[str | None] = None,
                       date_to: FromQuery[str | None] = None, category: FromQuery[str | None] = None,
                       method: FromQuery[str | None] = None, owner: FromQuery[str | None] = None,
                       district: FromQuery[str | None] = None, group_by: FromQuery[str | None] = None) -> Response | Template:
    """Savings against the budget cap (the baseline): a dashboard of charts and tables, and export links;
    the same for every visitor, cached while no job or agency changes (and per hour: periods are local
    days, which begin on a whole hour of UTC)."""
    return await shared_page(request, topics=(JOB_PAGES, AGENCY_PAGES), key=(utcnow().strftime("%Y%m%d%H"),),
                             build=lambda: _savings(request, db, date_from, date_to, category, method, owner,
                                                    district, group_by))


async def _savings(request: Request, db: AsyncSession, date_from: str | None, date_to: str | None,
                   category: str | None, method: str | None, owner: str | None, district: str | None,
                   group_by: str | None) -> Template:
    categories = await registry.list_categories(db, active_only=False)
    districts = await report.report_districts(db)
    filters = {"date_from": (date_from or "").strip(), "date_to": (date_to or "").strip(),
               "category": (category or "").strip(), "method": (method or "").strip(),
               "owner": (owner or "").strip().upper(), "district": (district or "").strip(),
               "group_by": (group_by or "").strip()}
    ctx: dict[str, Any] = {"filters": filters, "categories": categories, "districts": districts,
                           "method_codes": METHODS, "group_bys": [g for g in GROUP_BY if g]}
    try:
        f = await report.page_filters(db, **filters, districts=districts, categories={c.code for c in categories})
        dash = await dashboard(db, f)
    except InputError as exc:
        return await render_page(request, db, "ratings/savings.html", status_code=exc.status_code,
                                 error=exc.message, errors=exc.fields, data=None, **ctx)
    data = dash.report
    cats = {c.code: c for c in categories}
    owner_names: dict[str, str] = {}
    if data.group_by == "owner" and data.groups:
        owner_names = await report.owner_names(db, list(data.groups))
    groups = [{"key": key, "label": _group_label(data.group_by, key, cats, owner_names), "s": s}
              for key, s in data.groups.items()]
    overall = data.overall
    methods = [{"code": m, "label": method_name(m), "count": n,
                "share": percent(Decimal(n) / overall.count) if overall.count else "—"}
               for m, n in overall.method_counts.items()]
    rate_bars = ([{"label": g["label"], "value": _rate_value(g["s"].savings_rate), "text": percent(g["s"].savings_rate)}
                  for g in groups] if groups else
                 [{"label": _("All awarded jobs"), "value": _rate_value(overall.savings_rate),
                   "text": percent(overall.savings_rate)}] if overall.count else [])
    charts = {
        "rate": {"title": _("Savings rate by {group}", group=group_by_name(data.group_by)) if data.group_by
                 else _("Savings rate"), "unit": "%", "max": 100, "bars": rate_bars,
                 "axis": _("Savings rate (%)")},
        "methods": {"title": _("Awarded jobs per selection method"), "unit": "", "max": None,
                    "bars": [{"label": m["label"], "value": m["count"], "text": str(m["count"])} for m in methods
                             if m["count"] or m["code"] in METHODS], "axis": _("Awarded jobs")},
        "empty": _("No awarded jobs match these filters."),
    }
    dash_sections = sections(dash, cats)
    charts.update({s["key"]: s["chart"] for s in dash_sections})
    export_query = urlencode({k: v for k, v in {**filters, "date_from": f.date_from.isoformat() if f.date_from else "",
                                                "date_to": f.date_to.isoformat() if f.date_to else ""}.items() if v})
    api_query = urlencode({k: v for k, v in filters.items() if v and k != "group_by"})
    return await render_page(request, db, "ratings/savings.html", data=data, overall=overall, groups=groups,
                             methods=methods, sections=dash_sections,
                             page_data={"report": data.to_json(), "charts": charts, "palette": PALETTE},
                             export_query=export_query, api_query=api_query, **ctx)


route_handlers = [savings_page]
