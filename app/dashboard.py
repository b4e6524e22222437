"""The regulator's dashboard: what waits for a decision, at a glance, each with a link to act.

It reads across the domains (selections, objections, contracts, appeals, lists,
collusion signals, registrations), so it lives in `app`, which wires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import chain_head
from app.auth import roles
from app.i18n import gettext as _
from app.web import render
from marketplace import registry
from marketplace.models import (
    AWARDED, CLOSED, PENDING, PUBLISHED, Agency, Job, Objection, Owner, utcnow,
)
from marketplace.schemas import SHANGHAI
from marketplace.signals import SignalFilters, analyse
from ratings.models import Appeal, ListEntry

DB = NamedDependency[AsyncSession]
SIGNAL_DAYS = 90  # the signals card looks at the jobs whose quote deadline fell in this many days


@dataclass(frozen=True)
class Card:
    key: str        # a stable id for the page and the tests
    label: str
    count: int
    href: str
    urgent: bool    # something waits for a regulator's or admin's action


async def _count(db: AsyncSession, model: Any, *conds: Any) -> int:
    return (await db.exec(select(func.count()).select_from(model).where(*conds))).one()


async def cards(db: AsyncSession) -> list[Card]:
    now = utcnow()
    since = (now.astimezone(SHANGHAI) - timedelta(days=SIGNAL_DAYS)).date()
    signals = await analyse(db, SignalFilters(date_from=since))
    in_force = (col(ListEntry.starts_at) <= now, col(ListEntry.lifted_at).is_(None),
                (col(ListEntry.ends_at).is_(None)) | (col(ListEntry.ends_at) > now))
    due = await _count(db, Job, Job.status == PUBLISHED, col(Job.quote_deadline) <= now)
    beacon = await _count(db, Job, Job.status == CLOSED, Job.beacon_source == "manual",
                          col(Job.beacon_value).is_(None))
    overdue = await _count(db, Job, Job.status == AWARDED, col(Job.contract_due_at) < now)
    return [
        Card("due", _("Jobs due for selection"), due, "/regulator/selections?status=published", due > 0),
        Card("beacon", _("Jobs waiting for a beacon value"), beacon, "/regulator/selections?status=closed", beacon > 0),
        Card("objections", _("Open objections"), await _count(db, Objection, Objection.status == "open"),
             "/regulator/objections?status=open", True),
        Card("appeals", _("Open rating appeals"), await _count(db, Appeal, Appeal.status == "open"),
             "/regulator/appeals?status=open", True),
        Card("overdue", _("Contracts overdue"), overdue, "/regulator/selections?status=contract_overdue", overdue > 0),
        Card("signals", _("Collusion signals, last {n} days", n=SIGNAL_DAYS), len(signals.signals),
             f"/regulator/signals?date_from={since.isoformat()}", True),
        Card("registrations", _("Registrations waiting"),
             await _count(db, Agency, Agency.status == PENDING) + await _count(db, Owner, Owner.status == PENDING),
             "/admin/registrations", True),
        Card("qualifications", _("Qualification changes waiting"),
             (await registry.pending_qualifications(db, per_page=1)).total, "/admin/qualifications", True),
        Card("black", _("Black-list entries in force"), await _count(db, ListEntry, ListEntry.kind == "black", *in_force),
             "/lists#black-list", False),
        Card("red", _("Red-list entries in force"), await _count(db, ListEntry, ListEntry.kind == "red", *in_force),
             "/lists#red-list", False),
    ]


@get("/regulator", opt=roles("regulator", "admin"))
async def dashboard_page(request: Request, db: DB) -> Template:
    """Counts of what waits, each linking to the page where it is decided; the audit chain head."""
    items = await cards(db)
    seq, head = await chain_head(db)
    return await render(request, "regulator/dashboard.html", cards=items, head_seq=seq, head_hash=head,
                        waiting=[c for c in items if c.urgent and c.count], signal_days=SIGNAL_DAYS)


route_handlers = [dashboard_page]
