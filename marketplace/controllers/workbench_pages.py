"""The workbench (工作台): the signed-in user's home, with what waits for it (page and JSON), and the
lists of the items no other page lists (marketplace.services.workbench). A regulator's workbench is its
dashboard."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Template
from pydantic import BaseModel

from app.auth import ANY_USER, roles
from app.dashboard import all_cards
from app.db import DB
from app.errors import NotFound
from app.i18n import gettext as _
from app.web import redirect
from marketplace.controllers.page_helpers import render_page, user_of
from marketplace.services import workbench


class WorkbenchItemOut(BaseModel):
    key: str
    label: str
    count: int
    href: str
    urgent: bool


class WorkbenchOut(BaseModel):
    role: str
    items: list[WorkbenchItemOut]
    waiting: int  # the sum of the counts of the urgent items


async def _cards(request: Request, db: DB) -> list:
    user = user_of(request)
    if user.role == "regulator":
        state = request.app.state
        return await all_cards(db, state.dashboard_cards, state.dashboard_order)
    return await workbench.cards(db, user)


@get("/workbench", opt=roles(*ANY_USER))
async def workbench_page(request: Request, db: DB) -> Response | Template:
    """What waits for the user, each with its count and a link to the page that lists it."""
    if user_of(request).role == "regulator":
        return redirect("/regulator")
    cards = await _cards(request, db)
    return await render_page(request, "marketplace/workbench.html", cards=cards,
                             waiting=[c for c in cards if c.urgent and c.count])


@get("/workbench/{key:str}", opt=roles(*ANY_USER))
async def workbench_list_page(request: Request, db: DB, key: FromPath[str]) -> Response | Template:
    """The items of one workbench card (a card whose items another page lists goes there)."""
    user = user_of(request)
    found = workbench.source(user.role, key)
    if found is None:
        raise NotFound(_("No such page."))
    if not found.has_list:
        return redirect(found.link)
    return await render_page(request, "marketplace/workbench_list.html", source=found, label=found.label(),
                             rows=await workbench.rows(db, user, key))


@get("/api/workbench", opt=roles(*ANY_USER))
async def api_workbench(request: Request, db: DB) -> WorkbenchOut:
    """What waits for the signed-in user: one item per kind, with its count and the page listing it
    (a regulator: its dashboard's cards)."""
    cards = await _cards(request, db)
    return WorkbenchOut(role=user_of(request).role,
                        items=[WorkbenchItemOut(key=c.key, label=c.label, count=c.count, href=c.href, urgent=c.urgent)
                               for c in cards],
                        waiting=sum(c.count for c in cards if c.urgent))


route_handlers = [workbench_page, workbench_list_page, api_workbench]
