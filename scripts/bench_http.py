"""Benchmark quote submission over HTTP beside its yardsticks: PostgreSQL + Redis, N app processes.

    python scripts/bench_http.py [--workers 1,2,4] [--agencies 200] [--concurrency 32] [--seconds 10]
                                 [--requests 5000] [--pgbench-seconds 10]

What it does (a benchmark, not a test; only 127.0.0.1 traffic, every loop and every process bounded):
1. (re)creates the database ``market_bench`` on postgresql://postgres@127.0.0.1:5432 and migrates it with
   ``python -m app migrate``;
2. through the services, in this process: one approved owner, N approved agencies (passwords, an EIA
   qualification each) and one published EIA job with a far deadline and a high cap;
3. counts, in this process (the app served by an in-process ASGI transport), the SQL statements and the
   PostgreSQL round trips of one quote submission (pings, BEGIN/COMMIT/ROLLBACK, prepares included), and
   those made while the audit-chain lock is held;
4. runs pgbench TPC-B on its own database ``market_bench_pgb`` (``pgbench -i -s 10``, then
   ``pgbench -c 32 -j 2 -T <s> -M prepared``): the machine's yardstick for small write transactions;
5. for each process count of ``--workers``: flushes redis://127.0.0.1:6379/14, starts
   ``python -m app serve --workers N``, logs every agency in (one httpx client, i.e. one session, per agency)
   and runs the same load shape, ``concurrency`` requests in flight until ``seconds`` pass or ``requests``
   have been sent, on POST /api/jobs/{job}/quote (each agency replacing its own quote at a new price; an
   agency never has two requests in flight) and on GET /api/csrf (the bare JSON route: session lookup in
   Redis, CSRF token, JSON); then starts scripts/bench_peer_app.py (plain Litestar + asyncpg, one INSERT per
   request) under uvicorn with the same N and loads its POST /peer;
6. prints requests/s, p50, p99 and errors of each, and the ratios quote ÷ pgbench, quote ÷ bare and
   quote ÷ peer; stops every server it started, drops both databases and flushes the Redis database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.main  # noqa: E402,F401  (the composition root: wires the domains' ports and tasks)
from app.audit import verify_stored_chain  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.settings import Settings, normalise_database_url  # noqa: E402
from marketplace.schemas import JobIn  # noqa: E402
from marketplace.services.jobs import create_job, publish_job  # noqa: E402
from scripts.bench_population import Population, owner_and_agencies  # noqa: E402
from scripts.bench_report import emit

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "market_bench"
PGBENCH_DB = "market_bench_pgb"
REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "bench-quote-Lantern-42"
CAP = Decimal("1000000.00")
PEOPLE = Population(actor="bench", password=PASSWORD, owner="benchowner", owner_name="压测市住房和城乡建设局",
                    agency="benchag{i:04d}", agency_name="压测环境咨询第{i}有限公司", certificate="EIA-B-{i:05d}")
PG_ENV = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}
QUOTE_OF_PGBENCH, P99_LIMIT_MS = 0.25, 100.0  # issue 9: quote ÷ pgbench TPC-B ≥ 25%, p99 < 100 ms at 32 connections


# ---- setup ------------------------------------------------------------------------------------


async def recreate_database(name: str, create: bool) -> None:
    admin = make_engine(normalise_database_url(f"{PG_SERVER}/postgres"))
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            if create:
                await conn.execute(text(f"CREATE DATABASE {name}"))
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
        async with engine.begin() as conn:  # the peer app's table
            await conn.execute(text("CREATE TABLE bench_peer (id bigserial PRIMARY KEY, price numeric(14, 2) NOT NULL,"
                                    " at timestamptz NOT NULL)"))
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
    workers: int = 0
    sent: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0


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


def price_source(seed: int) -> Callable[[], str]:
    rng = random.Random(seed)

    def price() -> str:
        return f"{CAP * Decimal(rng.randint(5500, 9900)) / 10000 + Decimal(rng.randint(0, 99)) / 100:.2f}"

    return price


# ---- processes --------------------------------------------------------------------------------


@asynccontextmanager
async def serving(argv: list[str], env: dict[str, str], log_path: Path, port: int, ready_path: str):
    """Start a server process in its own process group, wait until `ready_path` answers; stop it on exit."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env={**env, "PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as probe:
            for _ in range(150):  # at most 30 s
                if proc.poll() is not None:
                    raise SystemExit(f"{argv[2]} exited ({proc.returncode}); see {log_path}")
                try:
                    if (await probe.get(ready_path)).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise SystemExit(f"{argv[2]} did not become ready in 30 s; see {log_path}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn stops its workers and exits
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own process group: only what we started
                proc.wait(timeout=10)
        log.close()


def run_pgbench(seconds: float, var_dir: str) -> float | None:
    """TPC-B tps of `pgbench -c 32 -j 2 -M prepared` on its own scale-10 database (None: pgbench missing)."""
    env = {**os.environ, **PG_ENV}
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", PGBENCH_DB], env=env, check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run(["pgbench", "-c", "32", "-j", "2", "-T", str(max(1, round(seconds))), "-M", "prepared",
                              PGBENCH_DB], env=env, check=True, timeout=seconds + 120, capture_output=True, text=True)
    except FileNotFoundError:
        return None
    Path(var_dir, "pgbench.log").write_text(out.stdout + out.stderr)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
    return float(m.group(1)) if m else None


# ---- statements per quote ---------------------------------------------------------------------


class _CountingProtocol:
    """Stands in for an asyncpg connection's protocol: counts every message exchange with the server."""

    _WIRE = {"query", "prepare", "bind_execute", "bind_execute_many", "bind", "execute", "close_statement",
             "copy_in", "copy_out"}

    def __init__(self, inner: Any, counter: "RoundTrips") -> None:
        self._inner, self._counter = inner, counter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self._WIRE:
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            sql = args[0] if name == "query" else getattr(args[0], "query", "") if args else ""
            if name == "prepare":
                sql = args[1] if len(args) > 1 else ""
            self._counter.saw(name, sql if isinstance(sql, str) else "")
            return value(*args, **kwargs)

        return counted


@dataclass
class RoundTrips:
    on: bool = False
    total: int = 0
    under_lock: int = 0
    locked: bool = False
    statements: int = 0  # as SQLAlchemy sends them (before_cursor_execute)
    cpu_seconds: float = 0.0  # this process's CPU over the counted quotes (the app and the in-process client)
    kinds: Counter = field(default_factory=Counter)
    trace: list[str] = field(default_factory=list)

    def saw(self, wire: str, sql: str) -> None:
        if not self.on:
            return
        words = sql.strip().rstrip(";").split()
        head = words[0].upper() if words else "(empty: the pool's ping)"
        if "pg_advisory_xact_lock" in sql:
            self.locked = True
        if self.locked:
            self.under_lock += 1
        if head in {"COMMIT", "ROLLBACK"}:
            self.locked = False
        self.total += 1
        self.kinds[f"{wire} {head}"] += 1
        self.trace.append(f"{wire:<12} {' '.join(words)[:110] or sql!r}")


async def count_round_trips(url: str, job_no: str, username: str, quotes: int = 20) -> tuple[RoundTrips, int]:
    """Submit `quotes` quotes through the app in this process (ASGI transport, same settings as the server)
    after a warm-up, counting statements and round trips on the app's engine; (counts, quotes counted)."""
    settings = Settings(database_url=normalise_database_url(url), redis_url=REDIS_URL,
                        secret_key=secrets.token_urlsafe(48), var_dir=Path(tempfile.mkdtemp(prefix="market-rt-")))
    application = app.main.create_app(settings, start_jobs=False)
    counter = RoundTrips()
    sync_engine = application.state.engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _wrap(dbapi_conn, _record) -> None:
        raw = dbapi_conn._connection  # the asyncpg connection under SQLAlchemy's adapter
        raw._protocol = _CountingProtocol(raw._protocol, counter)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _count(*_args) -> None:
        if counter.on:
            counter.statements += 1

    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()
    life = asyncio.create_task(application({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    price = price_source(7)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://127.0.0.1") as client:
            agent = Agent(client)
            await login(agent, username)
            for i in range(quotes + 3):
                if i == 3:  # warm: prepared statements cached, pool filled
                    counter.on, counter.trace = True, []
                    cpu = time.process_time()
                if i == 4:
                    counter.trace_one = list(counter.trace)  # type: ignore[attr-defined]
                r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": price(), "service_days": 45},
                                      headers={"x-csrf-token": agent.csrf})
                assert r.status_code == 201, r.text
            counter.on = False
            counter.cpu_seconds = time.process_time() - cpu
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await life
        await application.state.engine.dispose()
    return counter, quotes


# ---- the run ----------------------------------------------------------------------------------


async def measure_app(args, workers: int, env: dict[str, str], var_dir: str, job_no: str,
                      usernames: list[str]) -> list[Result]:
    """Quote submissions and the bare JSON route against `python -m app serve --workers N`."""
    await flush_redis()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients: list[httpx.AsyncClient] = []
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with serving([sys.executable, "-m", "app", "serve", "--workers", str(workers)], env,
                       Path(var_dir) / f"server-{workers}.log", port, "/healthz"):
        try:
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
            print(f"  {workers} app process(es) on {base}: logged in {len(agents)} agencies "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
            price = price_source(workers)

            def quote(agent: Agent) -> Awaitable[httpx.Response]:
                return agent.client.post(f"/api/jobs/{job_no}/quote", json={"price": price(), "service_days": 45},
                                         headers={"x-csrf-token": agent.csrf})

            def csrf(agent: Agent) -> Awaitable[httpx.Response]:
                return agent.client.get("/api/csrf")

            shape = dict(concurrency=args.concurrency, seconds=args.seconds, max_requests=args.requests)
            await run_load("warm-up", agents, csrf, 200, args.concurrency, 2, 200)
            await run_load("warm-up", agents, quote, 201, args.concurrency, 2, 100)
            results = [await run_load("quote: POST /api/jobs/{job}/quote", agents, quote, 201, **shape),
                       await run_load("bare: GET /api/csrf", agents, csrf, 200, **shape)]
        finally:
            for c in clients:
                await c.aclose()
    for r in results:
        r.workers = workers
    return results


async def measure_peer(args, workers: int, env: dict[str, str], var_dir: str) -> Result:
    """POST /peer (one INSERT through Litestar + asyncpg) under uvicorn with `workers` processes."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "scripts.bench_peer_app:app", "--host", "127.0.0.1", "--port",
            str(port), "--workers", str(workers), "--log-level", "info"]
    async with serving(argv, {**env, "PEER_DSN": f"{PG_SERVER}/{DB_NAME}"}, Path(var_dir) / f"peer-{workers}.log",
                       port, "/peer"):
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as client:
            agents = [Agent(client) for _ in range(args.concurrency)]
            price = price_source(100 + workers)

            def insert(agent: Agent) -> Awaitable[httpx.Response]:
                return agent.client.post("/peer", json={"price": price()})

            await run_load("warm-up", agents, insert, 201, args.concurrency, 2, 100)
            res = await run_load("peer: POST /peer (1 INSERT)", agents, insert, 201, concurrency=args.concurrency,
                                 seconds=args.seconds, max_requests=args.requests)
    res.workers = workers
    return res


async def bench(args) -> tuple[float | None, RoundTrips, int, list[Result]]:
    url = f"{PG_SERVER}/{DB_NAME}"
    print(f"database {DB_NAME}: recreating and migrating …", flush=True)
    await recreate_database(DB_NAME, create=True)
    var_dir = tempfile.mkdtemp(prefix="market-bench-")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "HOST": "127.0.0.1",
           "SECRET_KEY": secrets.token_urlsafe(48), "MARKET_VAR_DIR": var_dir}
    results: list[Result] = []
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        job_no, usernames = await populate(url, args.agencies)
        print(f"populated: 1 owner, {len(usernames)} agencies, job {job_no} ({time.perf_counter() - t0:.1f} s)")
        await flush_redis()
        trips, counted = await count_round_trips(url, job_no, usernames[-1])
        print(f"counted the statements of {counted} quotes in this process", flush=True)
        tps = None
        if args.pgbench_seconds > 0:
            print(f"pgbench: -i -s 10 on {PGBENCH_DB}, then -c 32 -j 2 -T {args.pgbench_seconds:g} -M prepared …",
                  flush=True)
            await recreate_database(PGBENCH_DB, create=True)
            tps = run_pgbench(args.pgbench_seconds, var_dir)
            await recreate_database(PGBENCH_DB, create=False)
        for workers in args.workers:
            results += await measure_app(args, workers, env, var_dir, job_no, usernames)
            if not args.no_peer:
                results.append(await measure_peer(args, workers, env, var_dir))
        engine = make_engine(normalise_database_url(url))
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text("SELECT status, count(*) FROM quote GROUP BY status"))).all()
                events = (await conn.execute(text("SELECT count(*) FROM audit_event"))).scalar_one()
                unpriced = (await conn.execute(text("SELECT count(*) FROM quote WHERE price IS NULL "
                                                    "OR receipt = '' OR nonce = ''"))).scalar_one()
            async with make_sessionmaker(engine)() as s:
                chain = await verify_stored_chain(s)
        finally:
            await engine.dispose()
        print(f"quotes in the database: {dict(rows)} ({unpriced} without price, nonce or receipt); audit events: "
              f"{events}, chain {'OK' if chain.ok else f'BROKEN at {chain.broken_seq}'} ({chain.checked} checked); "
              f"logs in {var_dir}")
        return tps, trips, counted, results
    finally:
        await recreate_database(DB_NAME, create=False)
        await recreate_database(PGBENCH_DB, create=False)
        await flush_redis()
        print(f"stopped the servers, dropped {DB_NAME} and {PGBENCH_DB}, flushed {REDIS_URL}")


def report(args, tps: float | None, trips: RoundTrips, counted: int, results: list[Result]) -> None:
    print()
    print(f"per quote (in-process count over {counted} quotes, warm): {trips.statements / counted:.1f} SQL statements, "
          f"{trips.total / counted:.1f} round trips to PostgreSQL, {trips.under_lock / counted:.1f} of them while "
          f"the audit-chain lock is held; {trips.cpu_seconds / counted * 1000:.2f} ms CPU per quote in this process "
          "(app + in-process client)")
    for kind, n in sorted(trips.kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n / counted:>5.1f}  {kind}")
    print("one quote's round trips, in order:")
    for line in getattr(trips, "trace_one", []):
        print(f"  {line}")
    print()
    print(f"{args.agencies} agency sessions, concurrency {args.concurrency}, limit {args.seconds:g} s or "
          f"{args.requests} requests per measure; {os.cpu_count()} CPUs shared with PostgreSQL, Redis and this client")
    print(f"pgbench TPC-B (-c 32 -j 2 -M prepared, scale 10): "
          + (f"{tps:.0f} tps" if tps else "not measured"))
    head = (f"{'procs':>5} {'route':<36} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r.workers:>5} {r.name:<36} {r.sent:>8} {r.rate:>8.1f} {r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f} "
              f"{r.errors:>7}")
        if r.errors:
            print(f"{'':<42} statuses: {dict(r.statuses)}")
    print()
    print(f"{'procs':>5} {'quote req/s':>11} {'÷ pgbench':>10} {'÷ bare':>8} {'÷ peer':>8}   target: ÷ pgbench ≥ 25%,"
          " p99 < 100 ms")
    for workers in args.workers:
        by = {r.name.split(":")[0]: r for r in results if r.workers == workers}
        q = by.get("quote")
        if q is None:
            continue

        def ratio(other: float | None) -> str:
            return f"{q.rate / other:.1%}" if other else "—"

        print(f"{workers:>5} {q.rate:>11.1f} {ratio(tps):>10} {ratio(by['bare'].rate if 'bare' in by else None):>8} "
              f"{ratio(by['peer'].rate if 'peer' in by else None):>8}   p99 {q.pct(0.99):.0f} ms")
    emit_measures(args, tps, trips, counted, results)


def emit_measures(args, tps: float | None, trips: RoundTrips, counted: int, results: list[Result]) -> None:
    """The figures above as BENCH lines (scripts/bench_report.py) for scripts/bench.py's table: the issue's
    targets with their limits (a measure with errors never counts as met), the other ratios and the per-quote
    counts for information."""
    emit("pgbench TPC-B (-c 32 -j 2, scale 10)", round(tps, 1) if tps else "not measured", "tps" if tps else "")
    emit("SQL statements per quote", round(trips.statements / counted, 1), "", note="in-process count, warm")
    emit("round trips per quote", round(trips.total / counted, 1), "",
         note=f"{trips.under_lock / counted:.1f} while the audit-chain lock is held")
    emit("web CPU per quote", round(trips.cpu_seconds / counted * 1000, 2), "ms", note="app + in-process client")
    at = f"{args.concurrency} in flight"
    for workers in args.workers:
        by = {r.name.split(":")[0]: r for r in results if r.workers == workers}
        q = by.get("quote")
        if q is None:
            continue
        procs = f"{workers} web process{'es' if workers > 1 else ''}"
        errors = f"; {q.errors} errors {dict(q.statuses)}" if q.errors else ""
        emit(f"quote ÷ pgbench TPC-B ({procs})", round(q.rate / tps, 4) if tps else "not measured",
             "ratio" if tps else "", limit=f"≥ {QUOTE_OF_PGBENCH:.0%}",
             ok=(q.rate / tps >= QUOTE_OF_PGBENCH and not q.errors) if tps else None,
             note=f"quote {q.rate:.1f} req/s" + (f", pgbench {tps:.0f} tps" if tps else "") + errors)
        p99 = q.pct(0.99)
        emit(f"quote p99 ({procs}, {at})", round(p99, 1), "ms",
             limit=f"< {P99_LIMIT_MS:.0f} ms" + ("" if args.concurrency == 32 else " at 32"),
             ok=p99 < P99_LIMIT_MS and not q.errors if args.concurrency == 32 else None,
             note=f"p50 {q.pct(0.50):.1f} ms, {q.sent} requests" + errors)
        for other in ("bare", "peer"):
            if other in by:
                o = by[other]
                emit(f"quote ÷ {other} {o.name.split(': ', 1)[1]} ({procs})", round(q.rate / o.rate, 4) if o.rate else 0.0,
                     "ratio", note=f"{other} {o.rate:.1f} req/s, p99 {o.pct(0.99):.1f} ms"
                     + (f"; {o.errors} errors {dict(o.statuses)}" if o.errors else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4],
                        help="app (and peer) process counts to measure, e.g. 1,2,4")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--pgbench-seconds", type=float, default=10.0, help="0: skip pgbench")
    parser.add_argument("--no-peer", action="store_true", help="skip the plain Litestar + asyncpg peer")
    args = parser.parse_args(argv)
    tps, trips, counted, results = asyncio.run(bench(args))
    report(args, tps, trips, counted, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
