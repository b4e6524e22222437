"""The home page (the latest notices and results, the headline figures) and the user's account page (the
organisation and the inbox)."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from app.audit import chain_head
from app.auth import ANY_USER, PUBLIC, CurrentUser, roles
from app.clock import utcnow
from app.db import DB
from app.web import render
from marketplace.controllers.page_helpers import render_page
from marketplace.services.accounts import inbox, mark_notifications_read, organisation_of
from marketplace.services.home import headline_figures, latest_notices, latest_results
from marketplace.services.registry import approved_counts


@get("/", opt=roles(PUBLIC))
async def home(request: Request, db: DB) -> Template:
    agencies, owners = await approved_counts(db)
    seq, head = await chain_head(db)
    return await render_page(request, "marketplace/home.html", agencies=agencies, owners=owners, head_seq=seq,
                             head_hash=head, notices=await latest_notices(db, utcnow()),
                             results=await latest_results(db), figures=await headline_figures(db))


@get("/account", opt=roles(*ANY_USER))
async def account_page(request: Request, db: DB) -> Template:
    user: CurrentUser = request.scope["user"]
    seen = utcnow()
    notifications = await inbox(db, user)
    await mark_notifications_read(db, user, seen)  # seen: the header's unread badge goes
    return await render(request, "marketplace/account.html", notifications=notifications,
                        org=await organisation_of(db, user))


route_handlers = [home, account_page]
