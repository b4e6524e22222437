"""The one place that appends to the audit chain, and its database-side checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    LargeBinary,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    not_,
    true,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit_chain import GENESIS_HASH, ChainReport, ChainWalk, event_body, event_canonical, event_hash
from app.canonical import format_time
from app.models import AuditEvent

# Any constant works; it names the lock that serialises appends on PostgreSQL.
_PG_AUDIT_LOCK = 0x4D4B5441  # "MKTA"


def audit_lock() -> ColumnElement[Any]:
    """SQL (PostgreSQL): take the lock that serialises appends, in the caller's transaction. A caller whose last
    write before the event can carry it (`RETURNING`) appends with `lock_held=True`: one round trip less, and
    nothing but the append done under the lock."""
    return func.pg_advisory_xact_lock(literal_column(str(_PG_AUDIT_LOCK), Integer))


def _append_query() -> Insert:
    """PostgreSQL: the event in one statement after the lock: the head read and the row written together. Its
    hash hashes the seq and the prev_hash read there, so the server writes `sha256(before || prev_hash || middle
    || seq || after)`, the three parts being the canonical event's bytes around them (`append_event` checks the
    hash against its own)."""
    table = AuditEvent.__table__
    last = select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1).subquery("last")
    one = select(literal(1, Integer).label("one")).subquery("one")
    head = (select((func.coalesce(last.c.seq, 0) + 1).label("seq"),
                   func.coalesce(last.c.hash, GENESIS_HASH).label("prev"))
            .select_from(one.outerjoin(last, true())).subquery("head"))
    digest = func.encode(func.sha256(
        bindparam("before", type_=LargeBinary).op("||")(func.convert_to(head.c.prev, "UTF8"))
        .op("||")(bindparam("middle", type_=LargeBinary))
        .op("||")(func.convert_to(cast(head.c.seq, Text), "UTF8"))
        .op("||")(bindparam("after", type_=LargeBinary))), "hex")
    # Binds named apart from the columns (a parameter named as a column reads as a value for it).
    values = [bindparam(f"new_{name}", type_=table.c[name].type) for name in ("at", "actor", "kind", "subject", "data")]
    return (insert(table).from_select(["seq", "at", "actor", "kind", "subject", "data", "prev_hash", "hash"],
                                      select(head.c.seq, *values, head.c.prev, digest))
            .returning(table.c.seq, table.c.prev_hash, table.c.hash))


_APPEND = _append_query()
_HEAD = (select(AuditEvent.__table__.c.seq, AuditEvent.__table__.c.hash)
         .order_by(AuditEvent.__table__.c.seq.desc()).limit(1))
_INSERT = insert(AuditEvent.__table__)


async def append_event(session: AsyncSession, *, actor: str, kind: str, subject: str,
                       data: dict[str, Any] | None = None, lock_held: bool = False) -> AuditEvent:
    """Append one event inside the caller's transaction (committed with it).

    On PostgreSQL a transaction-level advisory lock makes "read head, insert"
    atomic across processes (taken here, or already by the caller's last write
    with `audit_lock()`: `lock_held`); SQLite runs one transaction at a time (see app.db).
    The unique seq/hash columns make a forked chain impossible either way.
    """
    data = dict(data or {})
    if session.get_bind().dialect.name == "postgresql":
        if not lock_held:
            await session.exec(select(audit_lock()))
        at = datetime.now(UTC)  # when it was appended (wall clock, never simulated), under the lock
        text_ = event_canonical(0, format_time(at), actor, kind, subject, data, GENESIS_HASH).decode("utf-8")
        # The canonical event: ...,"prev_hash":"<prev>","seq":<seq>,"subject":... (keys sorted)
        before, rest = text_.rsplit(f'"prev_hash":"{GENESIS_HASH}"', 1)  # the last: data may nest one
        middle, after = '","seq":', rest.removeprefix(',"seq":0')
        seq, prev, hash_ = (await session.exec(_APPEND, params={
            "new_at": at, "new_actor": actor, "new_kind": kind, "new_subject": subject, "new_data": data,
            "before": f'{before}"prev_hash":"'.encode(), "middle": middle.encode("utf-8"),
            "after": after.encode("utf-8")})).one()
        body = event_body(seq, at, actor, kind, subject, data, prev)
        if event_hash(body) != hash_:  # never: the same canonical bytes on both sides
            raise RuntimeError(f"audit event {seq}: the stored hash is not the event's hash")
    else:
        head = (await session.exec(_HEAD)).first()
        seq = (head[0] + 1) if head else 1
        prev = head[1] if head else GENESIS_HASH
        at = datetime.now(UTC)
        body = event_body(seq, at, actor, kind, subject, data, prev)
        hash_ = event_hash(body)
        await session.exec(_INSERT, params={"seq": seq, "at": at, "actor": actor, "kind": kind, "subject": subject,
                                            "data": body["data"], "prev_hash": prev, "hash": hash_})
    return AuditEvent(seq=seq, at=at, actor=actor, kind=kind, subject=subject, data=body["data"], prev_hash=prev,
                      hash=hash_)


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


_scan_json = json.JSONDecoder().scan_once


def _json_loads(raw: str) -> Any:
    """json.loads for the stored data column (written by json.dumps, or normalised by PostgreSQL's json type):
    the scanner at once, json.loads itself for anything else (whitespace around, or not JSON at all)."""
    try:
        value, end = _scan_json(raw, 0)
    except StopIteration:
        return json.loads(raw)
    return value if end == len(raw) else json.loads(raw)


def _stored_time(at: Any) -> str:
    """A stored `at` as hashed: a datetime (PostgreSQL) or SQLite's text `YYYY-MM-DD HH:MM:SS.ffffff` (UTC)."""
    if isinstance(at, str):
        if len(at) == 26 and at[10] == " " and at[19] == ".":
            return f"{at[:10]}T{at[11:]}Z"
        at = datetime.fromisoformat(at)
    return format_time(at)


async def verify_stored_chain(session: AsyncSession, batch: int = 10000) -> ChainReport:
    """Walk the stored chain in seq order, a batch of plain rows at a time (memory flat in the chain's length),
    and report the first break; reading stops there.

    The rows are read through the driver itself (no ORM or Core result processing per row: the walk is the
    cost), each batch by keyset on the primary key, the next batch asked for before this one is walked (the
    database reads it meanwhile; at most two batches are held)."""
    walk = ChainWalk()
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    table = AuditEvent.__tablename__
    if conn.dialect.name == "postgresql":
        # `at` as the server writes it with format_time's characters (FMYYYY: an unpadded year below 1000, as
        # strftime's %Y), cheaper than decoding a datetime and formatting it here; the json as its text.
        statement = await driver.prepare(
            """SELECT seq, to_char(at AT TIME ZONE 'UTC', 'FMYYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, kind, """
            f"subject, data::text, prev_hash, hash FROM {table} WHERE seq > $1 ORDER BY seq LIMIT $2")

        def fetch(after: int) -> Awaitable[list[Any]]:
            return statement.fetch(after, batch)

        at_text: Callable[[Any], str] | None = None
    else:
        query = f"SELECT seq, at, actor, kind, subject, data, prev_hash, hash FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?"

        async def fetch(after: int) -> list[Any]:
            async with driver.execute(query, (after, batch)) as cursor:
                return list(await cursor.fetchall())

        at_text = _stored_time
    pending = asyncio.ensure_future(fetch(0))
    try:
        while True:
            rows = await pending
            if not rows:
                return walk.report()
            pending = asyncio.ensure_future(fetch(rows[-1][0]))
            await asyncio.sleep(0)  # let the next batch's query go out before this one is walked
            if not walk.step_rows(rows, at_text, _json_loads):
                return walk.report()
    finally:
        if not pending.done():
            await pending  # a query in flight finishes before the connection is handed back
