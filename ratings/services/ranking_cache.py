"""The rendered ranking pages for anonymous visitors, and when they go stale.

A cached page is keyed by the *credit version*: which state of the scores it
shows. Every statement that writes scores (ratings.nightly) calls `announce`
in its own transaction.

* On PostgreSQL `announce` is ``pg_notify('credit_changed')``, delivered to
  every listening app process when the transaction commits. Each process keeps
  one LISTEN connection (`CreditVersion.run`) and counts notifications, so a
  cache hit costs no database round trip at all. While that connection is down
  (and after it comes back, once) the version is read from the database
  instead, so nothing is served stale for lack of a listener.
* On SQLite (and as that fallback) the version is the latest
  ``agency_credit.computed_at``, one indexed query per request.

A page is rendered only after its version was taken, so a page rendered while
scores change is filed under the old version and never served as the new one.
Changes of what the page shows besides scores (an approval, a suspension, a
new name) queue a recompute of that agency, which moves the version. Entries
also expire after `ttl` seconds, bounding anything else.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.page_cache import PageCache
from ratings.models import AgencyCredit

log = logging.getLogger("market.rankings")
CHANNEL = "credit_changed"
LISTENER_NAME = "market-credit-listener"


async def announce(session: AsyncSession) -> None:
    """Tell every app process, when the caller's transaction commits, that scores changed."""
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(text("SELECT pg_notify(:channel, '')").bindparams(channel=CHANNEL))


async def version_in_database(db: AsyncSession) -> str:
    latest = (await db.exec(select(func.max(AgencyCredit.computed_at)))).one()
    return f"db:{latest}"


class CreditVersion:
    """This process's view of the credit version (see the module docstring)."""

    def __init__(self, database_url: str, health_interval: float = 5.0):
        self.database_url = database_url
        self.health_interval = health_interval
        self.counter = 0
        self.live = False
        self._task: asyncio.Task | None = None

    @property
    def listens(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "postgresql"

    async def current(self, db: AsyncSession) -> str:
        if self.live:
            return f"n:{self.counter}"
        return await version_in_database(db)

    def _bump(self, *_args: object) -> None:
        self.counter += 1

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
                await conn.add_listener(CHANNEL, self._bump)
                self._bump()  # whatever happened while not listening makes cached pages stale
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
            except Exception as exc:  # connection lost or refused: fall back to the database version
                log.warning("credit version listener: %s; reading the version from the database", exc)
            finally:
                self.live = False
                if conn is not None:
                    try:
                        await asyncio.wait_for(conn.close(), timeout=2)
                    except Exception:
                        conn.terminate()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)


class RankingCache(PageCache):
    """Rendered ranking pages for anonymous visitors, per app process (`app.page_cache.PageCache`: LRU
    with a TTL, one render per key at a time), keyed by the credit version."""

    def __init__(self, version: CreditVersion, size: int = 256, ttl: float = 60.0):
        super().__init__(size=size, ttl=ttl)
        self.version = version
