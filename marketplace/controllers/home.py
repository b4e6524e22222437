"""The home page and the user's account page (the organisation and the inbox)."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template
from sqlmodel import col, func, select

from app.audit import chain_head
from app.auth import ANY_USER, PUBLIC, CurrentUser, roles
from app.db import DB
from app.models import Notification
from app.web import render
from marketplace.models import APPROVED, Agency, Owner


@get("/", opt=roles(PUBLIC))
async def home(request: Request, db: DB) -> Template:
    agencies = (await db.exec(select(func.count()).select_from(Agency).where(Agency.status == APPROVED))).one()
    owners = (await db.exec(select(func.count()).select_from(Owner).where(Owner.status == APPROVED))).one()
    seq, head = await chain_head(db)
    return await render(request, "marketplace/home.html", agencies=agencies, owners=owners, head_seq=seq, head_hash=head)


@get("/account", opt=roles(*ANY_USER))
async def account_page(request: Request, db: DB) -> Template:
    user: CurrentUser = request.scope["user"]
    notes = (await db.exec(select(Notification).where(Notification.user_id == user.id)
                           .order_by(col(Notification.created_at).desc()).limit(50))).all()
    org = None
    if user.agency_id:
        org = await db.get(Agency, user.agency_id)
    elif user.owner_id:
        org = await db.get(Owner, user.owner_id)
    return await render(request, "marketplace/account.html", notifications=notes, org=org)


route_handlers = [home, account_page]
