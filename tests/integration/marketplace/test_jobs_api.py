"""The marketplace loop over the JSON API: flows, bad input, sealing, exactly once."""

import asyncio
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from app.clock import utcnow
from app.models import AuditEvent
from marketplace.models import Contract, Job, Quote, Selection
from tests.helpers import (
    SIGNED_PDF,
    contract_agency_username,
    count_rows,
    finish_service,
    login,
    make_agency,
    make_owner,
    make_user,
)

PRICES = ["87654.32", "76543.21", "91234.56", "80001.99"]


def job_body(**over):
    body = {"title": "环境影响评价服务", "project_name": "城东道路改造", "project_code": "XM-2026-001",
            "category_code": "EIA", "min_level": 3, "budget_cap": "100000.00", "method": "random",
            "item_code": "EIA-01",
            "state_funded": True, "quote_deadline": (utcnow() + timedelta(hours=1)).isoformat(),
            "service_days": 60, "description": "说明"}
    body.update(over)
    return body


async def as_user(client, username):
    client.cookies.clear()
    return {"x-csrf-token": await login(client, username)}


async def pass_deadline(sessionmaker, job_no):
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()


async def end_publicity(sessionmaker, job_no):
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(publicity_ends_at=utcnow() - timedelta(seconds=1)))
        await s.commit()


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    for i in range(4):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_agency(sessionmaker, "nosurvey", quals=(("SURVEY", 1),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")


async def published_job(client, **over) -> str:
    h = await as_user(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(**over), headers=h)
    assert r.status_code == 201, r.text
    job_no = r.json()["job_id"]
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=h)
    assert r.status_code == 200, r.text
    assert len(r.json()["seed_commitment"]) == 64
    return job_no


async def quote_all(client, job_no, prices=PRICES):
    receipts = {}
    for i, p in enumerate(prices):
        h = await as_user(client, f"ag{i}")
        r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": p, "service_days": 40}, headers=h)
        assert r.status_code == 201, r.text
        receipts[f"ag{i}"] = r.json()
    return receipts


async def test_quote_flow_receipts_and_verifiable_record(client, sessionmaker, world):
    job_no = await published_job(client)
    receipts = await quote_all(client, job_no)
    # Replace and withdraw until the deadline.
    h = await as_user(client, "ag3")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "80002.00", "service_days": 41}, headers=h)
    assert r.status_code == 201 and r.json()["receipt"] != receipts["ag3"]["receipt"]
    r = await client.delete(f"/api/jobs/{job_no}/quote", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    # Sealed: only the owner learns how many quotes there are before the deadline.
    assert "quote_count" not in (await client.get(f"/api/jobs/{job_no}")).json()
    assert 'id="live-count"' not in (await client.get(f"/jobs/{job_no}")).text
    assert "quote_count" not in (await client.get("/api/jobs?status=published")).json()["items"][0]
    await as_user(client, "own1")
    assert (await client.get(f"/api/owner/jobs/{job_no}")).json()["quote_count"] == 3
    assert 'id="live-count"' in (await client.get(f"/owner/jobs/{job_no}")).text
    client.cookies.clear()
    assert "quote_count" not in (await client.get(f"/api/jobs/{job_no}")).json()
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)
    assert r.json() == {"outcome": "selected", "status": "awarded"}
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    assert record["protocol"] == "marketdraw-v1" and len(record["candidates"]) == 3
    mine = next(q for q in record["quotes"] if q["receipt"] == receipts["ag0"]["receipt"])
    assert mine["price"] == "87654.32" and mine["nonce"] == receipts["ag0"]["nonce"]
    r = subprocess.run([sys.executable, "scripts/verify_draw.py", "-"], input=json.dumps(record), text=True,
                       capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
    lines = (await client.get("/api/draws.jsonl")).text.strip().splitlines()
    assert [json.loads(x)["job_id"] for x in lines] == [job_no]
    # The owner confirms after publicity, once; then completes.
    h = await as_user(client, "own1")
    pdf = {"file": ("signed.pdf", SIGNED_PDF, "application/pdf")}
    assert (await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h)).status_code == 400  # no file
    assert (await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h, files=pdf)).status_code == 409
    await end_publicity(sessionmaker, job_no)
    r = await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h, files=pdf)
    assert r.status_code == 201
    winner = next(q for q in record["quotes"] if q["quote_id"] == record["winner_quote_id"])
    assert r.json()["amount"] == winner["price"] and r.json()["status"] == "owner_confirmed"
    r = await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h, files=pdf)
    assert r.status_code == 409
    assert await count_rows(sessionmaker, Contract) == 1
    agency = await contract_agency_username(sessionmaker, job_no)
    assert (await client.post(f"/api/jobs/{job_no}/contract/confirm",
                              headers=await as_user(client, agency))).json()["status"] == "confirmed"
    await finish_service(client, sessionmaker, job_no, "own1")
    assert (await client.get(f"/api/jobs/{job_no}")).json()["status"] == "completed"


async def test_bad_job_input(client, sessionmaker, world):
    h = await as_user(client, "own1")
    cases = [
        ({"quote_deadline": (utcnow() - timedelta(hours=1)).isoformat()}, "quote_deadline"),
        ({"budget_cap": "0"}, "budget_cap"), ({"budget_cap": "-5"}, "budget_cap"),
        ({"budget_cap": "100.001"}, "budget_cap"), ({"category_code": "NOPE"}, "category_code"),
        ({"method": "lottery"}, "method"), ({"method": "direct", "budget_cap": "100000.01"}, "method"),
        ({"method": "best_value", "price_weight": 70, "credit_weight": 40}, "price_weight"),
        ({"beacon_source": "manual"}, "beacon_label"), ({"exclusions": "91350100M000100Y44"}, "exclusions"),
        ({"service_days": 0}, "service_days"),
    ]
    for over, field in cases:
        r = await client.post("/api/owner/jobs", json=job_body(**over), headers=h)
        assert r.status_code == 400, (over, r.text)
        assert field in r.json()["fields"], (over, r.json())
    assert await count_rows(sessionmaker, Job) == 0
    r = await client.post("/api/owner/jobs", json=job_body(method="direct", budget_cap="100000.00"), headers=h)
    assert r.status_code == 201


async def test_bad_quote_input(client, sessionmaker, world):
    job_no = await published_job(client, budget_cap="50000.00")
    h = await as_user(client, "ag0")
    for body, field in (({"price": "50000.01", "service_days": 5}, "price"), ({"price": "0", "service_days": 5}, "price"),
                        ({"price": "-1", "service_days": 5}, "price"), ({"price": "10.123", "service_days": 5}, "price"),
                        ({"price": "abc", "service_days": 5}, "price"), ({"price": "10", "service_days": 0}, "service_days")):
        r = await client.post(f"/api/jobs/{job_no}/quote", json=body, headers=h)
        assert r.status_code == 400 and field in r.json()["fields"], (body, r.text)
    h = await as_user(client, "nosurvey")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "100", "service_days": 5}, headers=h)
    assert r.status_code == 403 and r.json()["reasons"] == ["not_qualified"]
    r = await client.get("/api/agency/jobs")
    item = r.json()["items"][0]
    assert item["eligible"] is False and item["reasons"] == ["not_qualified"]
    # Suspended agency.
    async with sessionmaker() as s:
        from marketplace.models import Agency
        await s.exec(update(Agency).where(Agency.name.like("ag1 %")).values(status="suspended"))
        await s.commit()
    h = await as_user(client, "ag1")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "100", "service_days": 5}, headers=h)
    assert r.status_code == 403 and "agency_suspended" in r.json()["reasons"]
    # After the deadline.
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "100", "service_days": 5}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "deadline_passed"
    assert await count_rows(sessionmaker, Quote) == 0


async def test_other_owner_cannot_touch_the_job(client, sessionmaker, world):
    job_no = await published_job(client)
    h = await as_user(client, "own2")
    for method, path in (("GET", f"/api/owner/jobs/{job_no}"), ("POST", f"/api/owner/jobs/{job_no}/cancel"),
                         ("POST", f"/api/owner/jobs/{job_no}/contract"), ("PUT", f"/api/owner/jobs/{job_no}")):
        r = await client.request(method, path, json={"reason": "x", **job_body()}, headers=h)
        assert r.status_code == 404, (method, path, r.status_code)
    h = await as_user(client, "ag0")
    r = await client.post(f"/api/owner/jobs/{job_no}/cancel", json={"reason": "x"}, headers=h)
    assert r.status_code == 403
    async with sessionmaker() as s:
        assert (await s.exec(select(Job.status))).one() == "published"


async def test_cancel_only_before_deadline(client, sessionmaker, world):
    job_no = await published_job(client)
    h = await as_user(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/cancel", json={}, headers=h)
    assert r.status_code == 400
    await pass_deadline(sessionmaker, job_no)
    r = await client.post(f"/api/owner/jobs/{job_no}/cancel", json={"reason": "预算调整"}, headers=h)
    assert r.status_code == 409


async def test_objection_upheld_moves_to_next_candidate(client, sessionmaker, world):
    job_no = await published_job(client, method="lowest")
    await quote_all(client, job_no)
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)
    first = (await client.get(f"/api/jobs/{job_no}")).json()["result"]
    assert first["price"] == "76543.21"
    h = await as_user(client, "nosurvey")
    r = await client.post(f"/api/jobs/{job_no}/objections", json={"reason": "x"}, headers=h)
    assert r.status_code == 403
    h = await as_user(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/objections", json={"reason": "中选人资质存疑"}, headers=h)
    assert r.status_code == 201
    oid = r.json()["id"]
    h = await as_user(client, "reg1")
    assert len((await client.get("/api/regulator/objections")).json()) == 1
    r = await client.post(f"/api/regulator/objections/{oid}/decision", json={"decision": "uphold", "reason": "属实"}, headers=h)
    assert r.json()["status"] == "upheld"
    r = await client.post(f"/api/regulator/objections/{oid}/decision", json={"decision": "dismiss", "reason": "x"}, headers=h)
    assert r.status_code == 409
    after = (await client.get(f"/api/jobs/{job_no}")).json()["result"]
    assert after["price"] == "80001.99" and after["excluded"][0]["reason"] == "objection_upheld"
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    r = subprocess.run([sys.executable, "scripts/verify_draw.py", "-"], input=json.dumps(record), text=True,
                       capture_output=True)
    assert r.returncode == 0, r.stdout
    # Outside the publicity period objections are refused.
    await end_publicity(sessionmaker, job_no)
    h = await as_user(client, "ag2")
    r = await client.post(f"/api/jobs/{job_no}/objections", json={"reason": "late"}, headers=h)
    assert r.status_code == 409


async def test_manual_beacon_waits_for_the_regulator(client, sessionmaker, world):
    job_no = await published_job(client, beacon_source="manual", beacon_label="drand 轮次 ≥ 5000000")
    await quote_all(client, job_no)
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)
    assert r.json() == {"outcome": "awaiting_beacon", "status": "closed"}
    r = await client.get(f"/api/jobs/{job_no}/draw")
    assert r.status_code == 404
    r = await client.post(f"/api/regulator/jobs/{job_no}/beacon", json={"value": "round-5000000:abcdef"}, headers=h)
    assert r.status_code == 200
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    assert record["beacon"] == "round-5000000:abcdef"
    r = await client.post(f"/api/regulator/jobs/{job_no}/beacon", json={"value": "again"}, headers=h)
    assert r.status_code == 409
    async with sessionmaker() as s:
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == f"job:{job_no}"))).all()
    assert "job.beacon_entered" in kinds


async def test_failed_job_and_copy(client, sessionmaker, world):
    job_no = await published_job(client)
    await quote_all(client, job_no, PRICES[:2])  # state-funded needs 3
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    assert (await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)).json()["outcome"] == "failed"
    h = await as_user(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/copy", headers=h)
    assert r.status_code == 201 and r.json()["status"] == "draft" and r.json()["job_id"] != job_no


async def test_direct_selection_by_owner(client, sessionmaker, world):
    job_no = await published_job(client, method="direct", budget_cap="90000.00", state_funded=False)
    await quote_all(client, job_no, ["88000.00", "87000.00"])
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    assert (await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)).json()["outcome"] == "awaiting_choice"
    h = await as_user(client, "own1")
    quotes = (await client.get(f"/api/owner/jobs/{job_no}")).json()["quotes"]
    chosen = quotes[0]["quote_id"]
    r = await client.post(f"/api/owner/jobs/{job_no}/direct", json={"quote_id": "999999", "reason": "x"}, headers=h)
    assert r.status_code == 400
    r = await client.post(f"/api/owner/jobs/{job_no}/direct", json={"quote_id": chosen, "reason": "服务经验匹配"}, headers=h)
    assert r.json()["winner_quote_id"] == chosen
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    assert record["params"] == {"chosen_quote_id": chosen, "reason": "服务经验匹配"}


async def test_abnormally_low_flag_and_rejection(client, sessionmaker, world):
    job_no = await published_job(client, method="lowest")
    await quote_all(client, job_no, ["30000.00", "80000.00", "82000.00", "84000.00"])
    await pass_deadline(sessionmaker, job_no)
    h = await as_user(client, "reg1")
    await client.post(f"/api/regulator/jobs/{job_no}/select", headers=h)
    result = (await client.get(f"/api/jobs/{job_no}")).json()["result"]
    assert result["abnormally_low"] == result["winner_quote_id"] and result["abnormal_status"] == "awaiting"
    h = await as_user(client, "ag0")
    r = await client.post(f"/api/jobs/{job_no}/justification", json={"reason": "自有设备，成本较低"}, headers=h)
    assert r.json()["abnormal_status"] == "submitted"
    h = await as_user(client, "own1")
    await end_publicity(sessionmaker, job_no)
    assert (await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h,
                              files={"file": ("s.pdf", SIGNED_PDF, "application/pdf")})).status_code == 409
    r = await client.post(f"/api/owner/jobs/{job_no}/justification-decision", json={"decision": "reject"}, headers=h)
    assert r.status_code == 400 and "reason" in r.json()["fields"]
    r = await client.post(f"/api/owner/jobs/{job_no}/justification-decision", json={"decision": "reject", "reason": "不合理"}, headers=h)
    assert r.status_code == 200
    result = (await client.get(f"/api/jobs/{job_no}")).json()["result"]
    assert result["price"] == "80000.00" and result["excluded"][0]["reason"] == "abnormally_low_rejected"


async def test_filters_validate(client, world):
    assert (await client.get("/api/jobs?status=bogus")).status_code == 400
    assert (await client.get("/api/jobs?method=bogus")).status_code == 400
    assert (await client.get("/api/jobs?status=draft")).status_code == 400
    assert (await client.get("/api/jobs?page=0")).status_code == 400


# ---- sealed means sealed ---------------------------------------------------------------------

SEALED_PRICES = ["87654.32", "76543.21", "91234.56"]


def leaked(text: str) -> list[str]:
    found = []
    for p in SEALED_PRICES:
        whole, cents = p.split(".")
        for form in (p, f"{int(whole):,}.{cents}", p.replace(".", ""), f"{float(p)}"):
            if form in text:
                found.append(form)
    return found


async def test_no_role_can_see_a_sealed_price_anywhere(client, app, sessionmaker, world):
    job_no = await published_job(client)
    await quote_all(client, job_no, SEALED_PRICES)
    agency_codes = []
    async with sessionmaker() as s:
        from marketplace.models import Agency
        agency_codes = (await s.exec(select(Agency.credit_code).where(Agency.name.like("ag%")))).all()
    paths = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in getattr(handler, "http_methods", ()) and "{" not in route.path:
                paths.add(route.path)
    paths |= {f"/jobs/{job_no}", f"/api/jobs/{job_no}", f"/api/jobs/{job_no}/draw", f"/api/owner/jobs/{job_no}",
              f"/owner/jobs/{job_no}", "/api/jobs?status=published", "/api/draws.jsonl", "/jobs?q=环境",
              f"/api/jobs/{job_no}/ocds", f"/api/regulator/signals?q={job_no}", f"/regulator/signals?q={job_no}"}
    for role in ("anonymous", "own1", "ag3", "nosurvey", "reg1", "admin1"):
        client.cookies.clear()
        if role != "anonymous":
            await login(client, role)
        for path in sorted(paths):
            if path.startswith("/static") or path.startswith("/schema"):
                continue
            r = await client.get(path)
            assert r.status_code < 500, (role, path, r.status_code)
            assert leaked(r.text) == [], (role, path)
            if role not in ("ag0", "ag1", "ag2"):
                for code in agency_codes[:3]:
                    assert not (code in r.text and path.startswith(("/jobs/", "/api/jobs/"))), (role, path)
        # Another agency asking for "its" quote learns nothing either.
        if role == "ag3":
            r = await client.get(f"/api/jobs/{job_no}/quote")
            assert r.status_code == 404 and leaked(r.text) == []
    # The audit log (shown to regulators) holds receipts only, and names no bidder.
    async with sessionmaker() as s:
        events = (await s.exec(select(AuditEvent))).all()
        for ev in events:
            assert leaked(json.dumps(ev.data, ensure_ascii=False)) == []
        quote_events = [ev for ev in events if ev.kind.startswith("quote.")]
        assert len(quote_events) == 3
        assert all(ev.actor == "sealed-bidder" and set(ev.data) == {"receipt"} for ev in quote_events)


# ---- exactly once ------------------------------------------------------------------------------

async def test_many_concurrent_triggers_select_once(client, app, sessionmaker, world):
    from marketplace.services.selection import close_and_select
    from marketplace.tasks import close_due_jobs, close_job

    job_no = await published_job(client)
    await quote_all(client, job_no)
    await pass_deadline(sessionmaker, job_no)
    async with sessionmaker() as s:
        job_id = (await s.exec(select(Job.id).where(Job.job_no == job_no))).one()
    ctx = {"sessionmaker": sessionmaker}
    triggers = [close_and_select(sessionmaker, job_id, f"trigger{i}") for i in range(20)]
    triggers += [close_job(ctx, job_id) for _ in range(5)] + [close_due_jobs(ctx) for _ in range(5)]
    outcomes = await asyncio.gather(*triggers)
    assert sum(1 for o in outcomes if o == "selected") == 1
    async with sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Selection))).one() == 1
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.subject == f"job:{job_no}"))).all()
        assert kinds.count("job.selected") == 1 and kinds.count("job.closed") == 1
        before = (await s.exec(select(func.count()).select_from(AuditEvent))).one()
    # Running the job function again changes nothing.
    assert await close_job(ctx, job_id) == "noop"
    async with sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(AuditEvent))).one() == before


async def test_attachments_are_checked(client, sessionmaker, world):
    h = await as_user(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(), headers=h)
    job_no = r.json()["job_id"]
    url = f"/api/owner/jobs/{job_no}/attachments"
    r = await client.post(url, files={"file": ("任务书.pdf", b"%PDF-1.7 demo", "application/pdf")}, headers=h)
    assert r.status_code == 201, r.text
    link = r.json()["url"]
    r = await client.post(url, files={"file": ("evil.exe", b"MZ....", "application/octet-stream")}, headers=h)
    assert r.status_code == 400 and "file" in r.json()["fields"]
    r = await client.post(url, files={"file": ("fake.pdf", b"<html>", "application/pdf")}, headers=h)
    assert r.status_code == 400
    r = await client.post(url, files={"file": ("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), "application/pdf")}, headers=h)
    assert r.status_code == 413
    client.cookies.clear()
    assert (await client.get(link)).status_code == 404  # a draft's attachment is not public
    h = await as_user(client, "own1")
    await client.post(f"/api/owner/jobs/{job_no}/publish", headers=h)
    client.cookies.clear()
    r = await client.get(link)
    assert r.status_code == 200 and r.content == b"%PDF-1.7 demo"
    assert "attachment" in r.headers["content-disposition"]
    h = await as_user(client, "own2")
    r = await client.post(url, files={"file": ("x.pdf", b"%PDF", "application/pdf")}, headers=h)
    assert r.status_code == 404


async def test_direct_owner_chooses_again_after_a_refusal(client, sessionmaker, world):
    job_no = await published_job(client, method="direct", budget_cap="90000.00", state_funded=False)
    await quote_all(client, job_no, ["88000.00", "87000.00"])
    await pass_deadline(sessionmaker, job_no)
    await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_user(client, "reg1"))
    h = await as_user(client, "own1")
    first, second = [q["quote_id"] for q in (await client.get(f"/api/owner/jobs/{job_no}")).json()["quotes"]]
    await client.post(f"/api/owner/jobs/{job_no}/direct", json={"quote_id": first, "reason": "经验"}, headers=h)
    r = await client.post(f"/api/owner/jobs/{job_no}/refusal", json={"reason": "拒签"}, headers=h)
    assert r.status_code == 409  # still in publicity
    await end_publicity(sessionmaker, job_no)
    r = await client.post(f"/api/owner/jobs/{job_no}/refusal", json={"reason": "拒签"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = await client.post(f"/api/owner/jobs/{job_no}/direct", json={"quote_id": first, "reason": "again"}, headers=h)
    assert r.status_code == 400  # the excluded quote cannot be chosen again
    r = await client.post(f"/api/owner/jobs/{job_no}/direct", json={"quote_id": second, "reason": "次优"}, headers=h)
    assert r.status_code == 200 and r.json()["winner_quote_id"] == second
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    assert record["excluded"] == [{"quote_id": first, "reason": "refused_to_sign"}]
    assert record["params"] == {"chosen_quote_id": second, "reason": "次优"} and record["winner_quote_id"] == second
    r = subprocess.run([sys.executable, "scripts/verify_draw.py", "-"], input=json.dumps(record), text=True,
                       capture_output=True)
    assert r.returncode == 0, r.stdout


async def test_a_replaced_quote_keeps_its_own_values_and_receipt(client, sessionmaker, world):
    """The quote path replaces and inserts in one statement on PostgreSQL: the replaced row keeps its price,
    days, note and receipt; the new row has its own; the receipts re-derive from the stored rows."""
    from marketplace.domain.receipts import compute_receipt, receipt_body

    job_no = await published_job(client)
    h = await as_user(client, "ag1")
    first = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "81000.00", "service_days": 30,
                                                                 "note": "第一次"}, headers=h)
    second = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "79500.50", "service_days": 28,
                                                                  "note": "第二次"}, headers=h)
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    async with sessionmaker() as s:
        rows = (await s.exec(select(Quote).join(Job, Job.id == Quote.job_id).where(Job.job_no == job_no)
                             .order_by(Quote.id))).all()
        code = await agency_code_of(s, rows[0].agency_id)
    assert [(q.status, str(q.price), q.service_days, q.note) for q in rows] == [
        ("replaced", "81000.00", 30, "第一次"), ("live", "79500.50", 28, "第二次")]
    assert [q.receipt for q in rows] == [first.json()["receipt"], second.json()["receipt"]]
    for q in rows:
        assert q.receipt == compute_receipt(receipt_body(job_no, q, code))
    assert len({q.nonce for q in rows}) == 2


async def agency_code_of(s, agency_id: int) -> str:
    from marketplace.models import Agency
    return (await s.get(Agency, agency_id)).credit_code
