"""Benchmark: the public ranking page with 10,000 agencies and 200,000 ratings on
PostgreSQL, 2 app processes, 64 connections, next to a bare JSON endpoint of the
same app measured in the same run (wrk from Debian's packages drives the load); then
page 1 again while one agency's score changes every second.

    .venv/bin/python scripts/bench_rankings.py [--agencies 10000] [--ratings 200000] [--seconds 10]

Creates and finally drops the database `market_bench_rank`; only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.bench_credit import BASE, insert_agencies_and_ratings, migrated_database  # noqa: E402
from scripts.bench_report import emit  # noqa: E402

DB = "market_bench_rank"
REDIS = "redis://127.0.0.1:6379/13"


async def fill(n_agencies: int, n_ratings: int) -> None:
    from sqlalchemy import text

    from app.db import make_engine, make_sessionmaker
    from app.settings import normalise_database_url
    from ratings.services.recompute import nightly_recompute

    engine = make_engine(normalise_database_url(f"{BASE}/{DB}"))
    async with engine.begin() as conn:
        await insert_agencies_and_ratings(conn, n_agencies, n_ratings, name="中介机构")
        await conn.execute(text("ANALYZE"))
    async with make_sessionmaker(engine)() as session:
        await nightly_recompute(session)
    await engine.dispose()


def churn(stop, every: float, n_agencies: int, changes: list) -> None:
    """Change one agency's score every `every` seconds (a violation and its recompute), as ratings and
    decisions do in production: every cached ranking page goes stale each time."""
    import random

    from app.db import make_engine, make_sessionmaker
    from app.settings import normalise_database_url
    from ratings.models import Violation
    from ratings.services.recompute import recompute_agency

    async def loop() -> None:
        engine = make_engine(normalise_database_url(f"{BASE}/{DB}"))
        sm = make_sessionmaker(engine)
        while not stop.is_set():
            agency_id = random.randint(1, n_agencies)
            async with sm() as s:
                s.add(Violation(agency_id=agency_id, severity="minor", kind="bench", recorded_by="bench"))
                await s.commit()
                await recompute_agency(s, agency_id)
            changes.append(agency_id)
            await asyncio.sleep(every)
        await engine.dispose()

    asyncio.run(loop())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, errors.group(1) if errors else "0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=10_000)
    parser.add_argument("--ratings", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    server = None
    var, port = tempfile.mkdtemp(prefix="market-bench-"), free_port()
    with migrated_database(DB, REDIS_URL=REDIS, MARKET_VAR_DIR=var, PORT=str(port)) as env:
        try:
            t0 = time.perf_counter()
            asyncio.run(fill(args.agencies, args.ratings))
            print(f"filled {args.agencies:,} agencies, {args.ratings:,} ratings, credit computed "
                  f"({time.perf_counter() - t0:.1f} s)")
            server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--workers", "2"], cwd=ROOT, env=env,
                                      stdout=open(Path(var) / "server.log", "wb"), stderr=subprocess.STDOUT,
                                      start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            page = httpx.get(base + "/rankings")
            assert page.status_code == 200 and "中介机构" in page.text, page.status_code
            wrk(base + "/rankings", 2, args.connections)  # warm-up
            rows = []
            for name, path in (("GET /rankings (page 1)", "/rankings"), ("GET /rankings?page=37", "/rankings?page=37"),
                               ("GET /api/csrf (bare JSON)", "/api/csrf")):
                rps, p99, errors = wrk(base + path, args.seconds, args.connections)
                rows.append((name, rps, p99, errors))
            # The same page while scores keep changing (each change makes every cached page stale).
            stop, changes = threading.Event(), []
            changer = threading.Thread(target=churn, args=(stop, 1.0, args.agencies, changes))
            changer.start()
            try:
                rps, p99, errors = wrk(base + "/rankings", args.seconds, args.connections)
            finally:
                stop.set()
                changer.join()
            rows.insert(2, (f"GET /rankings, {len(changes)} changes", rps, p99, errors))
            bare = rows[-1][1]
            print(f"\n{'route':<28} {'req/s':>9} {'p99':>10} {'non-2xx':>8} {'of bare':>8}")
            for name, rps, p99, errors in rows:
                print(f"{name:<28} {rps:>9.1f} {p99:>10} {errors:>8} {rps / bare:>8.1%}")
            emit("bare JSON (GET /api/csrf)", bare, "req/s")
            emit("anonymous /rankings page 1 ÷ bare", rows[0][1] / bare, "ratio", limit="≥ 60%",
                 ok=rows[0][1] / bare >= 0.60)
            emit("anonymous /rankings while scores change ÷ bare", rows[2][1] / bare, "ratio", limit="≥ 60%",
                 ok=rows[2][1] / bare >= 0.60, note=rows[2][0].split(", ", 1)[1])
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGINT)
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
