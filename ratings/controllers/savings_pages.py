"""The public savings report page: figures, charts, tables and export links."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import InputError
from app.i18n import get_locale
from app.i18n import gettext as _
from marketplace.domain.methods import METHODS
from marketplace.models import ServiceCategory
from marketplace.services import registry
from ratings.controllers.page_helpers import group_by_name, method_name, percent, render_page
from ratings.domain.credit import CENT
from ratings.domain.savings import GROUP_BY
from ratings.services import savings_report as report


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


@get("/reports/savings", opt=roles(PUBLIC))
async def savings_page(request: Request, db: DB, date_from: FromQuery[str | None] = None,
                       date_to: FromQuery[str | None] = None, category: FromQuery[str | None] = None,
                       method: FromQuery[str | None] = None, owner: FromQuery[str | None] = None,
                       district: FromQuery[str | None] = None, group_by: FromQuery[str | None] = None) -> Template:
    """Savings against the budget cap (the baseline), with charts, tables and export links."""
    categories = await registry.list_categories(db, active_only=False)
    districts = await report.report_districts(db)
    filters = {"date_from": (date_from or "").strip(), "date_to": (date_to or "").strip(),
               "category": (category or "").strip(), "method": (method or "").strip(),
               "owner": (owner or "").strip().upper(), "district": (district or "").strip(),
               "group_by": (group_by or "").strip()}
    ctx: dict[str, Any] = dict(filters=filters, categories=categories, districts=districts,
                               method_codes=METHODS, group_bys=[g for g in GROUP_BY if g])
    try:
        f = await report.page_filters(db, **filters, districts=districts, categories={c.code for c in categories})
        data = await report.savings_report(db, f)
    except InputError as exc:
        return await render_page(request, db, "ratings/savings.html", status_code=exc.status_code,
                                 error=exc.message, errors=exc.fields, data=None, **ctx)
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
                 else _("Savings rate"), "unit": "%", "max": 100, "bars": rate_bars},
        "methods": {"title": _("Awarded jobs per selection method"), "unit": "", "max": None,
                    "bars": [{"label": m["label"], "value": m["count"], "text": str(m["count"])} for m in methods
                             if m["count"] or m["code"] in METHODS]},
        "empty": _("No awarded jobs match these filters."),
    }
    export_query = urlencode({k: v for k, v in {**filters, "date_from": f.date_from.isoformat() if f.date_from else "",
                                                "date_to": f.date_to.isoformat() if f.date_to else ""}.items() if v})
    return await render_page(request, db, "ratings/savings.html", data=data, overall=overall, groups=groups,
                             methods=methods, page_data={"report": data.to_json(), "charts": charts},
                             export_query=export_query, **ctx)


route_handlers = [savings_page]
