"""Background tasks of ratings: per-agency recompute on events, nightly for everyone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.clock import SHANGHAI, utcnow
from app.models import PlatformSetting
from app.tasks import sweep_step, task
from ratings.services.recompute import nightly_recompute, recompute_agency

NIGHTLY_KEY = "credit_nightly_done_on"
NIGHTLY_HOUR = 2  # Beijing time


@task
async def recompute_credit(ctx: dict[str, Any], agency_id: int) -> str:

    async with ctx["sessionmaker"]() as session:
        credit = await recompute_agency(session, agency_id)
        return f"{credit.score}"


@task
async def recompute_all_credit(ctx: dict[str, Any]) -> str:
    """Everyone at once, e.g. after the credit formula's parameters changed (idempotent)."""

    async with ctx["sessionmaker"]() as session:
        return str(await nightly_recompute(session))


@sweep_step
async def nightly_credit_if_due(ctx: dict[str, Any]) -> str:
    """Once per Beijing day after 02:00: recompute everyone (expiry, time decay)."""

    local = utcnow().astimezone(SHANGHAI)
    today = local.date().isoformat()
    if local.hour < NIGHTLY_HOUR:
        return "not yet"
    async with ctx["sessionmaker"]() as session:
        row = await session.get(PlatformSetting, NIGHTLY_KEY)
        if row and row.value >= today:
            return "done"
        # Claim the day first, so concurrent sweepers do not both run it.
        if row is None:
            session.add(PlatformSetting(key=NIGHTLY_KEY, value=today))
            try:
                await session.commit()
            except Exception:
                await session.rollback()
                return "claimed elsewhere"
        else:
            res = await session.exec(update(PlatformSetting).where(PlatformSetting.key == NIGHTLY_KEY,
                                                                    PlatformSetting.value < today).values(value=today))
            await session.commit()
            if res.rowcount != 1:
                return "claimed elsewhere"
        result = await nightly_recompute(session)
        return str(result)
