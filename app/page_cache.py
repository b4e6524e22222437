"""Rendered parts of public pages, and when they go stale.

A page module declares which tables its page is read from (`watch(topic, tables)`); a cached part
is keyed by the *versions* of its topics, so it is served only while none of those tables changed.

* Every ORM write is seen by one hook on SQLAlchemy's `Session` (flushes and ORM bulk statements),
  so no write path has to remember a bump. Inside the writing transaction the hook sends
  ``pg_notify('page_changed', topics)``, which PostgreSQL delivers to every listening process when
  the transaction commits (and never if it rolls back); the writing process also bumps its own
  versions right after the commit, so the writer's next page is fresh even before the notice arrives.
* Each app process keeps one LISTEN connection (`PageVersions.run`) and counts notifications per
  topic, so a cache hit costs no database round trip. While that connection is down no version
  exists and nothing is cached or served from the cache; each (re)connection starts a new epoch,
  making everything cached before it stale.
* On SQLite there is no listener: the cache is off and every page is rendered (correct, uncached).

A part is rendered only after its version was taken, so a part rendered while its tables change is
filed under the old version and never served as the new one. Entries also expire after `ttl`
seconds, or earlier at the `valid_until` their page gives (the next moment at which the page would
read differently by the clock alone, e.g. a quote deadline), so nothing written before a deadline
is served after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.clock import utcnow

log = logging.getLogger("market.page_cache")
CHANNEL = "page_changed"
LISTENER_NAME = "market-page-listener"
_PENDING = "page_cache.pending"  # topics written in the session's transaction, not yet announced
_WRITTEN = "page_cache.written"  # all topics written in the transaction (bumped locally on commit)

# table name -> (topics, skip): `skip(session, obj)` true means this row's write shows on no page.
_TABLES: dict[str, tuple[set[str], Callable[[Session, Any], bool] | None]] = {}
# table name -> test of an ORM bulk statement (its `ORMExecuteState`) that shows on no page.
_BULK_SKIPS: dict[str, Callable[[Any], bool]] = {}
_VERSIONS: weakref.WeakSet[PageVersions] = weakref.WeakSet()


def watch(topic: str, tables: Iterable[str], skip: dict[str, Callable[[Session, Any], bool]] | None = None,
          bulk_skip: dict[str, Callable[[Any], bool]] | None = None) -> None:
    """Declare that pages of `topic` are read from `tables`: any write to them moves the topic's version.
    `skip` may name, per table, a test of a written row that no page of any topic shows; `bulk_skip` the
    same for an ORM bulk statement (given its `ORMExecuteState`)."""
    for table in tables:
        topics, old_skip = _TABLES.get(table, (set(), None))
        topics.add(topic)
        _TABLES[table] = (topics, (skip or {}).get(table, old_skip))
    _BULK_SKIPS.update(bulk_skip or {})


def _topics_of(session: Session, objs: Iterable[Any]) -> set[str]:
    found: set[str] = set()
    for obj in objs:
        table = getattr(obj, "__tablename__", None)
        entry = _TABLES.get(table) if table else None
        if entry is None:
            continue
        topics, skip = entry
        if skip is not None and skip(session, obj):
            continue
        found |= topics
    return found


def _mark(session: Session, topics: set[str]) -> None:
    if topics:
        session.info.setdefault(_PENDING, set()).update(topics)
        session.info.setdefault(_WRITTEN, set()).update(topics)


def _announce(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending and session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_notify(:c, :t)"),
                                     {"c": CHANNEL, "t": ",".join(sorted(pending))})


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    dirty = [o for o in session.dirty if session.is_modified(o, include_collections=False)]
    _mark(session, _topics_of(session, [*session.new, *dirty, *session.deleted]))
    _announce(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    name = getattr(getattr(state.statement, "table", None), "name", "")
    entry = _TABLES.get(name)
    if entry is not None and not (name in _BULK_SKIPS and _BULK_SKIPS[name](state)):
        _mark(state.session, set(entry[0]))  # announced before the commit (`_before_commit`)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        _announce(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    session.info.pop(_PENDING, None)
    if written:
        for versions in list(_VERSIONS):
            versions.bump(written)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_PENDING, None)


def bump_now(topics: Iterable[str]) -> None:
    """Bump this process's versions of `topics` at once (a write this process made outside the ORM)."""
    for versions in list(_VERSIONS):
        versions.bump(topics)


class PageVersions:
    """This process's versions of the page topics (see the module docstring)."""

    def __init__(self, database_url: str, health_interval: float = 5.0):
        self.database_url = database_url
        self.health_interval = health_interval
        self.epoch = 0
        self.counters: dict[str, int] = {}
        self.live = False
        self._task: asyncio.Task | None = None
        _VERSIONS.add(self)

    @property
    def listens(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "postgresql"

    def current(self, *topics: str) -> tuple[int, ...] | None:
        """The versions of `topics`, or None while versions cannot be trusted (nothing may be cached)."""
        if not self.live:
            return None
        return (self.epoch, *(self.counters.get(t, 0) for t in topics))

    def bump(self, topics: Iterable[str]) -> None:
        for t in topics:
            self.counters[t] = self.counters.get(t, 0) + 1

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.bump(t for t in payload.split(",") if t)

    async def start(self) -> None:
        if self.listens:
            self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self.live = False

    async def wait_live(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.live and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.live

    async def run(self) -> None:
        """Keep one LISTEN connection; reconnect after a failure (1 s pause, doubling up to 30 s)."""
        import asyncpg

        dsn = make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        pause = 1.0
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn, server_settings={"application_name": LISTENER_NAME})
                closed = asyncio.Event()
                conn.add_termination_listener(lambda _conn: closed.set())
                await conn.add_listener(CHANNEL, self._notified)
                self.epoch += 1  # whatever happened while not listening makes cached parts stale
                self.live = True
                pause = 1.0
                while not closed.is_set():
                    try:
                        await asyncio.wait_for(closed.wait(), timeout=self.health_interval)
                    except TimeoutError:
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=self.health_interval)
                raise ConnectionError("the LISTEN connection was closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost or refused: no cache until it is back
                log.warning("page version listener: %s; pages are rendered uncached", exc)
            finally:
                self.live = False
                self.epoch += 1
                if conn is not None:
                    try:
                        await asyncio.wait_for(conn.close(), timeout=2)
                    except Exception:
                        conn.terminate()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)


class PageCache:
    """Rendered parts of pages, per app process (LRU; an entry expires after `ttl` seconds or at its
    own `valid_until`, whichever is first)."""

    def __init__(self, size: int = 512, ttl: float = 60.0):
        self.size, self.ttl = size, ttl
        self.entries: OrderedDict[tuple, tuple[float, float | None, Any]] = OrderedDict()
        self._flights: dict[tuple, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def flight(self, key: tuple) -> AsyncIterator[None]:
        """One render per key at a time: visitors who miss together wait for the first one's render
        instead of all rendering it (after each change every page misses at once)."""
        lock, users = self._flights.get(key, (asyncio.Lock(), 0))
        self._flights[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._flights[key]
            if users == 1:
                del self._flights[key]
            else:
                self._flights[key] = (lock, users - 1)

    def get(self, key: tuple) -> Any:
        hit = self.entries.get(key)
        if hit is None:
            return None
        stored, valid_until, value = hit
        if time.monotonic() - stored > self.ttl or (valid_until is not None and utcnow().timestamp() >= valid_until):
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return value

    def put(self, key: tuple, value: Any, valid_until: datetime | None = None) -> None:
        self.entries[key] = (time.monotonic(), valid_until.timestamp() if valid_until else None, value)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


def next_moment(now: datetime, *rows: Any) -> datetime | None:
    """The earliest time after `now` among the datetime fields of `rows` (SQLModel rows, dataclasses or
    None): the next moment at which a page showing these rows may read differently by the clock alone
    (times of the platform clock, `app.clock.utcnow`, as `PageCache` compares them)."""
    later = []
    for row in rows:
        if row is None:
            continue
        for value in (row.__dict__.values() if hasattr(row, "__dict__") else ()):
            if isinstance(value, datetime):
                aware = value if value.tzinfo else value.replace(tzinfo=now.tzinfo)
                if aware > now:
                    later.append(aware)
    return min(later) if later else None
