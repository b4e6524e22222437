"""The marketplace's cards on the regulator's dashboard (what waits for a decision)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import SHANGHAI, utcnow
from app.dashboard import Card
from app.i18n import gettext as _
from marketplace.models import AWARDED, CLOSED, PENDING, PUBLISHED, Agency, Contract, Job, Objection, Owner
from marketplace.services.opening import waiting_for_keys
from marketplace.services.registry import pending_qualifications
from marketplace.services.signals import SignalFilters, analyse
from marketplace.services.timers import overdue_services

SIGNAL_DAYS = 90  # the signals card looks at the jobs whose quote deadline fell in this many days


async def count(db: AsyncSession, model: Any, *conds: Any) -> int:
    """Rows of `model` matching `conds`."""
    return (await db.exec(select(func.count()).select_from(model).where(*conds))).one()


async def cards(db: AsyncSession) -> list[Card]:
    now = utcnow()
    since = (now.astimezone(SHANGHAI) - timedelta(days=SIGNAL_DAYS)).date()
    signals = await analyse(db, SignalFilters(date_from=since))
    due = await count(db, Job, Job.status == PUBLISHED, col(Job.quote_deadline) <= now)
    beacon = await count(db, Job, Job.status == CLOSED, Job.beacon_source == "manual",
                         col(Job.beacon_value).is_(None))
    overdue = await count(db, Job, Job.status == AWARDED, col(Job.contract_due_at) < now,
                          ~select(Contract.id).where(Contract.job_id == Job.id).exists())
    services_overdue = len(await overdue_services(db, now))
    keys_missing = len(await waiting_for_keys(db))
    hint = _("Agency pairs with collusion signals on the jobs whose quote deadline fell in the last {n} days; "
             "they are flags for review, never findings.", n=SIGNAL_DAYS)
    return [
        Card("due", _("Jobs due for selection"), due, "/regulator/selections?status=published", due > 0),
        Card("beacon", _("Jobs waiting for a beacon value"), beacon, "/regulator/selections?status=closed", beacon > 0),
        Card("objections", _("Open objections"), await count(db, Objection, Objection.status == "open"),
             "/regulator/objections?status=open", True),
        Card("overdue", _("Contracts overdue"), overdue, "/regulator/selections?status=contract_overdue", overdue > 0),
        Card("keys_missing", _("Sealed jobs waiting for key holders"), keys_missing, "/regulator/sealing",
             keys_missing > 0),
        Card("services_overdue", _("Services overdue"), services_overdue, "/regulator/services", services_overdue > 0),
        Card("signals", _("Agency pairs with collusion signals, last {n} days", n=SIGNAL_DAYS), len(signals.pairs),
             f"/regulator/signals?date_from={since.isoformat()}", True, hint),
        Card("registrations", _("Registrations waiting"),
             await count(db, Agency, Agency.status == PENDING) + await count(db, Owner, Owner.status == PENDING),
             "/admin/registrations", True),
        Card("qualifications", _("Qualification changes waiting"),
             (await pending_qualifications(db, per_page=1)).total, "/admin/qualifications", True),
    ]
