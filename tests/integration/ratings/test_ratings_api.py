"""Ratings, appeals, violations, credit, rankings, lists and the savings report over HTTP."""

import asyncio
import io
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.clock import utcnow
from marketplace.models import Job
from ratings.models import Appeal, Rating, Violation
from tests.helpers import complete_service, count_rows, make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user, end_publicity, pass_deadline, published_job, quote_all


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    for i in range(4):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")


async def settle(app):
    """Let queued recompute jobs (in-process) finish."""
    queue = app.state.queue
    if hasattr(queue, "drain"):
        await queue.drain()
    else:  # arq: run the job inline, as a worker would
        from app.tasks import REGISTRY
        async with app.state.sessionmaker() as s:
            ids = (await s.exec(select(Rating.agency_id))).all() + (await s.exec(select(Violation.agency_id))).all()
        for agency_id in set(ids):
            await REGISTRY["recompute_credit"]({"sessionmaker": app.state.sessionmaker}, agency_id)


async def completed_job(client, sessionmaker, method="lowest"):
    job_no = await published_job(client, method=method)
    await quote_all(client, job_no, ["70000.00", "80000.00", "90000.00"])
    await pass_deadline(sessionmaker, job_no)
    await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_user(client, "reg1"))
    await end_publicity(sessionmaker, job_no)
    h = await complete_service(client, sessionmaker, job_no, "own1")
    return job_no, h


async def test_rating_appeal_and_credit(client, app, sessionmaker, world):
    job_no, h = await completed_job(client, sessionmaker)
    stars = {"quality": 5, "timeliness": 4, "fee_compliance": 5, "attitude": 3, "comment": "按期完成"}
    for bad in ({**stars, "quality": 6}, {**stars, "attitude": 0}, {**stars, "comment": ""}):
        r = await client.post(f"/api/owner/jobs/{job_no}/rating", json=bad, headers=h)
        assert r.status_code == 400
    h2 = await as_user(client, "own2")
    assert (await client.post(f"/api/owner/jobs/{job_no}/rating", json=stars, headers=h2)).status_code == 404
    h = await as_user(client, "own1")
    r = await client.post(f"/api/owner/jobs/{job_no}/rating", json=stars, headers=h)
    assert r.status_code == 201
    # 0.40*5 + 0.25*4 + 0.20*5 + 0.15*3 = 4.45 → (4.45 - 1) / 4 * 100 = 86.25
    assert r.json()["score"] == "86.25"
    assert (await client.post(f"/api/owner/jobs/{job_no}/rating", json=stars, headers=h)).status_code == 409
    assert await count_rows(sessionmaker, Rating) == 1
    await settle(app)
    winner_code = (await client.get(f"/api/jobs/{job_no}")).json()["result"]["winner_agency_code"]
    credit = (await client.get(f"/api/agencies/{winner_code}/credit")).json()
    # (3*80 + 1*86.25) / (3 + 1) = 81.5625 → 81.56
    assert credit["score"] == "81.56" and credit["grade"] == "B" and credit["provisional"] is True
    assert credit["ratings"][0]["score"] == "86.25" and credit["parameters"]["prior_mean"] == "80.00"
    # The winner appeals; another agency cannot.
    rating_id = (await client.get("/api/agency/ratings", headers=await as_user(client, "ag0"))).json()
    h_ag = await as_user(client, "ag0")
    mine = (await client.get("/api/agency/ratings")).json()
    assert len(mine) == 1
    h_other = await as_user(client, "ag1")
    assert (await client.post(f"/api/agency/ratings/{mine[0]['id']}/appeal", json={"reason": "x"}, headers=h_other)).status_code == 404
    h_ag = await as_user(client, "ag0")
    r = await client.post(f"/api/agency/ratings/{mine[0]['id']}/appeal", json={"reason": "评分与事实不符"}, headers=h_ag)
    assert r.status_code == 201
    assert (await client.post(f"/api/agency/ratings/{mine[0]['id']}/appeal", json={"reason": "again"}, headers=h_ag)).status_code == 409
    h_reg = await as_user(client, "reg1")
    appeal_id = (await client.get("/api/regulator/appeals")).json()[0]["id"]
    r = await client.post(f"/api/regulator/appeals/{appeal_id}/decision", json={"decision": "uphold", "reason": "证据充分"}, headers=h_reg)
    assert r.json()["status"] == "upheld"
    await settle(app)
    credit = (await client.get(f"/api/agencies/{winner_code}/credit")).json()
    assert credit["score"] == "80.00" and credit["ratings"] == []
    del rating_id


async def test_appeal_out_of_time(client, app, sessionmaker, world):
    job_no, h = await completed_job(client, sessionmaker)
    await client.post(f"/api/owner/jobs/{job_no}/rating", json={"quality": 1, "timeliness": 1, "fee_compliance": 1,
                                                                "attitude": 1, "comment": "差"}, headers=h)
    async with sessionmaker() as s:
        await s.exec(update(Rating).values(rated_at=utcnow() - timedelta(days=16)))
        await s.commit()
    h = await as_user(client, "ag0")
    rid = (await client.get("/api/agency/ratings")).json()[0]["id"]
    r = await client.post(f"/api/agency/ratings/{rid}/appeal", json={"reason": "x"}, headers=h)
    assert r.status_code == 409 and await count_rows(sessionmaker, Appeal) == 0


async def test_rating_window_and_state(client, sessionmaker, world):
    job_no, h = await completed_job(client, sessionmaker)
    async with sessionmaker() as s:
        await s.exec(update(Job).values(completed_at=utcnow() - timedelta(days=31)))
        await s.commit()
    r = await client.post(f"/api/owner/jobs/{job_no}/rating", json={"quality": 3, "timeliness": 3,
                                                                    "fee_compliance": 3, "attitude": 3, "comment": "c"}, headers=h)
    assert r.status_code == 409


async def test_violation_black_list_refuses_quotes_and_lift(client, app, sessionmaker, world):
    h = await as_user(client, "reg1")
    async with sessionmaker() as s:
        from marketplace.models import Agency
        agency = (await s.exec(select(Agency).where(Agency.name.like("ag1 %")))).one()
        code = agency.credit_code
        agency.email = "ag1@example.cn"
        s.add(agency)
        await s.commit()
    r = await client.post("/api/regulator/violations", json={"agency_code": code, "severity": "severe",
                                                             "kind": "collusion", "description": "围标"}, headers=h)
    assert r.status_code == 400 and "evidence" in r.json()["fields"]
    r = await client.post("/api/regulator/violations", json={"agency_code": code, "severity": "severe", "kind": "collusion",
                                                             "description": "围标", "evidence": "调查报告 2026-11"}, headers=h)
    assert r.status_code == 201
    await settle(app)
    black = (await client.get("/api/lists/black")).json()
    assert [e["agency_code"] for e in black] == [code] and black[0]["reason"] == "severe_violation"
    job_no = await published_job(client)
    h_ag = await as_user(client, "ag1")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "100.00", "service_days": 3}, headers=h_ag)
    assert r.status_code == 403 and "black_listed" in r.json()["reasons"]
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/list-entries/{black[0]['id']}/lift", json={"reason": ""}, headers=h)
    assert r.status_code == 400
    r = await client.post(f"/api/regulator/list-entries/{black[0]['id']}/lift", json={"reason": "信用修复完成"}, headers=h)
    assert r.status_code == 200
    assert (await client.get("/api/lists/black")).json() == []
    h_ag = await as_user(client, "ag1")
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": "100.00", "service_days": 3}, headers=h_ag)
    assert r.status_code == 201
    # The agency was told each time: inbox in its language, e-mail (outbox) in Chinese.
    inbox = (await client.get("/account")).text
    assert "您的机构已被列入黑名单，在名单到期前不得报价。" in inbox and "原因：严重违规" in inbox
    assert "监管部门已提前解除您的机构的黑名单记录。" in inbox and "原因：信用修复完成" in inbox
    assert "list.black" not in inbox and "severe_violation" not in inbox
    client.cookies.set("lang", "en")
    inbox = (await client.get("/account")).text
    assert "Your agency was put on the black list" in inbox and "Reason: severe violation" in inbox
    from app.models import EmailOutbox
    async with sessionmaker() as s:
        mails = (await s.exec(select(EmailOutbox).order_by(EmailOutbox.id))).all()
    assert [m.to_address for m in mails] == ["ag1@example.cn"] * 2
    assert mails[0].subject == "【网上中介服务超市】您的机构已被列入黑名单，在名单到期前不得报价。"
    assert "原因：严重违规" in mails[0].body and agency.name in mails[0].body
    assert "原因：信用修复完成" in mails[1].body


async def test_rankings_and_filters(client, app, sessionmaker, world):
    async with sessionmaker() as s:
        from ratings.services.recompute import nightly_recompute
        await nightly_recompute(s)
    r = (await client.get("/api/rankings")).json()
    assert r["total"] == 4 and all(i["provisional"] for i in r["items"]) and "formula" in r
    assert (await client.get("/api/rankings?grade=B")).json()["total"] == 4
    assert (await client.get("/api/rankings?grade=Z")).status_code == 400
    assert (await client.get("/api/rankings?list=purple")).status_code == 400
    assert (await client.get("/api/rankings?q=ag2")).json()["total"] == 1


async def test_savings_report(client, app, sessionmaker, world):
    await completed_job(client, sessionmaker)
    r = (await client.get("/api/reports/savings?group_by=method")).json()
    assert r["baseline"] == "cap" and r["overall"]["count"] == 1
    assert r["overall"]["total_saved"] == "30000.00" and r["overall"]["savings_rate"] == "0.3000"
    assert r["groups"]["lowest"]["count"] == 1
    assert (await client.get("/api/reports/savings?date_from=2026-12-01&date_to=2026-11-01")).status_code == 400
    assert (await client.get("/api/reports/savings?method=bogus")).status_code == 400
    assert (await client.get("/api/reports/savings?group_by=bogus")).status_code == 400
    # The widest dates a date field takes leave the range open on that side (they used to overflow: 500).
    for url in ("/api/reports/savings", "/reports/savings", "/api/reports/savings.csv"):
        for extreme in ("?date_from=0001-01-01", "?date_to=9999-12-31", "?date_from=0001-01-01&date_to=9999-12-31"):
            r = await client.get(url + extreme)
            assert r.status_code == 200, (url, extreme, r.status_code)
    assert (await client.get("/api/reports/savings?date_to=9999-12-31")).json()["overall"]["count"] == 1
    assert (await client.get("/api/reports/savings?date_to=2000-01-01")).json()["overall"]["count"] == 0
    csv_r = await client.get("/api/reports/savings.csv?group_by=method")
    assert csv_r.status_code == 200 and "30000.00" in csv_r.content.decode("utf-8-sig")
    x = await client.get("/api/reports/savings.xlsx")
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(x.content)).active
    from decimal import Decimal
    assert ws.cell(2, 2).value == 1 and Decimal(str(ws.cell(2, 5).value)) == Decimal("30000.00")
    assert ws.cell(2, 5).number_format == "#,##0.00" and ws.cell(2, 6).number_format == "0.00%"
    assert (await client.get("/api/reports/savings.pdf")).status_code == 404


async def test_unknown_filter_values_are_refused(client, sessionmaker, world):
    assert (await client.get("/api/rankings?category=NOPE")).status_code == 400
    assert (await client.get("/api/reports/savings?owner=91350100M000100Y43")).status_code == 400
    assert (await client.get("/api/reports/savings?district=nowhere")).status_code == 400


async def test_red_entries_cannot_be_lifted(client, sessionmaker, world):
    from ratings.models import ListEntry
    async with sessionmaker() as s:
        from marketplace.models import Agency
        agency_id = (await s.exec(select(Agency.id))).first()
        entry = ListEntry(agency_id=agency_id, kind="red", reason="score_and_record")
        s.add(entry)
        await s.commit()
        entry_id = entry.id
    h = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/list-entries/{entry_id}/lift", json={"reason": "x"}, headers=h)
    assert r.status_code == 409


async def wait_for_notice(version, seen: int) -> None:
    """On PostgreSQL the commit's notification reaches the listener a moment later."""
    if version.listens:
        for _ in range(500):
            if version.counter > seen:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("no credit_changed notification arrived")


async def test_cached_ranking_page_follows_score_changes(client, app, sessionmaker, world):
    import re

    from marketplace.models import Agency
    from ratings.services.recompute import nightly_recompute, recompute_agency
    version = app.state.ranking_cache.version
    assert await version.wait_live() == version.listens  # LISTEN on PostgreSQL, a query on SQLite
    seen = version.counter
    async with sessionmaker() as s:
        await nightly_recompute(s)
        agency = (await s.exec(select(Agency).where(Agency.name.like("ag2 %")))).one()
    await wait_for_notice(version, seen)

    def score_cell(html):
        row = re.search(rf'<tr data-code="{agency.credit_code}">(.*?)</tr>', html, re.S).group(1)
        return re.findall(r'<td class="num">([0-9.]+)', row)[1]

    client.cookies.clear()
    first = await client.get("/rankings")
    assert first.status_code == 200 and score_cell(first.text) == "80.00"
    assert (await client.get("/rankings")).text == first.text  # served from the cache
    seen = version.counter
    async with sessionmaker() as s:
        s.add(Violation(agency_id=agency.id, severity="major", kind="test", recorded_by="t"))
        await s.commit()
        await recompute_agency(s, agency.id)
    await wait_for_notice(version, seen)
    after = await client.get("/rankings")
    assert score_cell(after.text) == "60.00"  # the new score, not the cached page


async def test_ranking_version_falls_back_to_the_database_without_a_listener(client, app, sessionmaker, world):
    """A lost LISTEN connection is noticed, the version is read from the database meanwhile, and on
    reconnecting the version moves on (notifications may have been missed)."""
    from sqlalchemy import text

    from ratings.services.recompute import nightly_recompute
    version = app.state.ranking_cache.version
    async with sessionmaker() as s:
        await nightly_recompute(s)
        db_version = await version.current(s) if not version.listens else None
        if not version.listens:
            assert db_version.startswith("db:") and db_version != "db:None"
            return
        assert await version.wait_live()
        assert (await version.current(s)).startswith("n:")
        before = version.counter
        await s.exec(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'market-credit-listener' AND datname = current_database()"))
        await s.commit()
        for _ in range(300):
            if not version.live:
                break
            await asyncio.sleep(0.01)
        assert not version.live
        assert (await version.current(s)).startswith("db:")
        await s.rollback()
    assert await version.wait_live(timeout=10)
    assert version.counter > before


async def test_visitors_who_miss_together_share_one_render(client, sessionmaker, world, monkeypatch):
    from ratings.controllers import rankings_pages as pages
    from ratings.services.recompute import nightly_recompute
    async with sessionmaker() as s:
        await nightly_recompute(s)
    calls = []
    real = pages._rankings

    async def counting(*args, **kwargs):
        calls.append(1)
        await asyncio.sleep(0.05)  # a slow render: the others arrive while it runs
        return await real(*args, **kwargs)

    monkeypatch.setattr(pages, "_rankings", counting)
    client.cookies.clear()
    pages_ = await asyncio.gather(*(client.get("/rankings?page=1") for _ in range(8)))
    assert [p.status_code for p in pages_] == [200] * 8
    assert len({p.text for p in pages_}) == 1 and len(calls) == 1
    bad = await asyncio.gather(*(client.get("/rankings?grade=Z") for _ in range(3)))
    assert [p.status_code for p in bad] == [400] * 3  # errors are not cached: each renders its own
    assert len(calls) == 4


async def test_random_weighted_weighs_by_grade_and_red_list(client, sessionmaker, world):
    """DESIGN: weight by the credit grade at the deadline (A 4, B 3, C 2, D 1); red-listed agencies 4."""
    from marketplace.models import Agency
    from ratings.models import ListEntry
    job_no = await published_job(client, method="random_weighted")
    await quote_all(client, job_no, ["70000.00", "80000.00", "90000.00", "95000.00"])
    async with sessionmaker() as s:
        agencies = {a.name.split()[0]: a for a in (await s.exec(select(Agency))).all()}
        for name, severities in (("ag0", ["major", "major"]), ("ag1", ["major"]), ("ag2", ["minor"])):
            for sev in severities:  # no ratings: 80 minus the deductions → 40 D, 60 C, 75 B
                s.add(Violation(agency_id=agencies[name].id, severity=sev, kind="test", recorded_by="t",
                                occurred_at=utcnow() - timedelta(days=2)))
        # ag3 scores 80 (grade B) but is on the red list
        s.add(ListEntry(agency_id=agencies["ag3"].id, kind="red", reason="score_and_record",
                        starts_at=utcnow() - timedelta(days=1)))
        await s.commit()
    await pass_deadline(sessionmaker, job_no)
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_user(client, "reg1"))
    assert r.status_code == 200, r.text
    record = (await client.get(f"/api/jobs/{job_no}/draw")).json()
    weights = {c["agency_code"]: c["weight"] for c in record["candidates"]}
    assert weights == {agencies["ag0"].credit_code: 1, agencies["ag1"].credit_code: 2,
                       agencies["ag2"].credit_code: 3, agencies["ag3"].credit_code: 4}


async def test_search_ignores_case_and_takes_wildcards_literally(client, sessionmaker, world):
    from ratings.services.recompute import nightly_recompute
    async with sessionmaker() as s:
        await nightly_recompute(s)

    async def names(path):
        r = await client.get(path)
        assert r.status_code == 200, r.text
        return sorted(i["name"].split()[0] for i in r.json()["items"])

    assert await names("/api/rankings?q=AG2") == ["ag2"]
    assert await names("/api/rankings?q=%25") == []  # "%"
    assert await names("/api/rankings?q=a_2") == []  # "_" is not a wildcard
    assert await names("/api/rankings?q=ag") == ["ag0", "ag1", "ag2", "ag3"]
    jobs = (await client.get("/api/jobs?q=%25")).json()
    assert jobs["total"] == 0


async def test_savings_downloads_are_documented_as_the_files_they_are(client):
    """The OpenAPI document labelled the CSV and XLSX downloads JSON, and the CSV said its charset twice."""
    doc = (await client.get("/schema/openapi.json")).json()
    for path, media_type in (("/api/reports/savings.csv", "text/csv"),
                             ("/api/reports/savings.xlsx",
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        assert list(doc["paths"][path]["get"]["responses"]["200"]["content"]) == [media_type], path
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media_type, path
    assert (await client.get("/api/reports/savings.csv")).headers["content-type"] == "text/csv; charset=utf-8"


async def test_the_manage_page_offers_rating_only_while_it_can_succeed(client, sessionmaker, world):
    """Inside the 30 days the page links to the rating form with its last day; after them it says the period
    ended instead of linking to a page that refuses (issue #12, "Dead ends")."""
    from datetime import timedelta

    from sqlalchemy import update

    from app.clock import utcnow
    from marketplace.models import Job

    job_no, _h = await completed_job(client, sessionmaker)
    await as_user(client, "own1")
    page = (await client.get(f"/owner/jobs/{job_no}")).text
    assert f'href="/owner/jobs/{job_no}/rate"' in page
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(completed_at=utcnow() - timedelta(days=31)))
        await s.commit()
    page = (await client.get(f"/owner/jobs/{job_no}")).text
    assert f'href="/owner/jobs/{job_no}/rate"' not in page and 'id="rate-link"' in page
    assert (await client.get(f"/owner/jobs/{job_no}/rate")).status_code == 409  # the form itself still refuses
