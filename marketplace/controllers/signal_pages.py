"""The regulator's page of collusion signals (flags for review, never blocks)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.auth import roles
from app.db import DB
from app.errors import InputError
from app.web import render
from marketplace.controllers.page_helpers import PER_PAGE, Page, pager_base
from marketplace.controllers.signal_texts import evidence_text, kind_explanation, kind_name, pair_formula
from marketplace.domain.collusion import KINDS
from marketplace.services.registry import Listing
from marketplace.services.signals import analyse, parse_filters


@get("/regulator/signals", opt=roles("regulator", "admin"))
async def signals_page(request: Request, db: DB, page: Page = 1, kind: FromQuery[str | None] = None,
                       date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                       q: FromQuery[str | None] = None) -> Template:
    filters = {"kind": (kind or "").strip(), "date_from": (date_from or "").strip(),
               "date_to": (date_to or "").strip(), "q": (q or "").strip()}
    ctx: dict[str, Any] = dict(filters=filters, kinds=KINDS, kind_name=kind_name, kind_explanation=kind_explanation,
                               evidence_text=evidence_text)
    try:
        f = parse_filters(**filters)
    except InputError as exc:
        # The page shows the filter form again with its errors (the API answers 400).
        return await render(request, "marketplace/signals.html", status_code=exc.status_code, error=exc.message,
                            errors=exc.fields, result=None, formula=pair_formula(), **ctx)
    result = await analyse(db, f)
    start = (page - 1) * PER_PAGE
    listing = Listing(result.signals[start:start + PER_PAGE], len(result.signals), page, PER_PAGE)
    return await render(request, "marketplace/signals.html", result=result, listing=listing,
                        pager_base=pager_base("/regulator/signals", filters), formula=pair_formula(result.pairs_tested),
                        **ctx)


route_handlers = [signals_page]
