"""The one place that appends to the audit chain, and its database-side checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, func, not_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit_chain import GENESIS_HASH, ChainReport, ChainWalk, event_body, event_hash
from app.models import AuditEvent

# Any constant works; it names the lock that serialises appends on PostgreSQL.
_PG_AUDIT_LOCK = 0x4D4B5441  # "MKTA"


async def append_event(session: AsyncSession, *, actor: str, kind: str, subject: str,
                       data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event inside the caller's transaction (committed with it).

    On PostgreSQL a transaction-level advisory lock makes "read head, insert"
    atomic across processes; SQLite runs one transaction at a time (see app.db).
    The unique seq/hash columns make a forked chain impossible either way.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_AUDIT_LOCK))
    head = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))).first()
    seq = (head.seq + 1) if head else 1
    prev = head.hash if head else GENESIS_HASH
    at = datetime.now(timezone.utc)  # when it was appended (wall clock, never simulated)
    body = event_body(seq, at, actor, kind, subject, data or {}, prev)
    event = AuditEvent(seq=seq, at=at, actor=actor, kind=kind, subject=subject,
                       data=body["data"], prev_hash=prev, hash=event_hash(body))
    session.add(event)
    await session.flush()
    return event


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    head = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))).first()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


@dataclass(frozen=True)
class AuditFilters:
    """What the regulator's audit page narrows the chain to: a kind, a subject (`job:J2026-00012`, or a bare
    `J2026-00012` for any subject of that name), and a period [start, end) in UTC. None is no filter."""

    kind: str | None = None
    subject: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def names_something(self) -> bool:
        """A kind or a subject: a view that could count the events of one job or of one kind."""
        return bool(self.kind or self.subject)


def _where(filters: AuditFilters, hidden: ColumnElement[bool] | None) -> list[Any]:
    conds: list[Any] = []
    if filters.kind:
        conds.append(col(AuditEvent.kind) == filters.kind)
    if filters.subject:
        if ":" in filters.subject:
            conds.append(col(AuditEvent.subject) == filters.subject)
        else:
            escaped = filters.subject.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append((col(AuditEvent.subject) == filters.subject)
                         | col(AuditEvent.subject).like(f"%:{escaped}", escape="\\"))
    if filters.start is not None:
        conds.append(col(AuditEvent.at) >= filters.start)
    if filters.end is not None:
        conds.append(col(AuditEvent.at) < filters.end)
    if hidden is not None and filters.names_something:
        # Events that may not be counted (a sealed job's quote events) are left out of a view that names a
        # kind or a subject, and out of its total: such a view would otherwise count them.
        conds.append(not_(hidden))
    return conds


async def latest_events(session: AsyncSession, page: int, per_page: int, filters: AuditFilters | None = None,
                        hidden: ColumnElement[bool] | None = None) -> list[AuditEvent]:
    """One page of the chain, newest first, narrowed by `filters` (`hidden`: see `_where`)."""
    conds = _where(filters or AuditFilters(), hidden)
    return list((await session.exec(select(AuditEvent).where(*conds).order_by(col(AuditEvent.seq).desc())
                                    .offset((page - 1) * per_page).limit(per_page))).all())


async def count_events(session: AsyncSession, filters: AuditFilters | None = None,
                       hidden: ColumnElement[bool] | None = None) -> int:
    """How many events `latest_events` pages through."""
    conds = _where(filters or AuditFilters(), hidden)
    return (await session.exec(select(func.count()).select_from(AuditEvent).where(*conds))).one()


async def present_kinds(session: AsyncSession, hidden: ColumnElement[bool] | None = None) -> list[str]:
    """The kinds the chain holds, for the page's filter; a kind only `hidden` events have is not offered."""
    query = select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)
    if hidden is not None:
        query = query.where(not_(hidden))
    return list((await session.exec(query)).all())


def event_as_dict(ev: AuditEvent) -> dict[str, Any]:
    body = event_body(ev.seq, ev.at, ev.actor, ev.kind, ev.subject, ev.data, ev.prev_hash)
    body["hash"] = ev.hash
    return body


async def verify_stored_chain(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Walk the stored chain in seq order, a batch of plain rows at a time (memory flat in the chain's length),
    and report the first break; reading stops there."""
    columns = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.kind, AuditEvent.subject,
               AuditEvent.data, AuditEvent.prev_hash, AuditEvent.hash)
    walk = ChainWalk()
    last = 0
    conn = await session.connection()  # Core rows: no ORM loading per event
    while True:
        rows = (await conn.execute(select(*columns).where(AuditEvent.seq > last)
                                   .order_by(col(AuditEvent.seq)).limit(batch))).all()
        if not rows:
            return walk.report()
        for seq, at, actor, kind, subject, data, prev_hash, hash_ in rows:
            body = event_body(seq, at, actor, kind, subject, data, prev_hash)
            body["hash"] = hash_
            if not walk.step(body):
                return walk.report()
        last = rows[-1][0]
