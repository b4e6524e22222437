"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), Redis when TEST_REDIS_URL is set, an app and a client."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, Type
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.engine import make_url

import app.passwords as passwords
from app.db import make_engine, make_sessionmaker
from app.main import build_app, build_key, init_state, metadata
from app.models import PlatformSetting
from app.settings import Settings, normalise_database_url
from marketplace.services.catalogue import seed_catalogue
from marketplace.services.registry import seed_categories

# The suite hashes and verifies thousands of passwords: in this process argon2id runs with its smallest
# parameters (t=1, m=8 KiB) so that each costs microseconds, not ~0.1 s. The production parameters are
# asserted by tests/unit/app/test_passwords.py (which uses PRODUCTION_HASHER), and every server a
# browser, worker or fault test starts as its own process hashes with them.
PRODUCTION_HASHER = passwords._hasher
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL)


def backend_label() -> str:
    return ("postgres" if ON_POSTGRES else "sqlite") + ("+redis" if TEST_REDIS_URL else "")


@pytest.fixture(scope="session")
def pg_schema() -> str | None:
    """Create the schema once per session on PostgreSQL (tables truncated per test)."""
    if not TEST_DATABASE_URL:
        return None
    url = normalise_database_url(TEST_DATABASE_URL)

    async def create() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
            await conn.run_sync(metadata.create_all)
        await engine.dispose()

    asyncio.run(create())
    return url


# Every table emptied, children first, and every sequence back to 1 (as TRUNCATE ... RESTART IDENTITY would).
_EMPTY_POSTGRES = ";\n".join([f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables)] + [
    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
    " WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"])
_SQLITE_TEMPLATE: dict[str, Path] = {}  # one migrated and seeded SQLite file per session, copied per test


async def prepare_database(url: str, fresh_sqlite: bool) -> None:
    """An empty database with the default categories and catalogue, sealing off. On SQLite the first one of
    the session is built and kept; every later one is a copy of it (creating the schema and seeding the
    catalogue takes most of a second; copying the file, milliseconds)."""
    if fresh_sqlite:
        target = Path(make_url(url).database)
        template = _SQLITE_TEMPLATE.get("path")
        if template is None:
            template = Path(tempfile.mkdtemp(prefix="market-template-")) / "template.db"
            await _build_database(f"sqlite+aiosqlite:///{template}", fresh_sqlite=True)
            _SQLITE_TEMPLATE["path"] = template
        shutil.copyfile(template, target)
        return
    await _build_database(url, fresh_sqlite=False)


async def _build_database(url: str, fresh_sqlite: bool) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        if fresh_sqlite:
            await conn.run_sync(metadata.create_all)
        else:  # (one round trip; on tables this small DELETE takes milliseconds, TRUNCATE a third of a second)
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(_EMPTY_POSTGRES)
    async with make_sessionmaker(engine)() as session:
        await seed_categories(session)
        await seed_catalogue(session)
        # Sealing is on by default, and publishing then needs running key holders: the tests of the unsealed
        # path run with it off (a supported setting); the sealing tests turn it on and start real holders.
        session.add(PlatformSetting(key="sealing", value="off"))
        await session.commit()
    if fresh_sqlite:
        async with engine.begin() as conn:  # everything in the file itself (WAL): it is copied as it is
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    await engine.dispose()


async def flush_redis() -> None:
    if TEST_REDIS_URL:
        from redis.asyncio import Redis

        r = Redis.from_url(TEST_REDIS_URL)
        await r.flushdb()
        await r.aclose()


@pytest.fixture
def settings(tmp_path: Path, pg_schema: str | None) -> Settings:
    url = pg_schema or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return Settings(database_url=url, redis_url=TEST_REDIS_URL, secret_key="test-secret-key-0123456789",
                    var_dir=tmp_path, sweeper_interval_seconds=3600)


_BUILT: dict[tuple, Litestar] = {}  # one app per build_key: each test gives it a fresh state (init_state)


def app_for(settings: Settings) -> Litestar:
    """The app for `settings`, as `create_app(settings, start_jobs=False)` makes it: the routes are built once
    per combination of BUILD_SETTINGS, the state (engine, store, caches, limiters) anew for every test."""
    key = build_key(settings)
    if key not in _BUILT:
        _BUILT[key] = build_app(settings)
    app = _BUILT[key]
    init_state(app, settings, start_jobs=False)
    return app


@pytest.fixture
async def app(settings: Settings):
    await prepare_database(settings.database_url, fresh_sqlite=settings.is_sqlite)
    await flush_redis()
    app = app_for(settings)
    yield app
    # Tests that use the sessionmaker without a client never run the lifespan.
    await app.state.engine.dispose()
    if settings.redis_url:
        await app.state.store._redis.aclose(close_connection_pool=True)


@asynccontextmanager
async def running(app):
    """Run the ASGI lifespan in this event loop (Litestar's AsyncTestClient runs
    it in a portal thread, whose loop asyncpg connections cannot cross)."""
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                   to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    msg = await from_app.get()
    assert msg["type"] == "lifespan.startup.complete", msg
    try:
        yield app
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task


@pytest.fixture
async def client(app):
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield c


@pytest.fixture
def sessionmaker(app):
    return app.state.sessionmaker
