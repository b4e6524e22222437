"""An agency's service commitments (服务承诺): one form per category it is qualified in."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from app.auth import roles
from app.db import DB
from app.errors import NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from marketplace.controllers.page_helpers import render_page, user_of
from marketplace.schemas.clarifications import CommitmentIn
from marketplace.services import commitments
from marketplace.services.accounts import agency_of


async def _page(request: Request, db: DB, status_code: int = 200, **extra: Any) -> Template:
    agency = await agency_of(db, user_of(request))
    if agency is None:
        raise NotFound(_("No such agency."))
    cats = await commitments.qualified_categories(db, agency.id)
    listing = (await commitments.commitments_out(db, agency.credit_code)
               if agency.status == "approved" else None)
    current = {c.category_code: c for c in listing.in_force} if listing else {}
    return await render_page(request, "marketplace/registry/commitments.html", status_code=status_code,
                             agency=agency, categories=cats, current=current,
                             history=listing.history if listing else [], **extra)


@get("/agency/commitments", opt=roles("agency"))
async def commitments_page(request: Request, db: DB) -> Template:
    return await _page(request, db)


@post("/agency/commitments", opt=roles("agency"))
async def commitment_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: commitments.publish_commitment(db, user_of(request), parse(CommitmentIn, data)),
        done(request, _("Your commitment was published. Quotes from now on are judged by it."),
             "/agency/commitments"),
        lambda exc: _page(request, db, status_code=exc.status_code, form=data,
                          form_category=str(data.get("category_code", "")), errors=exc.fields, error=exc.message))


route_handlers = [commitments_page, commitment_submit]
