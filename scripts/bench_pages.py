"""Benchmark the public pages against the app's bare JSON endpoint: PostgreSQL + Redis, 2 app processes.

    .venv/bin/python scripts/bench_pages.py [--concurrency 16] [--seconds 8] [--keep-database]

What it does (a benchmark, not a test; only 127.0.0.1 traffic, every loop bounded):
1. (re)creates the database ``market_bench_pages`` on postgresql://postgres@127.0.0.1:5432, migrates
   it with ``python -m app migrate`` and loads the demo data (scripts/seed_demo.py) into it
   (``--keep-database`` keeps a loaded database for the next run and skips this step);
2. flushes redis://127.0.0.1:6379/12 and starts ``python -m app serve --workers 2`` on a free port;
3. logs the demo agency user in (fresh one-time passwords, as ``scripts/dev.py seed`` gives them);
4. measures, one after the other with the same load shape (``concurrency`` requests in flight until
   ``seconds`` pass), each page right after GET /api/csrf (signed in: the bare endpoint): /jobs,
   /api/jobs, the notice of a drawn job (anonymously, and signed in for information), an agency's
   public page and its credit profile, the savings report, the rankings anonymously and signed in;
   none sends HTTP cache headers, so every response is made by the app;
5. prints req/s, p50, p99, errors and each page's ratio to the bare run just before it, beside the
   target (25%, or 60% for the anonymous rankings); stops the server, drops the database (unless
   ``--keep-database``), flushes Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.main  # noqa: F401  (the composition root: wires the domains' ports and tasks)
from app.db import make_engine, make_sessionmaker
from app.settings import normalise_database_url
from scripts.bench_report import emit

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "market_bench_pages"
REDIS_URL = "redis://127.0.0.1:6379/12"
URL = f"{PG_SERVER}/{DB_NAME}"


@dataclass
class Result:
    name: str
    target: float | None = None
    bare: float | None = None  # the bare endpoint's req/s measured just before
    sent: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


async def admin_sql(*statements: str) -> list:
    engine = make_engine(normalise_database_url(f"{PG_SERVER}/postgres"))
    out = []
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for s in statements:
                result = await conn.execute(text(s))
                out.append(result.all() if result.returns_rows else None)
    finally:
        await engine.dispose()
    return out


async def database_exists() -> bool:
    rows = (await admin_sql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"))[0]
    return bool(rows)


async def drop_database() -> None:
    await admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


async def flush_redis() -> None:
    from redis.asyncio import Redis

    r = Redis.from_url(REDIS_URL)
    try:
        await r.flushdb()
    finally:
        await r.aclose()


async def load_demo() -> None:
    from scripts.seed_demo import seed

    engine = make_engine(normalise_database_url(URL))
    try:
        await seed(make_sessionmaker(engine), progress=False)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def targets() -> tuple[dict[str, str], str, str]:
    """Fresh demo passwords, a drawn job's number and an approved agency with won jobs."""
    from scripts.seed_demo import reset_demo_passwords

    engine = make_engine(normalise_database_url(URL))
    try:
        creds = await reset_demo_passwords(make_sessionmaker(engine))
        async with engine.connect() as conn:
            job_no = (await conn.execute(text(
                "SELECT j.job_no FROM job j JOIN selection s ON s.job_id = j.id "
                "WHERE j.status IN ('awarded', 'contracted', 'completed', 'rated') ORDER BY j.id DESC LIMIT 1"))).scalar_one()
            code = (await conn.execute(text(
                "SELECT a.credit_code FROM agency a JOIN agency_credit c ON c.agency_id = a.id "
                "WHERE a.status = 'approved' ORDER BY c.rating_count DESC, a.id LIMIT 1"))).scalar_one()
    finally:
        await engine.dispose()
    return creds, job_no, code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_load(name: str, clients: list[httpx.AsyncClient], path: str, concurrency: int, seconds: float,
                   target: float | None) -> Result:
    """`concurrency` GETs of `path` in flight (one per client at a time) until `seconds` pass."""
    res = Result(name, target)
    started = time.perf_counter()
    stop_at = started + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop_at:
            res.sent += 1
            t0 = time.perf_counter()
            try:
                status = (await client.get(path)).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            res.latencies.append(time.perf_counter() - t0)
            res.statuses[status] += 1
            if status != 200:
                res.errors += 1

    await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(concurrency)))
    res.elapsed = time.perf_counter() - started
    return res


async def bench(args) -> list[Result]:
    if not (args.keep_database and await database_exists()):
        print(f"database {DB_NAME}: recreating, migrating and loading the demo …", flush=True)
        await drop_database()
        await admin_sql(f"CREATE DATABASE {DB_NAME}")
        fresh = True
    else:
        print(f"database {DB_NAME}: kept from the last run; migrating", flush=True)
        fresh = False
    server = None
    var_dir = tempfile.mkdtemp(prefix="market-bench-pages-")
    env = {**os.environ, "DATABASE_URL": URL, "REDIS_URL": REDIS_URL, "HOST": "127.0.0.1",
           "SECRET_KEY": secrets.token_urlsafe(48), "MARKET_VAR_DIR": var_dir}
    clients: list[httpx.AsyncClient] = []
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        if fresh:
            t0 = time.perf_counter()
            await load_demo()
            print(f"demo loaded ({time.perf_counter() - t0:.0f} s)")
        creds, job_no, code = await targets()
        await flush_redis()
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
        print(f"server: python -m app serve --workers {args.workers} on {base} (pid {server.pid}); "
              f"notice {job_no}, agency {code}")
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        username, password = creds["agency"]
        first = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
        clients.append(first)
        token = (await first.get("/api/csrf")).json()["csrf_token"]
        r = await first.post("/api/auth/login", json={"username": username, "password": password},
                             headers={"x-csrf-token": token})
        r.raise_for_status()
        # One session, several connections: each client holds the signed-in user's cookie.
        users = [first] + [httpx.AsyncClient(base_url=base, timeout=30, limits=limits, cookies=first.cookies)
                           for _ in range(args.clients - 1)]
        anonymous = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(args.clients)]
        clients.extend(users[1:] + anonymous)
        shape = {"concurrency": args.concurrency, "seconds": args.seconds}
        await run_load("warm-up", users, "/api/csrf", args.concurrency, 2, None)
        plan = [("GET /jobs", anonymous, "/jobs", 0.25),
                ("GET /jobs?page=2", anonymous, "/jobs?page=2", 0.25),
                ("GET /api/jobs", anonymous, "/api/jobs", 0.25),
                (f"GET /jobs/{job_no} (drawn)", anonymous, f"/jobs/{job_no}", 0.25),
                (f"GET /jobs/{job_no} (signed in)", users, f"/jobs/{job_no}", None),
                ("GET /agencies/{code}", anonymous, f"/agencies/{code}", 0.25),
                ("GET /agencies/{code}/profile", anonymous, f"/agencies/{code}/profile", 0.25),
                ("GET /reports/savings", anonymous, "/reports/savings", 0.25),
                ("GET /rankings (anonymous)", anonymous, "/rankings", 0.60),
                ("GET /rankings (signed in)", users, "/rankings", 0.25)]
        results = []
        for name, group, path, target in plan:
            for c in group[:2]:  # every page answers before it is measured
                (await c.get(path)).raise_for_status()
            # The bare endpoint right before each page: the machine is shared, so each page is compared
            # with what the framework did in the same minute.
            bare = await run_load("GET /api/csrf (bare, signed in)", users, "/api/csrf", target=None, **shape)
            res = await run_load(name, group, path, target=target, **shape)
            res.bare = bare.rate
            results += [bare, res]
            print(f"  {name}: {res.rate:.1f} req/s (bare {bare.rate:.1f})", flush=True)
        return results
    finally:
        for c in clients:
            await c.aclose()
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)  # uvicorn stops its workers and exits
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # its own process group: only what we started
                server.wait(timeout=10)
        if not args.keep_database:
            await drop_database()
        await flush_redis()
        print(f"stopped the server{'' if args.keep_database else f', dropped {DB_NAME}'}, flushed {REDIS_URL}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clients", type=int, default=8, help="HTTP clients per kind (2 connections each)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--keep-database", action="store_true",
                        help="reuse a loaded market_bench_pages and keep it afterwards")
    args = parser.parse_args(argv)
    results = asyncio.run(bench(args))
    print()
    print(f"{args.workers} app processes, concurrency {args.concurrency}, {args.seconds:g} s per route; "
          f"{os.cpu_count()} CPUs shared with PostgreSQL, Redis and this client")
    head = (f"{'route':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'of bare':>8} "
            f"{'target':>7} {'':>4}")
    print(head)
    print("-" * len(head))
    for r in results:
        ratio = r.rate / r.bare if r.bare else 1.0
        verdict = "" if r.target is None else ("ok" if ratio >= r.target else "LOW")
        target = "" if r.target is None else f"{r.target:.0%}"
        print(f"{r.name:<44} {r.rate:>8.1f} {r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f} {r.errors:>7} "
              f"{ratio:>8.1%} {target:>7} {verdict:>4}")
        if r.errors:
            print(f"{'':<44} statuses: {dict(r.statuses)}")
    emit_measures(results)
    return 0


def emit_measures(results: list[Result]) -> None:
    """Each page's ratio to the bare run just before it, as BENCH lines (scripts/bench_report.py) for
    scripts/bench.py's table, with the issue's limit (none for the signed-in notice, shown for information);
    a page that answered with errors never counts as met."""
    for r in results:
        if r.bare is None:  # a bare run: it is in its page's note
            continue
        ratio = r.rate / r.bare if r.bare else 0.0
        errors = f"; {r.errors} errors {dict(r.statuses)}" if r.errors else ""
        emit(f"{r.name} ÷ bare", round(ratio, 4), "ratio", limit="" if r.target is None else f"≥ {r.target:.0%}",
             ok=None if r.target is None else ratio >= r.target and not r.errors,
             note=f"{r.rate:.1f} req/s vs bare {r.bare:.1f}; p99 {r.pct(0.99):.0f} ms{errors}")


if __name__ == "__main__":
    sys.exit(main())
