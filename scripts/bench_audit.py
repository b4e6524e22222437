"""Benchmark the stored audit chain's verification: events per second and peak memory by chain length.

    python scripts/bench_audit.py [--events 50000 200000] [--database-url URL] [--check]

Builds a valid chain of each length (hashes computed as `append_event` computes them, rows bulk-inserted)
in a fresh SQLite file, or in the PostgreSQL database given (its audit_event table is emptied first: never
point this at a database you need), then times `app.audit.verify_stored_chain` and records the peak of
Python's allocations during a second run (tracemalloc; the timed run is untraced). Issue 9's targets: at least 100,000 events/s, and memory flat
in the chain's length (the peak at the longest chain within 1.5 x the peak at the shortest).
The exit status is 1 when a verified chain is reported broken, or, with ``--check``, when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert, text

from app.audit import verify_stored_chain
from app.audit_chain import GENESIS_HASH, event_body, event_hash
from app.db import make_engine, make_sessionmaker
from app.main import metadata
from app.models import AuditEvent
from app.settings import normalise_database_url
from scripts.bench_report import emit

RATE_TARGET = 100_000
MEMORY_RATIO = 1.5


def chain_rows(n: int) -> list[dict]:
    rows, prev = [], GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        body = event_body(seq, start + timedelta(seconds=seq), "user:bench", "quote.submitted", f"job:J2026-{seq:05d}",
                          {"receipt": f"{seq:064x}"}, prev)
        prev = event_hash(body)
        rows.append({"seq": seq, "at": start + timedelta(seconds=seq), "actor": body["actor"], "kind": body["kind"],
                     "subject": body["subject"], "data": body["data"], "prev_hash": body["prev_hash"], "hash": prev})
    return rows


async def measure(url: str, n: int) -> tuple[float, float, float, bool]:
    """(seconds, CPU seconds of this process, peak MiB, ok) of verifying a chain of n events stored at url."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(delete(AuditEvent))
            rows = chain_rows(n)
            for i in range(0, n, 5000):
                await conn.execute(insert(AuditEvent), rows[i:i + 5000])
            del rows
        if engine.dialect.name == "postgresql":
            # A chain is read long after it was written: settle the bulk insert first (hint bits, statistics), as
            # autovacuum would, so that the first walk does not pay for setting them on every page.
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM (ANALYZE) audit_event"))
        async with make_sessionmaker(engine)() as session:  # timed without tracing (tracemalloc is slow)
            start, cpu = time.perf_counter(), time.process_time()
            report = await verify_stored_chain(session)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        async with make_sessionmaker(engine)() as session:  # then again, for the peak of allocations
            tracemalloc.start()
            await verify_stored_chain(session)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return seconds, cpu, peak / 2**20, report.ok and report.checked == n
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its audit_event rows are deleted)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    peaks, lengths = [], []
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'events':>9} {'seconds':>8} {'events/s':>10} {'CPU s':>7} {'per CPU s':>10} {'peak MiB':>9}  verdict")
        failed = broken = False
        for n in sorted(args.events):
            url = (normalise_database_url(args.database_url) if args.database_url
                   else f"sqlite+aiosqlite:///{tmp}/audit-{n}.db")
            seconds, cpu, peak, ok = asyncio.run(measure(url, n))
            rate = n / seconds
            peaks.append(peak)
            lengths.append(n)
            verdict = "OK" if ok and rate >= RATE_TARGET else ("BROKEN" if not ok else "below 100k/s")
            failed |= verdict != "OK"
            broken |= not ok
            print(f"{n:>9} {seconds:>8.2f} {rate:>10,.0f} {cpu:>7.2f} {n / cpu:>10,.0f} {peak:>9.1f}  {verdict}")
            emit(f"audit verify, {n:,} events", round(rate), "events/s", limit=f"≥ {RATE_TARGET:,}/s",
                 ok=ok and rate >= RATE_TARGET,
                 note=f"{n / cpu:,.0f} per CPU s; peak {peak:.1f} MiB" + ("" if ok else "; chain BROKEN"))
    flat = peaks[-1] <= peaks[0] * MEMORY_RATIO
    emit("audit verify peak memory, longest ÷ shortest chain", round(peaks[-1] / peaks[0], 2) if peaks[0] else 0.0,
         "×", limit=f"≤ {MEMORY_RATIO} ×", ok=flat if len(peaks) > 1 else None,
         note=f"{peaks[-1]:.1f} MiB at {lengths[-1]:,} events, {peaks[0]:.1f} MiB at {lengths[0]:,}")
    print(f"memory flat in chain length: {'yes' if flat else 'NO'} (peak {peaks[-1]:.1f} MiB at the longest, "
          f"{peaks[0]:.1f} MiB at the shortest; limit x{MEMORY_RATIO})")
    return 1 if broken or (args.check and (failed or not flat)) else 0


if __name__ == "__main__":
    sys.exit(main())
