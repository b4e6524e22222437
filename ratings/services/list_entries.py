"""The red and black list entries in force, as the public and the regulator see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware, utcnow
from marketplace.models import Agency
from ratings.models import ListEntry

LIST_KINDS = ("red", "black")


def in_force(entry: ListEntry, now: datetime) -> bool:
    """Started, not lifted and not ended at `now`."""
    return (ensure_aware(entry.starts_at) <= now and entry.lifted_at is None
            and (entry.ends_at is None or ensure_aware(entry.ends_at) > now))


def _in_force_clause(now: datetime) -> tuple[Any, ...]:
    return (ListEntry.starts_at <= now, or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > now),
            col(ListEntry.lifted_at).is_(None))


async def public_lists(db: AsyncSession) -> dict[str, list[tuple[ListEntry, Agency]]]:
    """Each list in force with its agencies, newest entry first."""
    rows = (await db.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id)
                          .where(*_in_force_clause(utcnow()))
                          .order_by(col(ListEntry.starts_at).desc(), col(ListEntry.id).desc()))).all()
    return {kind: [(e, a) for e, a in rows if e.kind == kind] for kind in LIST_KINDS}


async def public_list(db: AsyncSession, kind: str) -> list[tuple[ListEntry, Agency]]:
    """One list (`kind` is one of LIST_KINDS) in force, newest entry first."""
    rows = (await db.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id)
                          .where(ListEntry.kind == kind, *_in_force_clause(utcnow()))
                          .order_by(col(ListEntry.starts_at).desc()))).all()
    return list(rows)


async def entries_in_force(db: AsyncSession, now: datetime) -> list[tuple[ListEntry, Agency]]:
    """Every entry in force at `now` by list, newest first (the regulator lifts from these)."""
    rows = (await db.exec(select(ListEntry, Agency).join(Agency, Agency.id == ListEntry.agency_id)
                          .where(*_in_force_clause(now))
                          .order_by(col(ListEntry.kind), col(ListEntry.starts_at).desc()))).all()
    return list(rows)
