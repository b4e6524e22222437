"""Engine and session factory; the one session dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.types import Scope
from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import InputError
from app.request_limits import nul_message

SessionMaker = async_sessionmaker[AsyncSession]
# The one session dependency, as handlers declare it: `db: DB`.
DB = NamedDependency[AsyncSession]
# Where the request's session is kept in its ASGI scope, for `app.web.render` (the header's unread count reads
# through it: a second session could wait for the one SQLite connection the handler's session holds).
SESSION_SCOPE_KEY = "db_session"


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
    """A NUL character never reaches the database (PostgreSQL refuses it in text): a clear 400 instead
    of a 500, on either backend, whichever handler let it through."""
    rows = parameters if isinstance(parameters, list) else [parameters]
    for row in rows:
        values = row.values() if isinstance(row, dict) else (row or ())
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise InputError(nul_message())


def _closed_at_checkout(dbapi_conn, _record, _proxy) -> None:
    """Pool checkout: a connection whose socket the server already closed is replaced (the pool retries
    with a new one on DisconnectionError), without asking the server anything."""
    driver = getattr(dbapi_conn, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("connection closed by the server")


def make_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        # One connection: SQLite has a single writer anyway, and serialising
        # transactions here avoids "database is locked" and keeps the audit
        # chain append (read head, insert) atomic without advisory locks.
        engine = create_async_engine(
            database_url, pool_size=1, max_overflow=0, pool_timeout=60
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
        return engine
    # No pre-ping: SQLAlchemy's costs three round trips per checkout (BEGIN, an empty query, ROLLBACK) on
    # every request. A connection the server closed (a restart, a terminated backend) is known locally: the
    # event loop saw its socket end, and `_closed_at_checkout` swaps it for a fresh one at no round trip; one
    # that dies in the middle of a statement is invalidated by SQLAlchemy and answers 503 (app.web), as it
    # did with the pre-ping; `pool_recycle` bounds how long one can sit idle behind a silent network.
    engine = create_async_engine(database_url, pool_size=10, max_overflow=10, pool_pre_ping=False,
                                 pool_recycle=1800)
    event.listen(engine.sync_engine, "checkout", _closed_at_checkout)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def provide_session(state: State, scope: Scope) -> AsyncIterator[AsyncSession]:
    """Litestar dependency: one session per request, rolled back if not committed."""
    async with state.sessionmaker() as session:
        scope[SESSION_SCOPE_KEY] = session  # type: ignore[literal-required]
        try:
            yield session
        finally:
            scope.pop(SESSION_SCOPE_KEY, None)  # type: ignore[misc]
            if session.in_transaction():
                await session.rollback()


async def database_answers(session: AsyncSession) -> bool:
    """Whether the database answers a trivial query (the health check)."""
    try:
        await session.exec(text("SELECT 1"))
    except Exception:
        return False
    return True
