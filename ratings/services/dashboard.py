"""Ratings' cards on the regulator's dashboard: open appeals and list entries in force."""

from __future__ import annotations

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import utcnow
from app.dashboard import Card
from app.i18n import gettext as _
from marketplace.services.dashboard import count
from ratings.models import Appeal, ListEntry


async def cards(db: AsyncSession) -> list[Card]:
    now = utcnow()
    in_force = (col(ListEntry.starts_at) <= now, col(ListEntry.lifted_at).is_(None),
                (col(ListEntry.ends_at).is_(None)) | (col(ListEntry.ends_at) > now))
    return [
        Card("appeals", _("Open rating appeals"), await count(db, Appeal, Appeal.status == "open"),
             "/regulator/appeals?status=open", True),
        Card("black", _("Black-list entries in force"), await count(db, ListEntry, ListEntry.kind == "black", *in_force),
             "/lists#black-list", False),
        Card("red", _("Red-list entries in force"), await count(db, ListEntry, ListEntry.kind == "red", *in_force),
             "/lists#red-list", False),
    ]
