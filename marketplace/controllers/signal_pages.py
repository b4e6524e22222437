"""The regulator's page of collusion signals (flags for review, never blocks): grouped by agency pair
(`view=pairs`, the default) or one by one (`view=findings`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.auth import roles
from app.db import DB
from app.errors import InputError
from app.forms import FilterCheck
from app.web import render
from marketplace.controllers.page_helpers import PER_PAGE, Page, pager_base
from marketplace.controllers.signal_texts import (
    evidence_text,
    kind_explanation,
    kind_name,
    pair_evidence_text,
    pair_formula,
)
from marketplace.domain.collusion import KINDS
from marketplace.services.registry import Listing
from marketplace.services.signals import analyse, parse_filters

PAIRS, FINDINGS = "pairs", "findings"
VIEWS = (PAIRS, FINDINGS)


@get("/regulator/signals", opt=roles("regulator", "admin"))
async def signals_page(request: Request, db: DB, page: Page = 1, kind: FromQuery[str | None] = None,
                       date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None,
                       q: FromQuery[str | None] = None, view: FromQuery[str | None] = None) -> Template:
    filters = {"kind": (kind or "").strip(), "date_from": (date_from or "").strip(),
               "date_to": (date_to or "").strip(), "q": (q or "").strip()}
    view = (view or "").strip() or PAIRS
    # The links keep the filters; the view is in the query only when it is not the default.
    kept = {**filters, "view": "" if view == PAIRS else view}
    view_links = {v: pager_base("/regulator/signals", {**filters, "view": "" if v == PAIRS else v}).rstrip("?&")
                  for v in VIEWS}
    ctx: dict[str, Any] = {"filters": filters, "kinds": KINDS, "kind_name": kind_name,
                           "kind_explanation": kind_explanation, "evidence_text": evidence_text,
                           "pair_evidence_text": pair_evidence_text, "view": view, "view_links": view_links}
    try:
        check = FilterCheck()
        check.choice("view", view, VIEWS)
        check.done()
        f = parse_filters(**filters)
    except InputError as exc:
        # The page shows the filter form again with its errors (the API answers 400).
        return await render(request, "marketplace/signals.html", status_code=exc.status_code, error=exc.message,
                            errors=exc.fields, result=None, formula=pair_formula(), **ctx)
    result = await analyse(db, f)
    items = result.pairs if view == PAIRS else result.signals
    start = (page - 1) * PER_PAGE
    listing = Listing(items[start:start + PER_PAGE], len(items), page, PER_PAGE)
    return await render(request, "marketplace/signals.html", result=result, listing=listing,
                        pager_base=pager_base("/regulator/signals", kept), formula=pair_formula(result.pairs_tested),
                        **ctx)


route_handlers = [signals_page]
