"""Benchmark sealed-quote submission over HTTP: PostgreSQL + Redis, 2 app processes.

    python scripts/bench_http.py [--agencies 200] [--concurrency 32] [--seconds 15] [--requests 5000]

What it does (a benchmark, not a test; only 127.0.0.1 traffic, every loop bounded):
1. (re)creates the database ``market_bench`` on postgresql://postgres@127.0.0.1:5432
   and migrates it with ``python -m app migrate``;
2. through the services, in this process: one approved owner, N approved agencies
   (passwords, an EIA qualification each) and one published EIA job with a far
   deadline and a high cap;
3. flushes redis://127.0.0.1:6379/14 and starts ``python -m app serve --workers 2``
   on a free port;
4. logs every agency in (one httpx client, i.e. one session, per agency);
5. runs the same load shape twice, ``concurrency`` requests in flight until
   ``seconds`` pass or ``requests`` have been sent: POST /api/jobs/{job}/quote
   (each agency replacing its own quote at a new price; an agency never has two
   requests in flight), then GET /api/csrf, the cheapest JSON route (no database:
   session lookup in Redis, CSRF token, JSON) as the framework baseline;
6. prints requests/s, p50, p99 and errors of each; stops the server, drops the
   database and flushes the Redis database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Awaitable, Callable

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.main  # noqa: E402,F401  (the composition root: wires the domains' ports and tasks)
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.settings import normalise_database_url  # noqa: E402
from marketplace.schemas import JobIn  # noqa: E402
from marketplace.services.jobs import create_job, publish_job  # noqa: E402
from scripts.bench_population import Population, owner_and_agencies  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "market_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "bench-quote-Lantern-42"
CAP = Decimal("1000000.00")
PEOPLE = Population(actor="bench", password=PASSWORD, owner="benchowner", owner_name="压测市住房和城乡建设局",
                    agency="benchag{i:04d}", agency_name="压测环境咨询第{i}有限公司", certificate="EIA-B-{i:05d}")


# ---- setup ------------------------------------------------------------------------------------


async def recreate_database(create: bool) -> None:
    admin = make_engine(normalise_database_url(f"{PG_SERVER}/postgres"))
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
            if create:
                await conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    finally:
        await admin.dispose()


async def flush_redis() -> None:
    from redis.asyncio import Redis

    r = Redis.from_url(REDIS_URL)
    try:
        await r.flushdb()
    finally:
        await r.aclose()


async def populate(url: str, agencies: int) -> tuple[str, list[str]]:
    """Owner, agencies and a published job, made through the services; (job_no, agency usernames)."""
    engine = make_engine(normalise_database_url(url))
    sm = make_sessionmaker(engine)
    try:
        limit = asyncio.Semaphore(8)  # argon2 hashing is the slow part; the pool has 10 connections
        user, made = await owner_and_agencies(sm, PEOPLE, agencies, random.Random(20261127), limit)
        async with sm() as s:
            job = await create_job(s, user, JobIn(
                title="压测项目环境影响评价", project_name="压测项目", project_code="BENCH-0001", category_code="EIA",
                item_code="EIA-01",
                min_level=3, budget_cap=CAP, method="random", state_funded=True,
                quote_deadline=datetime.now(timezone.utc) + timedelta(days=30), service_days=60))
            job = await publish_job(s, user, job.job_no)
        return job.job_no, [username for username, _ in made]
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- load -------------------------------------------------------------------------------------


@dataclass
class Agent:
    client: httpx.AsyncClient
    csrf: str = ""


@dataclass
class Result:
    name: str
    sent: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


async def login(agent: Agent, username: str) -> None:
    token = (await agent.client.get("/api/csrf")).json()["csrf_token"]
    r = await agent.client.post("/api/auth/login", json={"username": username, "password": PASSWORD},
                                headers={"x-csrf-token": token})
    r.raise_for_status()
    agent.csrf = r.json()["csrf_token"]


async def run_load(name: str, agents: list[Agent], request: Callable[[Agent], Awaitable[httpx.Response]],
                   expected: int, concurrency: int, seconds: float, max_requests: int) -> Result:
    """`concurrency` requests in flight, each agent used by one request at a time; stop on time or count."""
    res = Result(name)
    idle: asyncio.Queue[Agent] = asyncio.Queue()
    for a in agents:
        idle.put_nowait(a)
    started = time.perf_counter()
    stop_at = started + seconds

    async def worker() -> None:
        while res.sent < max_requests and time.perf_counter() < stop_at:
            res.sent += 1
            agent = await idle.get()
            t0 = time.perf_counter()
            try:
                r = await request(agent)
                status = r.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            res.latencies.append(time.perf_counter() - t0)
            res.statuses[status] += 1
            if status != expected:
                res.errors += 1
            idle.put_nowait(agent)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    res.elapsed = time.perf_counter() - started
    return res


async def bench(args) -> list[Result]:
    url = f"{PG_SERVER}/{DB_NAME}"
    print(f"database {DB_NAME}: recreating and migrating …", flush=True)
    await recreate_database(create=True)
    server = None
    var_dir = tempfile.mkdtemp(prefix="market-bench-")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "HOST": "127.0.0.1",
           "SECRET_KEY": secrets.token_urlsafe(48), "MARKET_VAR_DIR": var_dir}
    clients: list[httpx.AsyncClient] = []
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        job_no, usernames = await populate(url, args.agencies)
        print(f"populated: 1 owner, {len(usernames)} agencies, job {job_no} ({time.perf_counter() - t0:.1f} s)")
        await flush_redis()
        port = free_port()
        env["PORT"] = str(port)
        log = open(Path(var_dir) / "server.log", "wb")
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--workers", str(args.workers)], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
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
        print(f"server: python -m app serve --workers {args.workers} on {base} (pid {server.pid})")
        agents = []
        for _ in usernames:
            c = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
            clients.append(c)
            agents.append(Agent(c))
        sem = asyncio.Semaphore(16)

        async def log_in(agent: Agent, username: str) -> None:
            async with sem:
                await login(agent, username)

        t0 = time.perf_counter()
        await asyncio.gather(*(log_in(a, u) for a, u in zip(agents, usernames)))
        print(f"logged in {len(agents)} agencies ({time.perf_counter() - t0:.1f} s)")

        rng = random.Random(1)

        def quote(agent: Agent) -> Awaitable[httpx.Response]:
            price = (CAP * Decimal(rng.randint(5500, 9900)) / 10000 + Decimal(rng.randint(0, 99)) / 100)
            return agent.client.post(f"/api/jobs/{job_no}/quote", json={"price": f"{price:.2f}", "service_days": 45},
                                     headers={"x-csrf-token": agent.csrf})

        def csrf(agent: Agent) -> Awaitable[httpx.Response]:
            return agent.client.get("/api/csrf")

        shape = dict(concurrency=args.concurrency, seconds=args.seconds, max_requests=args.requests)
        await run_load("warm-up", agents, csrf, 200, args.concurrency, 2, 200)
        results = [await run_load(f"POST /api/jobs/{job_no}/quote", agents, quote, 201, **shape),
                   await run_load("GET /api/csrf (no database)", agents, csrf, 200, **shape)]
        engine = make_engine(normalise_database_url(url))
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text("SELECT status, count(*) FROM quote GROUP BY status"))).all()
                events = (await conn.execute(text("SELECT count(*) FROM audit_event"))).scalar_one()
        finally:
            await engine.dispose()
        print(f"quotes in the database: {dict(rows)}; audit events: {events}")
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
        await recreate_database(create=False)
        await flush_redis()
        print(f"stopped the server, dropped {DB_NAME}, flushed {REDIS_URL}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args(argv)
    results = asyncio.run(bench(args))
    print()
    print(f"{args.workers} app processes, {args.agencies} agency sessions, concurrency {args.concurrency}, "
          f"limit {args.seconds:g} s or {args.requests} requests; {os.cpu_count()} CPUs shared with PostgreSQL, "
          "Redis and this client")
    head = f"{'route':<42} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r.name:<42} {r.sent:>8} {r.sent / r.elapsed:>8.1f} {r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f} "
              f"{r.errors:>7}")
        if r.errors:
            print(f"{'':<42} statuses: {dict(r.statuses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
