"""Benchmark: the memory of one web process after 200 logins (argon2id, m=19 MiB each) on PostgreSQL + Redis.

    .venv/bin/python scripts/bench_logins.py [--logins 200] [--concurrency 8] [--wrong 20] [--port 18150]
                                             [--database market_bench_logins] [--redis redis://127.0.0.1:6379/14]

What it does (a benchmark, not a test; only 127.0.0.1 traffic, every loop bounded):
1. creates the database ``market_bench_logins`` (dropped at the end unless BENCH_KEEP is set), migrates it
   and adds a few admin accounts (their passwords hashed with the production parameters);
2. flushes Redis database 14 and starts ``python -m app serve`` (one process: its pid is the web process);
3. reads VmRSS and VmHWM from /proc/<pid>/status after a warm-up, then logs in through POST /api/auth/login (CSRF
   token from GET /api/csrf first, as a browser's script does): a quarter of the logins one at a time, the rest
   `concurrency` at a time; `wrong` of them with a wrong password or an unknown user name, spread so that no
   login limit is reached (each still costs one argon2 verification);
4. reads the memory again right after, and after a few idle seconds; prints the figures and the BENCH lines
   (scripts/bench_report.py) with the issue's limit: RSS after 200 logins < 150 MB. Like the other benchmarks it
   reports and exits 0 whether or not the limit is met; 1 when a login did not answer as planned.
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.bench_credit import migrated_database
from scripts.bench_report import emit

LIMIT_MB = 150
ACCOUNTS = 8  # wrong passwords are spread over them: at most 4 per account (the lock comes at 5)


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of the process, in MB (10^6 bytes)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024 / 1e6
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def add_accounts(env: dict[str, str], password: str) -> list[str]:
    import app.main  # noqa: F401  (the composition root: every domain's tables are mapped)
    from app.accounts import create_admin
    from app.db import make_engine, make_sessionmaker
    from app.settings import normalise_database_url

    engine = make_engine(normalise_database_url(env["DATABASE_URL"]))
    names = [f"bench-login-{i}" for i in range(ACCOUNTS)]
    try:
        for name in names:
            async with make_sessionmaker(engine)() as session:
                await create_admin(session, name, password)
    finally:
        await engine.dispose()
    return names


async def flush_redis(url: str) -> None:
    from redis.asyncio import Redis

    r = Redis.from_url(url)
    try:
        await r.flushdb()
    finally:
        await r.aclose()


def plan(n: int, wrong: int, names: list[str], password: str) -> list[tuple[str, str, bool]]:
    """(user name, password, should succeed) for each login; the wrong ones evenly spaced, half of them
    unknown user names (the dummy hash is verified for those)."""
    every = max(1, n // wrong) if wrong else n + 1
    out, bad = [], 0
    for i in range(n):
        name = names[i % len(names)]
        if wrong and i % every == every - 1 and bad < wrong:
            out.append((f"nobody-{bad}", password, False) if bad % 2 else (name, password + "x", False))
            bad += 1
        else:
            out.append((name, password, True))
    return out


async def login(client: httpx.AsyncClient, username: str, password: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    token = (await client.get("/api/csrf")).json()["csrf_token"]
    r = await client.post("/api/auth/login", json={"username": username, "password": password},
                          headers={"x-csrf-token": token})
    return r.status_code, time.perf_counter() - t0


async def run(base: str, pid: int, logins: list[tuple[str, str, bool]], concurrency: int,
              idle: float) -> dict:
    statuses: Counter = Counter()
    unexpected = 0
    times: dict[tuple[str, bool], list[float]] = {(p, ok): [] for p in ("serial", "concurrent") for ok in (1, 0)}

    async def one(client: httpx.AsyncClient, item: tuple[str, str, bool], phase: str) -> None:
        nonlocal unexpected
        username, password, ok = item
        status, took = await login(client, username, password)
        statuses[status] += 1
        times[phase, ok].append(took)
        if (status == 200) != ok or status not in (200, 400, 422):
            unexpected += 1

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for _ in range(3):  # warm-up: the routes, templates and pools, no argon2
            (await client.get("/api/csrf")).raise_for_status()
        await asyncio.sleep(1)
        before = memory(pid)
        serial = len(logins) // 4
        t0 = time.perf_counter()
        for item in logins[:serial]:
            await one(client, item, "serial")
        queue = list(logins[serial:])

        async def slot() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=60) as own:
                while queue:
                    await one(own, queue.pop(0), "concurrent")

        await asyncio.gather(*(slot() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    after = memory(pid)
    await asyncio.sleep(idle)
    idle_after = memory(pid)
    return {"before": before, "after": after, "idle": idle_after, "statuses": statuses, "unexpected": unexpected,
            "elapsed": elapsed, "times": times, "serial": serial}


def median_ms(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2] * 1000 if xs else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--wrong", type=int, default=20, help="wrong passwords and unknown users (at most 28)")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds before the last reading")
    parser.add_argument("--port", type=int, default=18150, help="the app's port (0: a free one)")
    parser.add_argument("--database", default="market_bench_logins", help="created and dropped by this run")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="flushed before and after")
    args = parser.parse_args()
    # Failed logins count against the address (30 in the window) and the account (5): stay under both.
    wrong = min(args.wrong, 28, 4 * ACCOUNTS * 2 - 1)
    password = "bench-" + secrets.token_urlsafe(12)
    var, port = tempfile.mkdtemp(prefix="market-bench-logins-"), args.port or free_port()
    server = None
    with migrated_database(args.database, REDIS_URL=args.redis, MARKET_VAR_DIR=var, PORT=str(port), HOST="127.0.0.1",
                           SECRET_KEY=secrets.token_urlsafe(48)) as env:
        try:
            names = asyncio.run(add_accounts(env, password))
            asyncio.run(flush_redis(args.redis))
            with open(Path(var) / "server.log", "wb") as log:  # the child keeps its own descriptor
                server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--workers", "1"], cwd=ROOT,
                                          env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):  # at most 30 s
                if server.poll() is not None:
                    raise SystemExit(f"server exited ({server.returncode}); see {var}/server.log")
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit("server did not become ready in 30 s")
            logins = plan(args.logins, wrong, names, password)
            res = asyncio.run(run(base, server.pid, logins, args.concurrency, args.idle))
        finally:
            if server is not None and server.poll() is None:
                os.killpg(server.pid, signal.SIGINT)
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)  # its own process group: only what we started
                    server.wait(10)
            asyncio.run(flush_redis(args.redis))
    b, a, i = res["before"], res["after"], res["idle"]
    n = len(logins)
    print(f"\none web process (pid {server.pid}), {n} logins ({res['serial']} one at a time, the rest "
          f"{args.concurrency} at a time; {sum(1 for x in logins if not x[2])} wrong) in {res['elapsed']:.1f} s "
          f"({n / res['elapsed']:.1f}/s); statuses {dict(res['statuses'])}")
    for phase in ("serial", "concurrent"):
        print(f"median login (GET /api/csrf + POST /api/auth/login), {phase}: "
              f"{median_ms(res['times'][phase, True]):.0f} ms right password, "
              f"{median_ms(res['times'][phase, False]):.0f} ms wrong one or unknown user")
    print(f"{'':<24} {'VmRSS MB':>9} {'VmHWM MB':>9}")
    for label, m in (("before the logins", b), ("after the logins", a), (f"after {args.idle:g} s idle", i)):
        print(f"{label:<24} {m['VmRSS']:>9.1f} {m['VmHWM']:>9.1f}")
    if res["unexpected"]:
        print(f"WARNING: {res['unexpected']} logins did not answer as expected (a limit, or an error)")
    ok = a["VmRSS"] < LIMIT_MB and not res["unexpected"]
    emit(f"web process RSS after {n} logins", round(a["VmRSS"], 1), "MB", limit=f"< {LIMIT_MB} MB", ok=ok,
         note=f"before {b['VmRSS']:.1f} MB, peak {a['VmHWM']:.1f} MB, {args.concurrency} concurrent")
    emit(f"web process RSS growth over {n} logins", round(a["VmRSS"] - b["VmRSS"], 1), "MB")
    emit("logins/s (one process, argon2id m=19 MiB)", round(n / res["elapsed"], 1), "logins/s")
    emit("login one at a time, median", round(median_ms(res["times"]["serial", True]), 1), "ms",
         note=f"wrong password or unknown user {median_ms(res['times']['serial', False]):.1f} ms")
    return 1 if res["unexpected"] else 0


if __name__ == "__main__":
    sys.exit(main())
