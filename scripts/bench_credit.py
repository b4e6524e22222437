"""Benchmark: the nightly credit recompute over 10,000 agencies and 1,000,000 ratings
on PostgreSQL (target: under 10 s).

    .venv/bin/python scripts/bench_credit.py [--agencies 10000] [--ratings 1000000]

Creates and finally drops the database `market_bench_credit` on the local
PostgreSQL. Bulk rows are generated in SQL (generate_series); foreign-key
triggers are switched off for the fill only (session_replication_role), since
the recompute reads ratings and violations, not the jobs behind them. Rating
scores are drawn mostly from 60–100 (5 % below 60), as owners' ratings are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "market_bench_credit"


async def admin(sql: str) -> None:
    from app.db import make_engine
    from app.settings import normalise_database_url

    engine = make_engine(normalise_database_url(f"{BASE}/postgres"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


@contextmanager
def migrated_database(name: str, **env: str) -> Iterator[dict[str, str]]:
    """A new PostgreSQL database `name`, migrated; yields the environment that points the app at it.
    Dropped afterwards, unless BENCH_KEEP is set (to look at the data)."""
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        env = {**os.environ, "DATABASE_URL": f"{BASE}/{name}", "PYTHONPATH": str(ROOT), **env}
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        yield env
    finally:
        if not os.environ.get("BENCH_KEEP"):
            asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def insert_agencies_and_ratings(conn, n_agencies: int, n_ratings: int, name: str = "agency") -> None:
    """Approved agencies `<name> 1..n` and random ratings of the last 900 days (5% below 60), in SQL."""
    await conn.execute(text("SET session_replication_role = replica"))
    await conn.execute(text("""
        INSERT INTO agency (credit_code, name, legal_rep, contact_name, phone, email, address, district, status,
                            status_reason, created_at)
        SELECT lpad(g::text, 18, '0'), :name || ' ' || g, 'x', 'x', '0', '', 'x', '', 'approved', '', now()
        FROM generate_series(1, :n) g"""), {"n": n_agencies, "name": name})
    await conn.execute(text("""
        INSERT INTO rating (contract_id, job_id, agency_id, owner_id, quality, timeliness, fee_compliance, attitude,
                            score, comment, rated_at, void_reason)
        SELECT g, 1, 1 + (g % :a), 1, 3, 3, 3, 3,
               round((CASE WHEN random() < 0.05 THEN random() * 60 ELSE 60 + random() * 40 END)::numeric, 2),
               '', now() - (random() * 900) * interval '1 day', ''
        FROM generate_series(1, :n) g"""), {"a": n_agencies, "n": n_ratings})


async def fill_and_run(n_agencies: int, n_ratings: int) -> None:
    from app.clock import utcnow
    from app.db import make_engine, make_sessionmaker
    from app.settings import normalise_database_url
    from ratings.services.recompute import nightly_recompute

    engine = make_engine(normalise_database_url(f"{BASE}/{DB}"))
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        await insert_agencies_and_ratings(conn, n_agencies, n_ratings)
        await conn.execute(text("""
            INSERT INTO violation (agency_id, severity, kind, description, evidence, recorded_by, occurred_at)
            SELECT 1 + (g * 7 % :a), (ARRAY['minor','major','severe'])[1 + g % 3], 'bench', '', '', 'bench',
                   now() - (random() * 500) * interval '1 day'
            FROM generate_series(1, :v) g"""), {"a": n_agencies, "v": n_agencies // 20})
        await conn.execute(text("ANALYZE"))
    fill = time.perf_counter() - t0
    sm = make_sessionmaker(engine)
    timings = []
    for run in range(2):
        async with sm() as session:
            t = time.perf_counter()
            changes = await nightly_recompute(session, utcnow())
            timings.append(time.perf_counter() - t)
            print(f"run {run + 1}: {timings[-1]:.2f} s  list changes: {changes}")
    async with sm() as session:
        n = (await session.exec(text("SELECT count(*) FROM agency_credit"))).one()[0]
    await engine.dispose()
    print(f"\nfill: {fill:.1f} s for {n_agencies:,} agencies, {n_ratings:,} ratings")
    print(f"nightly recompute: first {timings[0]:.2f} s, second (no changes) {timings[1]:.2f} s, "
          f"{n:,} agency_credit rows  (target < 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=10_000)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    args = parser.parse_args()
    with migrated_database(DB):
        asyncio.run(fill_and_run(args.agencies, args.ratings))


if __name__ == "__main__":
    main()
