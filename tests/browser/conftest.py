"""A real server process and Debian's Chromium driven by Playwright (sync API).

Runs in its own pytest process (see scripts/dev.py): Playwright's event loop
clashes with pytest-asyncio. Without a Chromium the tests are skipped with the
reason, unless REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.path.exists(p)), None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ADMIN_PASSWORD = "browser-admin-pass-42"
# The server's marketseal-v1 identity towards key holders (test_sealed_quote_flow starts holders that accept it).
PLATFORM_ID, PLATFORM_SEED = "browser-market", "45" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no Chromium was found at /usr/bin/chromium")
        pytest.skip("no Chromium found (install Debian's chromium package to run browser tests)")
    return CHROMIUM


def _reset_postgres(url: str) -> None:
    import asyncio

    from sqlalchemy import text

    from app.db import make_engine
    from app.settings import normalise_database_url

    async def reset() -> None:
        engine = make_engine(normalise_database_url(url))
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


def set_parameter(env: dict, key: str, value: str) -> None:
    """Store a platform parameter in the server's database, as an administrator (audited)."""
    import asyncio

    from app.db import make_engine, make_sessionmaker
    from app.parameters import write_settings
    from app.settings import normalise_database_url
    from marketplace.parameters import all_params

    url = normalise_database_url(env.get("DATABASE_URL") or f"sqlite:///{env['MARKET_VAR_DIR']}/market.db")

    async def write() -> None:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                old = (await all_params(session))[key]
                if old != value:
                    await write_settings(session, "user:admin", {key: (old, value)})
        finally:
            await engine.dispose()

    asyncio.run(write())


@pytest.fixture(scope="session")
def server(tmp_path_factory, chromium_path):
    """Migrated database, an admin made by the CLI, the app served by uvicorn."""
    var = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    port = _free_port()
    key_file = var / "platform.key"
    key_file.write_text(json.dumps({"v": 1, "platform": PLATFORM_ID, "signing_seed": PLATFORM_SEED}))
    key_file.chmod(0o600)
    env.update(MARKET_VAR_DIR=str(var), PORT=str(port), HOST="127.0.0.1", PYTHONPATH=str(ROOT),
               MARKET_PLATFORM_ID=PLATFORM_ID, MARKET_PLATFORM_KEY_FILE=str(key_file))
    if os.environ.get("TEST_DATABASE_URL"):
        _reset_postgres(os.environ["TEST_DATABASE_URL"])
        env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    if os.environ.get("TEST_REDIS_URL"):
        import redis

        redis.Redis.from_url(os.environ["TEST_REDIS_URL"]).flushdb()
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    subprocess.run([sys.executable, "-m", "app", "create-admin", "admin"], input=ADMIN_PASSWORD + "\n",
                   text=True, env=env, cwd=ROOT, check=True, capture_output=True)
    # Sealing is on by default and needs running key holders: the flows here use plain prices, as a platform
    # with sealing off does; the sealed flow turns it on itself (with its own holders).
    set_parameter(env, "sealing", "off")
    log = open(var / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        proc.terminate()
        pytest.fail("server did not start: " + (var / "server.log").read_text()[-2000:])
    worker = None
    if env.get("REDIS_URL"):
        # With Redis, background jobs run in arq workers: start one, as in production.
        worker = subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
    yield {"base": base, "env": env, "var": var}
    for p in (proc, worker):
        if p is not None:
            p.terminate()
            p.wait(10)
    log.close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()
