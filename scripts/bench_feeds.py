"""Benchmark the bulk feeds (issue #9) at ten times the demo's volume: PostgreSQL, 2 app processes.

    python scripts/bench_feeds.py [--jobs 3200] [--drawn 2160] [--clients 64] [--keep]

What it does (a benchmark, not a test; only 127.0.0.1 traffic, every loop bounded):
1. (re)creates the database ``market_bench_feeds`` on postgresql://postgres@127.0.0.1:5432 and migrates it
   with ``python -m app migrate`` (``--keep`` reuses a database a previous ``--keep`` run left filled);
2. through the services (create, publish, close and select; the quotes are written as submit_quote writes
   them, receipts included, without their audit events; the draws are real draw records that
   scripts/verify_draw.py accepts): one owner, 40 agencies, ``--jobs`` published jobs of which ``--drawn``
   are quoted on by 3–7 agencies, past their deadline and drawn (random, lowest, optimal, best value and
   credit-weighted draws in turn), the rest still open for quotes;
3. counts the SELECT statements each feed sends per batch, in this process (the app on the same database,
   called through httpx's ASGI transport);
4. starts ``python -m app serve --workers 2`` on a free port and, for ``GET /api/draws.jsonl`` and
   ``GET /api/ocds/releases.jsonl``: time to the first byte of the body and whole time for one client (best
   of 3), bytes, and the wall time of ``--clients`` clients fetching the whole feed at once; checks every
   draw record line with scripts/verify_draw.py;
5. prints a table with the limits beside; stops the server and drops the database (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text, update
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.main  # noqa: E402,F401  (the composition root: wires the domains' ports and tasks)
from app.auth import CurrentUser  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.settings import Settings, normalise_database_url  # noqa: E402
from marketplace.domain.receipts import compute_receipt, receipt_body  # noqa: E402
from marketplace.models import LIVE, Agency, Job, Quote  # noqa: E402
from marketplace.schemas import JobIn  # noqa: E402
from marketplace.services import bulk_feeds
from marketplace.services.jobs import create_job, publish_job  # noqa: E402
from marketplace.services.selection import close_and_select  # noqa: E402
from scripts.bench_population import Population, owner_and_agencies  # noqa: E402
from scripts.bench_report import emit  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = os.environ.get("BENCH_FEEDS_DB", "market_bench_feeds")  # another name: runs side by side
REDIS_URL = "redis://127.0.0.1:6379/11"
PASSWORD = "bench-feeds-Lantern-42"
AGENCIES = 40
METHODS = ("random", "lowest", "optimal", "best_value", "random_weighted")
FEEDS = ("/api/draws.jsonl", "/api/ocds/releases.jsonl")
BATCH = 200  # the feeds' batch size (marketplace/controllers: BATCH)
FIRST_RELEASE_BATCH = getattr(bulk_feeds, "FIRST_BATCH", BATCH)
FIRST_BYTE_LIMIT_MS, WHOLE_LIMIT_MS = 100.0, 1000.0
PEOPLE = Population(actor="bench", password=PASSWORD, owner="feedowner", owner_name="压测市交通运输局",
                    agency="feedag{i:04d}", agency_name="压测工程咨询第{i}有限公司", certificate="EIA-F-{i:05d}")


def user(username: str, role: str, *, owner_id: int | None = None, agency_id: int | None = None) -> CurrentUser:
    return CurrentUser(id=0, username=username, role=role, display_name=username, agency_id=agency_id,
                       owner_id=owner_id, locale=None)


# ---- setup ------------------------------------------------------------------------------------


async def database(action: str) -> bool:
    """`drop`, `create` (drop first) or `exists`."""
    admin = make_engine(normalise_database_url(f"{PG_SERVER}/postgres"))
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            if action == "exists":
                found = await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME})
                return found.first() is not None
            await conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
            if action == "create":
                await conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
            return True
    finally:
        await admin.dispose()


async def populate(url: str, jobs: int, drawn: int) -> dict[str, int]:
    """Owner, agencies, `jobs` published jobs, `drawn` of them quoted on and drawn; returns the outcomes."""
    engine = make_engine(normalise_database_url(url))
    sm = make_sessionmaker(engine)
    limit = asyncio.Semaphore(6)  # the pool has 10 connections; 2 cores
    rng = random.Random(20261202)
    outcomes: dict[str, int] = {}
    try:
        owner, agencies = await owner_and_agencies(sm, PEOPLE, AGENCIES, rng, limit)
        async with sm() as s:
            codes = dict((await s.exec(select(Agency.id, Agency.credit_code))).all())
        deadline = datetime.now(timezone.utc) + timedelta(days=20)
        plans = [(i, METHODS[i % len(METHODS)], rng.sample(agencies, rng.randint(3, 7)),
                  Decimal(rng.randrange(50_000, 900_000)))
                 for i in range(jobs)]
        done = 0
        t0 = time.perf_counter()

        async def one(i: int, method: str, bidders: list[tuple[str, int]], cap: Decimal) -> None:
            nonlocal done
            async with limit:
                async with sm() as s:
                    job = await create_job(s, owner, JobIn(
                        title=f"压测项目{i + 1}环境影响评价", project_name=f"压测项目{i + 1}",
                        project_code=f"FEED-{i + 1:05d}", category_code="EIA", item_code="EIA-01", min_level=3,
                        budget_cap=cap, method=method, state_funded=True, quote_deadline=deadline,
                        service_days=60, description="批量数据接口压测用的选取公告。"))
                    job = await publish_job(s, owner, job.job_no)
                if i >= drawn:
                    return
                # The quotes as submit_quote writes them (receipts included), in one transaction per job and
                # without their audit events: the feeds never read those, and the load is 4 times faster.
                async with sm() as s:
                    submitted = datetime.now(timezone.utc)
                    quotes = [Quote(job_id=job.id, agency_id=agency_id, service_days=rng.randint(20, 60),
                                    price=(cap * Decimal(rng.randint(6000, 9900)) / 10000).quantize(Decimal("0.01")),
                                    status=LIVE, submitted_at=submitted, nonce=secrets.token_hex(16))
                              for _username, agency_id in bidders]
                    s.add_all(quotes)
                    await s.flush()  # the ids the receipts commit to
                    for q in quotes:
                        q.receipt = compute_receipt(receipt_body(job.job_no, q, codes[q.agency_id]))
                    await s.commit()
                async with sm() as s:
                    await s.exec(update(Job).where(Job.id == job.id).values(
                        quote_deadline=datetime.now(timezone.utc) - timedelta(seconds=1)))
                    await s.commit()
                outcome = await close_and_select(sm, job.id)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            done += 1
            if done % 400 == 0:
                print(f"  … {done} jobs ({time.perf_counter() - t0:.0f} s)", flush=True)

        # Created in order (job numbers follow the plan), drawn 6 at a time.
        await asyncio.gather(*(one(*p) for p in plans))
        return outcomes
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "scripts" / "verify_draw.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- measurements -----------------------------------------------------------------------------


@dataclass
class Fetch:
    first_byte: float
    whole: float
    body: bytes


async def fetch(client: httpx.AsyncClient, path: str) -> Fetch:
    t0 = time.perf_counter()
    first = None
    parts = []
    async with client.stream("GET", path) as r:
        r.raise_for_status()
        async for chunk in r.aiter_raw():
            if first is None and chunk:
                first = time.perf_counter() - t0
            parts.append(chunk)
    whole = time.perf_counter() - t0
    return Fetch(first if first is not None else whole, whole, b"".join(parts))


def batches_of(path: str, lines: int) -> int:
    """The batches a whole read of `path` with `lines` lines takes (the last, empty batch ends the feed); the
    release feed's first batch is smaller (marketplace.services.bulk_feeds.FIRST_BATCH)."""
    first = FIRST_RELEASE_BATCH if path == "/api/ocds/releases.jsonl" else BATCH
    return (1 + math.ceil((lines - first) / BATCH) if lines > first else 1 if lines else 0) + 1


async def statements_per_batch(url: str, var_dir: str) -> dict[str, tuple[int, int, int]]:
    """path → (SELECT statements of the first whole fetch, of a second one, batches), the app in this process:
    the first builds every line, the second finds them kept."""
    settings = Settings(database_url=normalise_database_url(url), redis_url=None, secret_key=secrets.token_urlsafe(32),
                        var_dir=Path(var_dir))
    application = app.main.create_app(settings, start_jobs=False)
    out = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1") as c:
        engine = application.state.engine.sync_engine
        for path in FEEDS:
            counts = []
            for _ in range(2):
                seen: list[str] = []

                def count(_conn, _cursor, statement, *_args, seen=seen) -> None:
                    seen.append(statement)

                event.listen(engine, "before_cursor_execute", count)
                try:
                    body = (await c.get(path)).content
                finally:
                    event.remove(engine, "before_cursor_execute", count)
                counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
            out[path] = (counts[0], counts[1], batches_of(path, body.count(b"\n")))
    await application.state.engine.dispose()
    return out


async def measure(base: str, clients: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        for path in FEEDS:
            await fetch(c, path)  # warm both workers' caches, if any, and the connection pools
            await fetch(c, path)
            runs = [await fetch(c, path) for _ in range(3)]
            out[path] = {"first_byte": min(r.first_byte for r in runs), "whole": min(r.whole for r in runs),
                         "bytes": len(runs[0].body), "lines": runs[0].body.count(b"\n"), "body": runs[0].body}
    for path in FEEDS:
        limits = httpx.Limits(max_connections=1)
        many = [httpx.AsyncClient(base_url=base, timeout=300, limits=limits) for _ in range(clients)]
        try:
            t0 = time.perf_counter()
            results = await asyncio.gather(*(fetch(c, path) for c in many), return_exceptions=True)
            wall = time.perf_counter() - t0
        finally:
            for c in many:
                await c.aclose()
        failed = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        wrong = [r for r in results if not isinstance(r, BaseException) and r.body != out[path]["body"]]
        if failed:
            print(f"  {path}: {len(failed)} of {clients} clients failed, e.g. {failed[0][:200]}", flush=True)
        out[path].update(wall=wall, failed=len(failed), differing=len(wrong),
                         slowest=max((r.whole for r in results if not isinstance(r, BaseException)), default=0.0))
    return out


async def bench(args) -> None:
    url = f"{PG_SERVER}/{DB_NAME}"
    var_dir = tempfile.mkdtemp(prefix="market-bench-feeds-")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "HOST": "127.0.0.1",
           "SECRET_KEY": secrets.token_urlsafe(48), "MARKET_VAR_DIR": var_dir}
    server = None
    try:
        if args.keep and await database("exists"):
            print(f"database {DB_NAME}: reusing it (--keep)", flush=True)
            subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        else:
            print(f"database {DB_NAME}: recreating and migrating …", flush=True)
            await database("create")
            subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            t0 = time.perf_counter()
            outcomes = await populate(url, args.jobs, args.drawn)
            print(f"populated {args.jobs} jobs, drawn: {outcomes} ({time.perf_counter() - t0:.1f} s)", flush=True)
        statements = await statements_per_batch(url, var_dir)
        port = free_port()
        env["PORT"] = str(port)
        log = open(Path(var_dir) / "server.log", "wb")
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--workers", str(args.workers)], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
            for _ in range(150):  # at most 30 s
                if server.poll() is not None:
                    raise SystemExit(f"server exited ({server.returncode}); see {var_dir}/server.log")
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise SystemExit("server did not become ready in 30 s")
        print(f"server: python -m app serve --workers {args.workers} on {base} (pid {server.pid})", flush=True)
        results = await measure(base, args.clients)
        verifier = load_verifier()
        bad = 0
        for line in results["/api/draws.jsonl"]["body"].decode().splitlines():
            try:
                verifier.verify_record(json.loads(line))
            except Exception:  # noqa: BLE001 (counted and reported)
                bad += 1
        report(args, results, statements, bad)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # its own process group: only what we started
                server.wait(timeout=10)
        if not args.keep:
            await database("drop")
            print(f"stopped the server, dropped {DB_NAME}")
        else:
            print(f"stopped the server, kept {DB_NAME} (--keep)")


def report(args, results: dict[str, dict[str, Any]], statements: dict[str, tuple[int, int]], bad: int) -> None:
    print()
    print(f"{args.workers} app processes on {os.cpu_count()} CPUs shared with PostgreSQL and this client; "
          f"single client best of 3 after 2 warm-ups; {args.clients} clients at once")
    head = (f"{'feed':<26}{'lines':>7}{'MB':>7}{'1st byte ms':>13}{'whole ms':>10}{'SELECT/batch':>14}"
            f"{'kept: SELECT':>14}{f'{args.clients} clients s':>14}{'slowest s':>11}{'failed':>8}{'differ':>8}")
    print(head)
    print("-" * len(head))
    for path in FEEDS:
        r = results[path]
        selects, kept, batches = statements[path]
        print(f"{path:<26}{r['lines']:>7}{r['bytes'] / 1e6:>7.2f}{r['first_byte'] * 1000:>13.1f}"
              f"{r['whole'] * 1000:>10.1f}{f'{selects}/{batches}={selects / batches:.1f}':>14}"
              f"{f'{kept}/{batches}={kept / batches:.1f}':>14}{r['wall']:>14.2f}"
              f"{r['slowest']:>11.2f}{r['failed']:>8}{r['differing']:>8}")
    print(f"{'limits':<26}{'':>14}{f'< {FIRST_BYTE_LIMIT_MS:.0f}':>13}{f'< {WHOLE_LIMIT_MS:.0f}':>10}"
          f"{'O(1)':>14}{'O(1)':>14}{'finish':>14}")
    for path in FEEDS:
        r = results[path]
        ok = r["first_byte"] * 1000 < FIRST_BYTE_LIMIT_MS and r["whole"] * 1000 < WHOLE_LIMIT_MS and not (
            r["failed"] or r["differing"])
        print(f"  {path}: {'met' if ok else 'MISSED'}")
        selects, kept, batches = statements[path]
        emit(f"{path} first byte", round(r["first_byte"] * 1000, 1), "ms", limit=f"< {FIRST_BYTE_LIMIT_MS:.0f} ms",
             ok=r["first_byte"] * 1000 < FIRST_BYTE_LIMIT_MS)
        emit(f"{path} whole", round(r["whole"] * 1000, 1), "ms", limit=f"< {WHOLE_LIMIT_MS:.0f} ms",
             ok=r["whole"] * 1000 < WHOLE_LIMIT_MS, note=f"{r['lines']} lines, {r['bytes']:,} bytes")
        emit(f"{path} SELECT per batch", round(selects / batches, 2), "", limit="O(1)", ok=None,
             note=f"{selects} statements, {batches} batches (every line built)")
        emit(f"{path} SELECT per batch, lines kept", round(kept / batches, 2), "", limit="O(1)", ok=None,
             note=f"{kept} statements, {batches} batches (a second read)")
        emit(f"{path} {args.clients} clients", round(r["wall"], 2), "s", limit="all finish",
             ok=not (r["failed"] or r["differing"]), note=f"slowest {r['slowest']:.2f} s")
    print(f"draw records checked by scripts/verify_draw.py: {results['/api/draws.jsonl']['lines'] - bad} OK, "
          f"{bad} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3200)
    parser.add_argument("--drawn", type=int, default=2160)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the filled database (and reuse a kept one)")
    args = parser.parse_args(argv)
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
