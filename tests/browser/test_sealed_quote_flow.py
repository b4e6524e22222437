"""Sealed bidding in a real Chromium (marketseal-v1, step 4): three real key holder processes, sealing on, a job
published; an agency types its price on the job page, the page (app/static/seal_form.js + marketseal.js) checks
the notice and seals in the browser, and only the envelope is sent. The server stored a well-formed envelope
and no price; the plain price is in no request the browser sent and nowhere in the database."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData
from sqlalchemy import select as sa_select

from marketplace.domain.sealing import envelope_digest, envelope_problem, sealed_receipt
from marketplace.keyholder.auth import PlatformAuth
from tests.browser.conftest import ADMIN_PASSWORD, PLATFORM_ID, PLATFORM_SEED
from tests.browser.test_market_flow import PASSWORD, api_session, register_orgs
from tests.browser.test_registration_flow import login, submit
from tests.integration.marketplace.test_keyholder_service import Processes

PRICE = "76543.21"  # typed into the page; it must never reach the server


@pytest.fixture(scope="module")
def holders(tmp_path_factory):
    """Three holder processes that accept the browser server's platform key."""
    procs = Processes(tmp_path_factory.mktemp("holders"), PlatformAuth(PLATFORM_ID, bytes.fromhex(PLATFORM_SEED)))
    try:
        yield [procs.start(h) for h in ("holder-a", "holder-b", "holder-c")]
    finally:
        procs.stop_all()


def _db_url(env: dict) -> str:
    from app.settings import normalise_database_url

    return normalise_database_url(env.get("DATABASE_URL") or f"sqlite:///{env['MARKET_VAR_DIR']}/market.db")


def raw_database_text(env: dict) -> str:
    """The whole database as an administrator could read it: `pg_dump` on PostgreSQL, else the SQLite file
    and its write-ahead log as bytes (decoded leniently)."""
    url = _db_url(env)
    if url.startswith("postgresql"):
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        dumped = subprocess.run(["pg_dump", "--no-owner", dsn], capture_output=True, text=True, check=True,
                                timeout=120).stdout
        assert "CREATE TABLE public.quote" in dumped, dumped[:500]
        return dumped
    path = Path(url.split(":///", 1)[1])
    files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    assert path in files
    return b"".join(p.read_bytes() for p in files).decode("utf-8", "replace")


def database_dump(env: dict) -> tuple[str, list[dict]]:
    """Every row of every table as text, and the envelopes stored in `quote`."""
    from app.db import make_engine

    async def dump() -> tuple[str, list[dict]]:
        engine = make_engine(_db_url(env))
        try:
            async with engine.connect() as conn:
                meta = MetaData()
                await conn.run_sync(lambda sync: meta.reflect(bind=sync))
                rows = []
                for table in meta.sorted_tables:
                    rows += [repr(tuple(row)) for row in (await conn.execute(sa_select(table))).all()]
                quote = meta.tables["quote"]
                envelopes = [json.loads(e) if isinstance(e, str) else e for (e,) in (await conn.execute(
                    sa_select(quote.c.envelope).where(quote.c.envelope.is_not(None)))).all()]
            return "\n".join(rows), [e for e in envelopes if e]
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API keeps an event loop running in this thread
        return pool.submit(asyncio.run, dump()).result()


def test_an_agency_seals_its_quote_in_the_page(server, page, holders):
    base = server["base"]
    register_orgs(base, random.Random(), prefix="seal")
    admin, ah = api_session(base, "admin", ADMIN_PASSWORD)
    try:
        for h in holders:
            r = admin.post("/api/admin/key-holders", headers=ah,
                           json={"holder_id": h.id, "signing_key": h.signing_key, "url": h.url})
            assert r.status_code == 201, r.text
        assert admin.put("/api/admin/parameters", headers=ah,
                         json={"sealing": "on", "sealing_threshold": 2}).status_code == 200
        owner, oh = api_session(base, "sealowner", PASSWORD)
        deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        r = owner.post("/api/owner/jobs", headers=oh, json={
            "title": "密封报价环评服务", "project_name": "城西道路改造", "project_code": "XM-2026-077",
            "category_code": "EIA", "min_level": 3, "budget_cap": "100000.00", "method": "random",
            "item_code": "EIA-01",
            "state_funded": True, "quote_deadline": deadline, "service_days": 60, "description": "说明"})
        assert r.status_code == 201, r.text
        job_no = r.json()["job_id"]
        r = owner.post(f"/api/owner/jobs/{job_no}/publish", headers=oh)
        assert r.status_code == 200 and r.json()["sealing"]["threshold"] == 2, r.text
        owner.close()
    finally:
        # Later browser tests publish unsealed jobs, as before.
        admin.put("/api/admin/parameters", headers=ah, json={"sealing": "off"})
        admin.close()

    sent: list[str] = []
    page.on("request", lambda req: sent.append(f"{req.url} {req.post_data or ''}"))
    login(page, base, "sealagency0", PASSWORD)
    page.goto(f"{base}/jobs/{job_no}")
    page.wait_for_function("() => window.isSecureContext && !!window.MarketSeal")
    assert "holder-a, holder-b, holder-c" in page.inner_text("#sealing-hint")
    # A price above the cap is refused in the page: nothing is sent.
    page.fill("#f-price", "100000.01")
    page.fill("#f-service_days", "30")
    page.once("dialog", lambda d: d.accept())  # "Submit this quote? …", asked before the page seals
    page.click("#quote-form button")
    page.wait_for_selector("#seal-error:not([hidden])")
    assert not any("/quote " in s for s in sent)
    page.fill("#f-price", PRICE)
    page.fill("#f-note", "密封测试备注")
    # Declining the confirmation seals and sends nothing.
    page.once("dialog", lambda d: d.dismiss())
    page.click("#quote-form button")
    page.wait_for_timeout(500)
    assert not any("/quote " in s for s in sent) and page.locator("#f-envelope").input_value() == ""
    page.once("dialog", lambda d: d.accept())
    submit(page, "#quote-form button")
    assert page.locator("#my-envelope-digest").count() == 1
    receipt = page.inner_text("#my-receipt").strip()
    assert PRICE not in page.content()

    posted = [s for s in sent if f"/jobs/{job_no}/quote " in s]
    assert len(posted) == 1 and "envelope=" in posted[0]
    for text in sent:
        assert PRICE not in text and "service_days" not in text and "密封测试备注" not in text
    dump, envelopes = database_dump(server["env"])
    assert PRICE not in dump and PRICE.replace(".", "") not in dump and "密封测试备注" not in dump
    # Below the rows: a full pg_dump (PostgreSQL) or the database files byte for byte (SQLite), and the
    # server's log, hold no form of the price or the note either.
    for text in (raw_database_text(server["env"]), (server["var"] / "server.log").read_text("utf-8", "replace")):
        assert PRICE not in text and PRICE.replace(".", "") not in text and "密封测试备注" not in text
    assert len(envelopes) == 1
    envelope = envelopes[0]
    agency, _ = api_session(base, "sealagency0", PASSWORD)
    try:
        mine = agency.get(f"/api/jobs/{job_no}/quote").json()
    finally:
        agency.close()
    assert mine["envelope"] == envelope and mine["receipt"] == receipt
    assert envelope_problem(envelope, job_id=job_no, agency_code=mine["agency_code"],
                            holder_ids=["holder-a", "holder-b", "holder-c"]) is None
    assert receipt == sealed_receipt(job_id=job_no, quote_id=mine["quote_id"], agency_code=mine["agency_code"],
                                     envelope_digest=envelope_digest(envelope), submitted_at=mine["submitted_at"])
