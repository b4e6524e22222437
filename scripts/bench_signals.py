"""Benchmark: the collusion-signals analysis (the regulator's /regulator/signals page) on PostgreSQL.

    .venv/bin/python scripts/bench_signals.py [--agencies 2000] [--jobs 20000] [--bidders 5]

Creates and finally drops the database `market_bench_signals`. Rows are generated in SQL:
approved agencies, each with its own phone, legal representative, office address and one of
five browsers; opened jobs whose quote deadlines spread over two years, in the seeded service
categories; `--bidders` quotes per job from agencies drawn at random; and one planted ring
(agencies 1 and 2 quoting together on 30 extra jobs from one computer). Times the analysis
the page runs — one query and the pure `marketplace.collusion` — over the whole history and
over the dashboard's last 90 days, best of 3, and prints what was found.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_credit import BASE, migrated_database  # noqa: E402

DB = "market_bench_signals"


async def fill(conn, n_agencies: int, n_jobs: int, bidders: int) -> None:
    await conn.execute(text("SET session_replication_role = replica"))  # no owner or selection rows needed
    await conn.execute(text("""
        INSERT INTO agency (credit_code, name, legal_rep, contact_name, phone, email, address, district, status,
                            status_reason, created_at)
        SELECT lpad(g::text, 18, '0'), '机构 ' || g, '法人' || g, 'x', '0571-' || lpad(g::text, 8, '0'), '', 'x', '',
               'approved', '', now()
        FROM generate_series(1, :n) g"""), {"n": n_agencies})
    await conn.execute(text("""
        INSERT INTO job (job_no, owner_id, title, project_name, project_code, category_id, min_level, budget_cap,
                         method, state_funded, quote_deadline, service_days, description, district, beacon_source,
                         beacon_label, status, publicity_days, created_at, published_at, closed_at, awarded_at,
                         status_reason)
        SELECT 'B' || lpad(g::text, 8, '0'), 1, '项目 ' || g, 'p', 'c',
               (SELECT id FROM service_category ORDER BY id OFFSET (g % 12) LIMIT 1), 3, 100000, 'lowest', true,
               d, 30, '', '', 'none', '', 'awarded', 3, d - interval '7 days', d - interval '7 days', d, d, ''
        FROM (SELECT g, now() - (random() * 730) * interval '1 day' AS d FROM generate_series(1, :j) g) s"""),
        {"j": n_jobs + 30})
    # --bidders quotes per job from random agencies (a repeat within a job is dropped by the unique index).
    await conn.execute(text("""
        INSERT INTO quote (job_id, agency_id, price, service_days, note, status, submitted_at, nonce, receipt,
                           client_ip, user_agent, eligible, ineligible_reason)
        SELECT j.id, a, round((10000 + random() * 90000)::numeric, 2), 30, '', 'live', j.quote_deadline, 'n', '',
               '10.20.' || (a / 250) || '.' || (a % 250 + 1), 'Browser/' || (a % 5), true, ''
        FROM job j, LATERAL (SELECT 1 + floor(random() * :a)::int + 0 * j.id AS a
                             FROM generate_series(1, :b)) pick
        WHERE j.id <= :j
        ON CONFLICT DO NOTHING"""), {"a": n_agencies, "b": bidders, "j": n_jobs})
    # The ring: agencies 1 and 2 on 30 more jobs, from one office and one computer.
    await conn.execute(text("""
        INSERT INTO quote (job_id, agency_id, price, service_days, note, status, submitted_at, nonce, receipt,
                           client_ip, user_agent, eligible, ineligible_reason)
        SELECT j.id, a, round((50000 + random() * 1000)::numeric, 2), 30, '', 'live', j.quote_deadline, 'n', '',
               '10.99.0.1', 'Browser/ring', true, ''
        FROM job j, (VALUES (1), (2)) v(a) WHERE j.id > :j
        ON CONFLICT DO NOTHING"""), {"j": n_jobs})
    await conn.execute(text("ANALYZE"))


async def run(n_agencies: int, n_jobs: int, bidders: int) -> None:
    from app.clock import SHANGHAI, utcnow
    from app.db import make_engine, make_sessionmaker
    from app.settings import normalise_database_url
    from marketplace.services.signals import SignalFilters, analyse

    engine = make_engine(normalise_database_url(f"{BASE}/{DB}"))
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        await fill(conn, n_agencies, n_jobs, bidders)
    print(f"fill: {time.perf_counter() - t0:.1f} s")
    sm = make_sessionmaker(engine)
    since = (utcnow().astimezone(SHANGHAI) - timedelta(days=90)).date()
    for label, filters in (("whole history", SignalFilters()), ("last 90 days", SignalFilters(date_from=since))):
        best, result = None, None
        for _ in range(3):
            async with sm() as db:
                t = time.perf_counter()
                result = await analyse(db, filters)
                elapsed = time.perf_counter() - t
            best = elapsed if best is None else min(best, elapsed)
        kinds = dict(sorted(Counter(s.kind for s in result.signals).items()))
        pairs = [s for s in result.signals if s.kind == "frequent_pair"]
        print(f"{label}: {best * 1000:.0f} ms (best of 3) for {len(result.jobs):,} jobs, "
              f"{result.quotes_analysed:,} quotes, {result.pairs_tested:,} pairs tested; signals {kinds}")
        for s in pairs[:3]:
            print(f"  pair {s.agencies[0].code[-4:]}+{s.agencies[1].code[-4:]}: observed {s.pair.observed}, "
                  f"expected {s.pair.expected:.2f}, chance {s.pair.tail_probability:.2g}")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=2_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--bidders", type=int, default=5)
    args = parser.parse_args()
    with migrated_database(DB):
        asyncio.run(run(args.agencies, args.jobs, args.bidders))

if __name__ == "__main__":
    main()
