"""Decide an open request (objection, rating appeal) exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import utcnow
from app.errors import Conflict, NotFound
from marketplace.models import Decided

D = TypeVar("D", bound=Decided)


async def decide_once(session: AsyncSession, model: type[D], row_id: int, uphold: bool, reason: str, by: str, *,
                      missing: str, decided: str) -> tuple[D, str, datetime]:
    """Uphold or dismiss an open objection or appeal: exactly one decision, however many arrive at once.

    A conditional UPDATE claims the row (404 with `missing`, 409 with `decided`);
    returns the row, its new status and the decision time. The caller adds the
    consequences and the audit event in the same transaction.
    """
    row = await session.get(model, row_id)
    if row is None:
        raise NotFound(missing)
    status, now = ("upheld" if uphold else "dismissed"), utcnow()
    res = await session.exec(update(model).where(model.id == row_id, model.status == "open").values(
        status=status, decision_reason=reason, decided_by=by, decided_at=now))
    if res.rowcount != 1:
        raise Conflict(decided)
    return row, status, now
