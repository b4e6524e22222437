"""Redis outages: the worker rides them out by itself, pages keep working, signing in answers 503.

The tests start their own Redis (own port, no persistence) and stop it; never the shared one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.main import create_app
from marketplace.models import Job, Selection
from tests.conftest import running
from tests.helpers import PASSWORD, make_user
from tests.worker.marketplace.test_deadline import job_with_quotes

REDIS_SERVER = shutil.which("redis-server")
ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not REDIS_SERVER, reason="redis-server is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, workdir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def selections(sessionmaker) -> int:
    async with sessionmaker() as s:
        return (await s.exec(select(func.count()).select_from(Selection))).one()


async def test_the_worker_rides_out_a_redis_restart_and_then_selects_what_fell_due(app, sessionmaker, settings,
                                                                                     tmp_path):
    port = free_port()
    redis = start_redis(port, tmp_path)
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "DATABASE_URL": settings.database_url,
           "MARKET_VAR_DIR": str(tmp_path), "SECRET_KEY": "test-secret-key-0123456789", "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "app", "worker"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        # The worker is up and polling once it has written arq's health-check key (under load a fixed sleep
        # was not enough: Redis then went down while the worker was still connecting, arq's own connect
        # retries rode it out, and the restart loop this test is about was never exercised).
        import redis as redis_client

        probe = redis_client.Redis(host="127.0.0.1", port=port, db=0)
        try:
            polling = time.monotonic() + 60
            while not probe.exists("arq:queue:health-check") and time.monotonic() < polling:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                await asyncio.sleep(0.2)
            assert probe.exists("arq:queue:health-check"), (tmp_path / "worker.log").read_text()
        finally:
            probe.close()
        stop(redis)
        job = await job_with_quotes(sessionmaker, timedelta(seconds=-1))  # falls due while Redis is down
        await asyncio.sleep(3)
        assert worker.poll() is None, "the worker exited when Redis went away"
        redis = start_redis(port, tmp_path)
        deadline = time.monotonic() + 60
        while await selections(sessionmaker) == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        async with sessionmaker() as s:
            status = (await s.get(Job, job.id)).status
        assert status == "awarded", (tmp_path / "worker.log").read_text()
        assert await selections(sessionmaker) == 1
        assert worker.poll() is None
        assert b"Redis does not answer" in (tmp_path / "worker.log").read_bytes()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        stop(redis)


async def test_while_redis_is_down_pages_work_and_signing_in_answers_503(settings, tmp_path):
    """The web side: public pages and reads work, a signed-in page and the login answer 503 with
    Retry-After (never a 500), /healthz says which dependency is down; after the restart the
    session is still there (a restart without persistence would log everyone out: see README)."""
    from tests.conftest import prepare_database

    port = free_port()
    redis = start_redis(port, tmp_path)
    s = settings.with_(redis_url=f"redis://127.0.0.1:{port}/0")
    await prepare_database(s.database_url, fresh_sqlite=s.is_sqlite)
    app = create_app(s, start_jobs=False)
    await make_user(app.state.sessionmaker, "reg9", "regulator")
    try:
        async with running(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
                token = (await c.get("/api/csrf")).json()["csrf_token"]
                r = await c.post("/api/auth/login", json={"username": "reg9", "password": PASSWORD},
                                 headers={"x-csrf-token": token})
                assert r.status_code == 200, r.text
                assert (await c.get("/regulator")).status_code == 200
                assert (await c.get("/healthz")).json() == {"status": "ok", "database": "ok", "redis": "ok"}
                stop(redis)
                for path in ("/", "/jobs", "/rankings", "/api/jobs"):
                    r = await c.get(path)
                    assert r.status_code == 200, (path, r.status_code)
                r = await c.get("/regulator")
                assert r.status_code == 503 and r.headers["retry-after"] == "5"
                r = await c.get("/api/me")
                assert r.status_code == 503 and r.json()["error"]
                health = await c.get("/healthz")
                assert health.status_code == 200
                assert health.json() == {"status": "degraded", "database": "ok", "redis": "unavailable"}
                c.cookies.clear()
                token = (await c.get("/api/csrf")).json()["csrf_token"]
                r = await c.post("/api/auth/login", json={"username": "reg9", "password": PASSWORD},
                                 headers={"x-csrf-token": token})
                assert r.status_code == 503 and r.headers["retry-after"] == "5"
                assert "会话存储" in r.json()["error"]  # "the session store does not answer", not the database
                redis = start_redis(port, tmp_path)
                await asyncio.sleep(0.5)
                assert (await c.get("/healthz")).json()["redis"] == "ok"
    finally:
        stop(redis)
        await app.state.engine.dispose()
        await app.state.store._redis.aclose(close_connection_pool=True)
