"""Bad input the fuzzer found: each is a clear 4xx, never a 500, and writes nothing (issue "Hardening").

Ids beyond PostgreSQL's 32-bit integer, NUL characters (PostgreSQL refuses them in text), JSON nested
beyond reason, numbers too large or not finite, and never-published drafts in public listings.
"""

from __future__ import annotations

from sqlmodel import select

from app.audit import chain_head
from marketplace.models import Agency, Job
from tests.helpers import count_rows, csrf
from tests.integration.marketplace.test_jobs_api import as_user, job_body, published_job, world  # noqa: F401

TOO_BIG = 99999999999  # > 2**31 - 1


async def test_ids_beyond_the_integer_range_are_404_on_every_kind_of_route(client, world):  # noqa: F811
    job_no = await published_job(client)
    client.cookies.clear()
    assert (await client.get(f"/jobs/{job_no}/attachments/{TOO_BIG}")).status_code == 404
    h = await as_user(client, "admin1")
    for path in (f"/admin/agencies/{TOO_BIG}", f"/admin/owners/{TOO_BIG}"):
        r = await client.get(path)
        assert r.status_code == 404, path
    r = await client.post(f"/api/admin/agencies/{TOO_BIG}/decision", json={"decision": "approve"}, headers=h)
    assert r.status_code == 404
    assert r.json()["error"]
    r = await client.post(f"/api/admin/qualifications/{TOO_BIG}/decision", json={"decision": "approve"},
                          headers=h)
    assert r.status_code == 404
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/objections/{TOO_BIG}/decision",
                          json={"decision": "dismiss", "reason": "x"}, headers=h)
    assert r.status_code == 404
    r = await client.post(f"/api/regulator/list-entries/{2**31}/lift", json={"reason": "x"}, headers=h)
    assert r.status_code == 404
    h = await as_user(client, "ag0")
    assert (await client.get(f"/agency/quotes/{TOO_BIG}/receipt.json")).status_code == 404
    r = await client.post(f"/api/agency/ratings/{TOO_BIG}/appeal", json={"reason": "x"}, headers=h)
    assert r.status_code == 404
    # The largest id that can exist is still looked up (and not found).
    r = await client.post(f"/api/agency/ratings/{2**31 - 1}/appeal", json={"reason": "x"}, headers=h)
    assert r.status_code == 404


async def test_a_nul_character_in_the_query_path_or_a_field_is_400_and_writes_nothing(client, world, sessionmaker):  # noqa: F811
    r = await client.get("/api/jobs?q=%00")
    assert r.status_code == 400
    assert "\\0" in r.json()["fields"]["q"]  # "NUL character (\\0)" / "空字符（\\0）"
    assert (await client.get("/jobs?q=a%00b")).status_code == 400
    assert (await client.get("/api/rankings?q=%00")).status_code == 400
    assert (await client.get("/api/jobs?district=%00")).status_code == 400
    assert (await client.get("/api/jobs/J2026%0000001")).status_code == 400
    h = await as_user(client, "own1")
    jobs = await count_rows(sessionmaker, Job)
    r = await client.post("/api/owner/jobs", json=job_body(title="环评\u0000服务"), headers=h)
    assert r.status_code == 400
    assert "\\0" in r.json()["error"]  # "NUL character (\\0)" / "空字符（\\0）"
    r = await client.post("/api/owner/jobs", json=job_body(exclusions=["\u0000"]), headers=h)
    assert r.status_code == 400
    assert await count_rows(sessionmaker, Job) == jobs
    h = await as_user(client, "ag0")
    r = await client.put("/api/agency/profile", json={"address": "东路\u00001号"}, headers=h)
    assert r.status_code == 400
    r = await client.post("/agency/profile", data={"address": "东路\x001号", "csrf_token": h["x-csrf-token"]})
    assert r.status_code == 400
    async with sessionmaker() as s:
        assert all("\x00" not in a.address for a in (await s.exec(select(Agency))).all())


async def test_json_nested_beyond_reason_is_400(client, world, sessionmaker):  # noqa: F811
    token = await csrf(client)
    before, _ = await _head(sessionmaker)
    headers = {"x-csrf-token": token, "content-type": "application/json"}
    r = await client.post("/api/auth/login", content=b"[" * 100000, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]
    deep = '{"username": "own1", "password": "x", "extra": ' + "[" * 40 + "]" * 40 + "}"
    r = await client.post("/api/auth/login", content=deep.encode(), headers=headers)
    assert r.status_code == 400
    after, _ = await _head(sessionmaker)
    assert after == before  # refused before anything is looked at


async def _head(sessionmaker):
    async with sessionmaker() as s:
        return await chain_head(s)


async def test_numbers_too_large_or_not_finite_get_a_message_that_says_so(client, world):  # noqa: F811
    h = await as_user(client, "own1")
    client.cookies.set("lang", "en")
    r = await client.post("/api/owner/jobs", json=job_body(budget_cap="1e309"), headers=h)
    assert r.status_code == 400
    assert r.json()["fields"]["budget_cap"] == "At most 14 digits in all."
    r = await client.post("/api/owner/jobs", content=b'{"budget_cap": 1e309}', headers={**h, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["fields"]["budget_cap"] == "Enter a finite number."
    r = await client.post("/api/owner/jobs", json=job_body(budget_cap="1.234"), headers=h)
    assert r.json()["fields"]["budget_cap"] == "At most 2 decimal places."
    client.cookies.set("lang", "zh_CN")
    r = await client.post("/api/owner/jobs", json=job_body(budget_cap="1e309"), headers=h)
    assert r.json()["fields"]["budget_cap"] == "最多 14 位数字。"


async def test_a_draft_cancelled_before_publication_is_never_public(client, world):  # noqa: F811
    h = await as_user(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(title="从未发布的草稿"), headers=h)
    assert r.status_code == 201
    draft = r.json()["job_id"]
    r = await client.post(f"/api/owner/jobs/{draft}/cancel", json={"reason": "项目调整"}, headers=h)
    assert r.status_code == 200
    published = await published_job(client)
    client.cookies.clear()
    listed = {j["job_id"] for j in (await client.get("/api/jobs?per_page=100")).json()["items"]}
    assert published in listed and draft not in listed
    assert draft not in (await client.get("/jobs")).text
    assert (await client.get(f"/api/jobs/{draft}")).status_code == 404
    assert (await client.get(f"/jobs/{draft}")).status_code == 404
    assert (await client.get(f"/api/jobs/{draft}/ocds")).status_code == 404
    # The owner still sees it among its own jobs.
    h = await as_user(client, "own1")
    mine = {j["job_id"] for j in (await client.get("/api/owner/jobs?per_page=100", headers=h)).json()["items"]}
    assert draft in mine


async def test_a_parameter_out_of_range_or_malformed_is_a_400_that_names_it(client, world):  # noqa: F811
    client.cookies.set("lang", "en")
    cases = {
        "/api/jobs?per_page=-1": ("per_page", "Must be at least 1."),
        "/api/jobs?per_page=101": ("per_page", "Must be at most 100."),
        "/api/jobs?page=abc": ("page", "Enter a whole number."),
        "/api/rankings?page=0": ("page", "Must be at least 1."),
        "/api/reports/savings?date_from=2026-02-30": ("date_from", "Enter a date as YYYY-MM-DD."),
    }
    for path, (name, message) in cases.items():
        r = await client.get(path)
        assert r.status_code == 400, path
        assert r.json()["fields"] == {name: message}, path
        assert r.json()["error"] == "Please correct the marked fields."
    r = await client.get("/reports/savings?date_from=2026-02-30")
    assert r.status_code == 400 and "Enter a date as YYYY-MM-DD." in r.text


async def test_a_deadline_without_a_zone_is_beijing_time(client, world):  # noqa: F811
    from datetime import datetime, timedelta

    from app.clock import SHANGHAI, utcnow

    local = (utcnow().astimezone(SHANGHAI) + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)
    h = await as_user(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(quote_deadline=local.strftime("%Y-%m-%dT%H:%M")), headers=h)
    assert r.status_code == 201
    stored = datetime.fromisoformat(r.json()["quote_deadline"].replace("Z", "+00:00"))
    assert stored == local  # 17:00 Beijing = 09:00 UTC
    assert stored.utcoffset() == timedelta(0) and stored.hour == 9


async def test_no_query_parameter_of_any_api_route_turns_a_nul_or_a_huge_id_into_a_5xx(client, world, app):  # noqa: F811
    """A small fuzz over the OpenAPI document: every GET operation, each query parameter set to a NUL
    character, and every integer path parameter beyond the integer range, as an admin."""
    import re

    doc = (await client.get("/schema/openapi.json")).json()
    job_no = await published_job(client)
    await as_user(client, "admin1")
    tried = 0
    for path, ops in doc["paths"].items():
        get = ops.get("get")
        if not path.startswith("/api/") or get is None:
            continue
        params = get.get("parameters", [])
        url = path
        for p in params:
            if p["in"] == "path":
                value = str(TOO_BIG) if p["schema"].get("type") == "integer" else job_no
                url = url.replace("{" + p["name"] + "}", value)
        assert not re.search(r"\{\w+\}", url), url
        r = await client.get(url)
        assert r.status_code < 500, (url, r.status_code)
        for p in params:
            if p["in"] != "query":
                continue
            r = await client.get(url, params={p["name"]: "a\x00b"})
            assert r.status_code < 500, (url, p["name"], r.status_code)
            tried += 1
    assert tried >= 20


async def test_the_answer_to_a_quote_reads_nothing_after_its_commit(client, world, app):  # noqa: F811
    """A stored quote must never be answered with an error: once its transaction commits, the handler
    reads nothing more from the database (a failure there would tell the agency it failed)."""
    from sqlalchemy import event

    job_no = await published_job(client)
    h = await as_user(client, "ag0")
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    def committed(_conn):
        statements.append("COMMIT")

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "90000.00", "service_days": 30},
                              headers=h)
        assert r.status_code == 201 and r.json()["receipt"]
        after_quote = statements[len(statements) - statements[::-1].index("COMMIT"):]
        statements.clear()
        r = await client.delete(f"/api/jobs/{job_no}/quote", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "withdrawn"
        after_withdrawal = statements[len(statements) - statements[::-1].index("COMMIT"):]
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)
    assert "INSERT" not in after_quote and "SELECT" not in after_quote, after_quote
    assert "SELECT" not in after_withdrawal, after_withdrawal


async def test_a_database_outage_is_a_503_with_retry_after_never_a_500(settings, tmp_path):
    """PostgreSQL refusing connections (a port nothing listens on) or an SQLite file that cannot be
    opened: pages and the API answer 503 with Retry-After and a message in the user's language."""
    from litestar.testing import AsyncTestClient

    from app.main import create_app

    for url in ("postgresql+asyncpg://postgres@127.0.0.1:9/none",
                f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'market.db'}"):
        app = create_app(settings.with_(database_url=url), start_jobs=False)
        async with AsyncTestClient(app=app) as c:
            r = await c.get("/api/jobs")
            assert r.status_code == 503, (url, r.text)
            assert r.headers["retry-after"] == "5"
            assert "数据库" in r.json()["error"]
            c.cookies.set("lang", "en")
            r = await c.get("/jobs")
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert "database does not answer" in r.text
            assert (await c.get("/healthz")).status_code == 503
