"""Migrations match the models on both backends; demo data is idempotent; catalog complete."""

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import func, select

from app.db import make_engine
from app.main import metadata
from app.migrate import upgrade
from app.models import AuditEvent, User
from marketplace.models import Agency, Owner, Qualification
from scripts.seed_demo import reset_demo_passwords, seed
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[3]


async def _columns(url: str) -> dict[str, set[str]]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        def read(sync_conn):
            insp = inspect(sync_conn)
            return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names() if t != "alembic_version"}
        cols = await conn.run_sync(read)
    await engine.dispose()
    return cols


async def _migrated_database_url(tmp_path) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    # A database of its own so the test schema is not disturbed.
    from app.settings import normalise_database_url

    admin = make_engine(normalise_database_url(TEST_DATABASE_URL))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("DROP DATABASE IF EXISTS market_migration_check"))
        await conn.execute(text("CREATE DATABASE market_migration_check"))
    await admin.dispose()
    base = normalise_database_url(TEST_DATABASE_URL).rsplit("/", 1)[0]
    return f"{base}/market_migration_check"


async def test_migrations_create_exactly_the_model_schema(tmp_path):
    url = await _migrated_database_url(tmp_path)
    await asyncio.to_thread(upgrade, url)
    migrated = await _columns(url)
    expected = {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}
    assert migrated == expected
    await asyncio.to_thread(upgrade, url)  # a second run is a no-op


async def test_demo_seed_is_deterministic_and_idempotent(sessionmaker):
    added = await seed(sessionmaker, agencies=12, owners=4, jobs=0, progress=False)
    assert added == {"agencies": 12, "owners": 4}

    async def counts():
        async with sessionmaker() as s:
            return [(await s.exec(select(func.count()).select_from(m))).one()
                    for m in (Agency, Owner, Qualification, User, AuditEvent)]

    first = await counts()
    assert await seed(sessionmaker, agencies=12, owners=4, jobs=0, progress=False) == {"agencies": 0, "owners": 0}
    assert await counts() == first
    async with sessionmaker() as s:
        statuses = set((await s.exec(select(Agency.status))).all())
        names = (await s.exec(select(Agency.name).order_by(Agency.credit_code))).all()
    assert "approved" in statuses and len(statuses) >= 2
    creds = await reset_demo_passwords(sessionmaker)
    assert set(creds) == {"admin", "regulator", "owner", "agency", "reviewer"}
    # Same seed, fresh database: the same organisations.
    from scripts.seed_demo import plan
    assert [o.code for o in plan(20261127, 12, 4)] == [o.code for o in plan(20261127, 12, 4)]
    assert len(names) == 12


def test_every_string_has_a_chinese_translation():
    r = subprocess.run([sys.executable, "scripts/i18n.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


async def test_demo_passwords_log_in(client, sessionmaker):
    await seed(sessionmaker, agencies=2, owners=2, jobs=0, progress=False)
    creds = await reset_demo_passwords(sessionmaker)
    from tests.helpers import login
    for role, (username, password) in creds.items():
        client.cookies.clear()
        await login(client, username, password)
        assert (await client.get("/api/me")).json()["role"] == role


async def test_openapi_document_describes_the_api_not_its_own_pages(client):
    """`/schema/{path}` (Swagger UI's pages) was in the document with 200 and 400, and answered 404 for any other path."""
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert not [p for p in paths if p.startswith("/schema")]
    assert all(p.startswith("/api/") or p == "/healthz" for p in paths)
    assert (await client.get("/schema/swagger")).status_code == 200
