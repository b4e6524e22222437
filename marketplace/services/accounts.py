"""The signed-in user's own things: its organisation and its inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from app.clock import utcnow
from app.models import Notification
from marketplace.models import Agency, Owner


async def agency_of(db: AsyncSession, user: CurrentUser) -> Agency | None:
    """The user's agency, if it is an agency's user."""
    return await db.get(Agency, user.agency_id) if user.agency_id else None


async def owner_of(db: AsyncSession, user: CurrentUser) -> Owner | None:
    """The user's owner organisation, if it is an owner's user."""
    return await db.get(Owner, user.owner_id) if user.owner_id else None


async def organisation_of(db: AsyncSession, user: CurrentUser) -> Agency | Owner | None:
    return await agency_of(db, user) if user.agency_id else await owner_of(db, user)


async def inbox(db: AsyncSession, user: CurrentUser, limit: int = 50) -> list[Notification]:
    """The user's latest notifications, newest first."""
    return list((await db.exec(select(Notification).where(Notification.user_id == user.id)
                               .order_by(col(Notification.created_at).desc()).limit(limit))).all())


async def mark_notifications_read(db: AsyncSession, user: CurrentUser, upto: datetime | None = None) -> int:
    """The user has seen its inbox (the account page) as it stood at `upto` (default now): the unread
    notifications created by then are read now, not one that came in since (commits)."""
    now = utcnow()
    res = await db.exec(update(Notification).where(Notification.user_id == user.id,
                                                   col(Notification.read_at).is_(None),
                                                   col(Notification.created_at) <= (upto or now))
                        .values(read_at=now))
    await db.commit()
    return res.rowcount
