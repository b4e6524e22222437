"""The marketplace loop through its HTML pages: forms, sealed quotes, the draw explained."""

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.canonical import canonical
from app.clock import SHANGHAI, utcnow
from app.models import AuditEvent
from marketplace.domain.money import grouped
from marketplace.models import Contract, Job, Objection, Quote, Selection
from tests.helpers import (
    RESULT_PDF,
    SIGNED_PDF,
    contract_agency_username,
    count_rows,
    login,
    make_agency,
    make_owner,
    make_user,
)

PRICES = ["87654.32", "76543.21", "65432.10"]


def local(dt) -> str:
    """A `datetime-local` form value in Beijing time."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def job_form(**over) -> dict:
    data = dict(title="环境影响评价服务", project_name="城南道路改造工程", project_code="P-2026-77",
                category_code="EIA", min_level="3", budget_cap="100000.00", method="random", state_funded="true",
                item_code="EIA-01",
                quote_deadline=local(utcnow() + timedelta(hours=2)), service_days="60",
                description="编制环境影响报告书", beacon_source="none", beacon_label="", exclusions="",
                price_weight="60", credit_weight="40")
    data.update(over)
    return data


async def as_user(client, username: str | None) -> str:
    client.cookies.clear()
    if username is None:
        r = await client.get("/api/csrf")
        return r.json()["csrf_token"]
    return await login(client, username)


async def post(client, url: str, token: str, **data):
    return await client.post(url, data={**data, "csrf_token": token})


async def upload(client, url: str, token: str, name: str = "signed.pdf", data: bytes = SIGNED_PDF):
    return await client.post(url, data={"csrf_token": token}, files={"file": (name, data, "application/pdf")})


async def create_job(client, token: str, **over) -> str:
    r = await post(client, "/owner/jobs/new", token, **job_form(**over))
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[-1]


async def published_job(client, token: str, **over) -> str:
    job_no = await create_job(client, token, **over)
    r = await post(client, f"/owner/jobs/{job_no}/publish", token)
    assert r.status_code == 303, r.text
    return job_no


async def quote(client, username: str, job_no: str, price: str, days: str = "45"):
    token = await as_user(client, username)
    return await post(client, f"/jobs/{job_no}/quote", token, price=price, service_days=days, note="按期完成")


async def set_job(sessionmaker, job_no: str, **values) -> None:
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(**values))
        await s.commit()


async def pass_deadline(sessionmaker, job_no: str) -> None:
    await set_job(sessionmaker, job_no, quote_deadline=utcnow() - timedelta(seconds=1))


async def select_now(client, job_no: str) -> None:
    token = await as_user(client, "reg1")
    r = await post(client, f"/regulator/jobs/{job_no}/select", token, back="/regulator/selections")
    assert r.status_code == 303 and r.headers["location"] == "/regulator/selections"


async def get_job(sessionmaker, job_no: str) -> Job:
    async with sessionmaker() as s:
        return (await s.exec(select(Job).where(Job.job_no == job_no))).one()


async def selection(sessionmaker, job_no: str) -> Selection:
    job = await get_job(sessionmaker, job_no)
    async with sessionmaker() as s:
        return (await s.exec(select(Selection).where(Selection.job_id == job.id))).one()


def sealed_count(html: str) -> int:
    m = re.search(r'id="live-count">[^<]*?(\d+)', html)
    assert m, "the sealed quote count is shown"
    return int(m.group(1))


def assert_no_prices(html: str, prices) -> None:
    for p in prices:
        whole, cents = p.split(".")
        assert p not in html and f"{int(whole):,}.{cents}" not in html, p


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    agencies = [await make_agency(sessionmaker, f"ag{i}") for i in range(4)]
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    return agencies


async def test_owner_creates_edits_and_publishes_through_forms(client, sessionmaker, world):
    token = await as_user(client, "own1")
    assert (await client.get("/owner/jobs/new")).status_code == 200
    job_no = await create_job(client, token, method="best_value", price_weight="70", credit_weight="30",
                              exclusions=f"{world[3].credit_code}")
    page = await client.get(f"/owner/jobs/{job_no}")
    assert page.status_code == 200 and "环境影响评价服务" in page.text and world[3].credit_code in page.text
    assert (await client.get(f"/jobs/{job_no}")).status_code == 404  # a draft is not public
    edit = await client.get(f"/owner/jobs/{job_no}/edit")
    assert edit.status_code == 200 and 'value="70"' in edit.text and world[3].credit_code in edit.text
    deadline = utcnow().replace(second=0, microsecond=0) + timedelta(days=3)
    r = await post(client, f"/owner/jobs/{job_no}/edit", token,
                   **job_form(title="修改后的标题", method="best_value", price_weight="55", credit_weight="45",
                              quote_deadline=local(deadline), beacon_source="manual", beacon_label="drand round"))
    assert r.status_code == 303
    job = await get_job(sessionmaker, job_no)
    assert (job.title, job.price_weight, job.credit_weight, job.status) == ("修改后的标题", 55, 45, "draft")
    assert job.quote_deadline.replace(tzinfo=None) == deadline.replace(tzinfo=None)  # Beijing time → UTC
    assert job.beacon_source == "manual" and job.beacon_label == "drand round"

    confirm = await client.get(f"/owner/jobs/{job_no}/publish")
    assert confirm.status_code == 200 and 'id="publish-confirm"' in confirm.text
    assert (await get_job(sessionmaker, job_no)).seed_commitment is None  # nothing published by looking
    r = await post(client, f"/owner/jobs/{job_no}/publish", token)
    assert r.status_code == 303
    job = await get_job(sessionmaker, job_no)
    assert job.status == "published" and len(job.seed_commitment) == 64
    public = await client.get(f"/jobs/{job_no}")
    assert public.status_code == 200 and job.seed_commitment in public.text and "countdown" in public.text
    assert job.server_seed not in public.text
    # Published jobs can no longer be edited or re-published.
    assert (await client.get(f"/owner/jobs/{job_no}/edit")).status_code == 303
    r = await post(client, f"/owner/jobs/{job_no}/edit", token, **job_form())
    assert r.status_code == 409 and (await get_job(sessionmaker, job_no)).title == "修改后的标题"
    assert (await post(client, f"/owner/jobs/{job_no}/publish", token)).status_code == 409
    listing = await client.get("/owner/jobs")
    assert job_no in listing.text
    assert job_no in (await client.get("/owner/jobs?status=published")).text
    assert job_no not in (await client.get("/owner/jobs?status=draft")).text
    # Another owner sees nothing of it.
    token2 = await as_user(client, "own2")
    assert job_no not in (await client.get("/owner/jobs")).text
    assert (await client.get(f"/owner/jobs/{job_no}")).status_code == 404
    assert (await post(client, f"/owner/jobs/{job_no}/cancel", token2, reason="x")).status_code == 404


async def test_sealed_quotes_receipts_selection_and_contract(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    receipts = {}
    for i, price in enumerate(PRICES):
        r = await quote(client, f"ag{i}", job_no, price)
        assert r.status_code == 303, r.text
        mine = await client.get(f"/jobs/{job_no}")
        assert grouped(price) in mine.text  # an agency sees its own quote …
        receipts[i] = re.search(r'id="my-receipt">([0-9a-f]{64})<', mine.text).group(1)
    # … and may replace it and withdraw it until the deadline.
    r = await quote(client, "ag0", job_no, "87654.31")
    assert r.status_code == 303
    receipts[0] = re.search(r'id="my-receipt">([0-9a-f]{64})<', (await client.get(f"/jobs/{job_no}")).text).group(1)
    token2 = await as_user(client, "ag2")
    assert (await post(client, f"/jobs/{job_no}/quote/withdraw", token2)).status_code == 303
    assert 'id="live-count"' not in (await client.get(f"/jobs/{job_no}")).text  # agencies never see the count
    await as_user(client, "own1")
    assert sealed_count((await client.get(f"/jobs/{job_no}")).text) == 2
    r = await quote(client, "ag2", job_no, PRICES[2])
    receipts[2] = re.search(r'id="my-receipt">([0-9a-f]{64})<', (await client.get(f"/jobs/{job_no}")).text).group(1)
    all_prices = [*PRICES, "87654.31"]

    # The receipt download: the committed fields plus the receipt, own quotes only.
    async with sessionmaker() as s:
        q0 = (await s.exec(select(Quote).where(Quote.agency_id == world[0].id, Quote.status == "live"))).one()
    await as_user(client, "ag0")
    dl = await client.get(f"/agency/quotes/{q0.id}/receipt.json")
    assert dl.status_code == 200 and dl.headers["content-disposition"].startswith("attachment")
    body = dl.json()
    receipt = body.pop("receipt")
    assert receipt == receipts[0] == hashlib.sha256(canonical(body)).hexdigest()
    assert body["price"] == "87654.31" and body["job_id"] == job_no
    assert "87,654.31" in (await client.get("/agency/quotes")).text
    await as_user(client, "ag1")
    assert (await client.get(f"/agency/quotes/{q0.id}/receipt.json")).status_code == 404

    # Before the deadline: no price for anybody; the number of quotes for the owner only (招标投标法 第二十二条:
    # the number of bidders is not disclosed before opening).
    for who in (None, "own1", "ag3", "reg1", "admin1"):
        await as_user(client, who)
        for url in (f"/jobs/{job_no}", "/jobs", f"/jobs?q={job_no}") + (
                (f"/owner/jobs/{job_no}", "/owner/jobs") if who == "own1" else ()) + (
                ("/regulator/selections",) if who in ("reg1", "admin1") else ()) + (
                ("/agency/jobs",) if who == "ag3" else ()):
            page = await client.get(url)
            assert page.status_code == 200, (who, url)
            assert_no_prices(page.text, all_prices)
            if url in (f"/jobs/{job_no}", f"/owner/jobs/{job_no}"):
                if who == "own1":
                    assert sealed_count(page.text) == 3
                else:
                    assert 'id="sealed"' in page.text and 'id="live-count"' not in page.text
                assert 'id="opened-quotes"' not in page.text and "ag1 咨询有限公司" not in page.text

    # "Select now" is refused before the deadline, then offered and run by the regulator.
    await select_now(client, job_no)
    assert (await get_job(sessionmaker, job_no)).status == "published"
    await pass_deadline(sessionmaker, job_no)
    await as_user(client, "reg1")
    listing = await client.get("/regulator/selections?status=published")
    assert f'/regulator/jobs/{job_no}/select' in listing.text
    assert f'/regulator/jobs/{job_no}/select' in (await client.get(f"/jobs/{job_no}")).text
    await as_user(client, "admin1")  # admins read the list but get no button
    assert f'/regulator/jobs/{job_no}/select' not in (await client.get("/regulator/selections")).text
    await select_now(client, job_no)
    job = await get_job(sessionmaker, job_no)
    assert job.status == "awarded"
    sel = await selection(sessionmaker, job_no)

    await as_user(client, None)
    page = (await client.get(f"/jobs/{job_no}")).text
    assert f'id="draw-winner">{sel.winner_quote_id}<' in page
    for value in (job.seed_commitment, job.server_seed, sel.candidates_digest, sel.final_seed):
        assert value in page
    assert page.count('class="check-ok"') == 3 and 'class="check-bad"' not in page
    assert f"python3 verify_draw.py http://testserver.local/api/jobs/{job_no}/draw" in page
    assert 'id="opened-quotes"' in page and all(grouped(p) in page for p in ["87654.31", *PRICES[1:]])
    assert grouped("87654.32") not in page  # the replaced quote is not among the opened ones
    winner = next(c for c in sel.candidates if c["quote_id"] == sel.winner_quote_id)
    assert grouped(winner["price"]) in re.search(r'id="winner-price">(.*?)</dd>', page).group(1)

    # Each bidder checks its receipt against the published quote.
    await as_user(client, "ag1")
    page = (await client.get(f"/jobs/{job_no}", params={"receipt": receipts[1]})).text
    assert 'id="receipt-ok"' in page and receipts[1] in page
    assert 'class="check-ok">✓' in page.split('id="receipt-check"')[1]

    # An objection from a losing bidder, dismissed by the regulator.
    winner_agency = await _agency_of_quote(sessionmaker, sel.winner_quote_id)
    loser = next(i for i in range(3) if world[i].id != winner_agency)
    tok = await as_user(client, f"ag{loser}")
    r = await post(client, f"/jobs/{job_no}/objection", tok, reason="")
    assert r.status_code == 400 and await count_rows(sessionmaker, Objection) == 0
    r = await post(client, f"/jobs/{job_no}/objection", tok, reason="中选单位资质存疑")
    assert r.status_code == 303
    tok = await as_user(client, "reg1")
    page = await client.get("/regulator/objections")
    assert "中选单位资质存疑" in page.text
    obj_id = int(re.search(r'/regulator/objections/(\d+)/decision', page.text).group(1))
    r = await post(client, f"/regulator/objections/{obj_id}/decision", tok, decision="dismiss", reason="")
    assert r.status_code == 400
    r = await post(client, f"/regulator/objections/{obj_id}/decision", tok, decision="dismiss", reason="资质有效")
    assert r.status_code == 303
    async with sessionmaker() as s:
        assert (await s.get(Objection, obj_id)).status == "dismissed"
    assert (await selection(sessionmaker, job_no)).winner_quote_id == sel.winner_quote_id

    # Contract: refused during publicity, uploaded and confirmed after it, then the agency confirms.
    tok = await as_user(client, "own1")
    r = await upload(client, f"/owner/jobs/{job_no}/contract", tok)
    assert r.status_code == 409 and await count_rows(sessionmaker, Contract) == 0
    await set_job(sessionmaker, job_no, publicity_ends_at=utcnow() - timedelta(seconds=1))
    manage = await client.get(f"/owner/jobs/{job_no}")
    assert 'id="contract-form"' in manage.text and 'enctype="multipart/form-data"' in manage.text
    assert "下一步：与中介机构签订合同并上传" in manage.text  # the stage's next action and its deadline
    r = await upload(client, f"/owner/jobs/{job_no}/contract", tok, name="contract.docx", data=b"PK\x03\x04x")
    assert r.status_code == 400 and "PDF" in r.text and await count_rows(sessionmaker, Contract) == 0
    assert (await upload(client, f"/owner/jobs/{job_no}/contract", tok)).status_code == 303
    assert (await get_job(sessionmaker, job_no)).status == "awarded"  # until the agency confirms
    assert (await upload(client, f"/owner/jobs/{job_no}/contract", tok)).status_code == 409
    agency = await contract_agency_username(sessionmaker, job_no)
    atok = await as_user(client, agency)
    page = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="contract-confirm-form"' in page and 'id="contract-file"' in page
    assert "下一步：确认或拒绝签署的合同" in page
    assert (await post(client, f"/jobs/{job_no}/contract/confirm", atok)).status_code == 303
    assert (await get_job(sessionmaker, job_no)).status == "contracted"
    page = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="result-form"' in page and 'id="extension-form"' in page and 'id="service-due"' in page
    r = await post(client, f"/jobs/{job_no}/extensions", atok, days="0", reason="x")
    assert r.status_code == 400
    assert (await post(client, f"/jobs/{job_no}/extensions", atok, days="5", reason="等待资料")).status_code == 303
    r = await client.post(f"/jobs/{job_no}/results", data={"csrf_token": atok, "note": "初稿"},
                          files=[("file", ("report.pdf", RESULT_PDF, "application/pdf"))])
    assert r.status_code == 303, r.text
    # The owner: decides the extension, pauses and resumes, returns the result, then confirms the second.
    tok = await as_user(client, "own1")
    manage = (await client.get(f"/owner/jobs/{job_no}")).text
    assert 'id="timer-form"' in manage and 'id="result-confirm-form"' in manage and "等待资料" in manage
    assert "下一步：确认或退回成果" in manage
    ext_id = int(re.search(r'/extensions/(\d+)/decision', manage).group(1))
    r = await post(client, f"/owner/jobs/{job_no}/extensions/{ext_id}/decision", tok, decision="approve", days="3")
    assert r.status_code == 303
    assert (await post(client, f"/owner/jobs/{job_no}/timer/pause", tok, reason="")).status_code == 400
    assert (await post(client, f"/owner/jobs/{job_no}/timer/pause", tok, reason="等待业主资料")).status_code == 303
    assert (await post(client, f"/owner/jobs/{job_no}/timer/pause", tok, reason="again")).status_code == 409
    assert (await post(client, f"/owner/jobs/{job_no}/timer/resume", tok, reason="资料已到")).status_code == 303
    assert (await post(client, f"/owner/jobs/{job_no}/result/return", tok, reason="")).status_code == 400
    assert (await post(client, f"/owner/jobs/{job_no}/result/return", tok, reason="缺附图")).status_code == 303
    atok = await as_user(client, agency)
    r = await client.post(f"/jobs/{job_no}/results", data={"csrf_token": atok, "note": "修改稿"},
                          files=[("file", ("report2.pdf", RESULT_PDF, "application/pdf"))])
    assert r.status_code == 303
    tok = await as_user(client, "own1")
    assert (await post(client, f"/owner/jobs/{job_no}/result/confirm", tok)).status_code == 303
    assert (await get_job(sessionmaker, job_no)).status == "completed"
    public = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="contract-publicity"' in public and "缺附图" in public  # the owner sees the returned round
    client.cookies.clear()
    public = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="contract-publicity"' in public and 'id="result-counts"' in public
    assert "缺附图" not in public and 'id="contract-file"' not in public  # reasons and files: parties only
    assert (await client.get(f"/jobs/{job_no}/contract.pdf")).status_code == 404
    async with sessionmaker() as s:
        contract = (await s.exec(select(Contract))).one()
    assert str(contract.amount) == winner["price"]


async def _agency_of_quote(sessionmaker, quote_id: str) -> int:
    async with sessionmaker() as s:
        return (await s.get(Quote, int(quote_id))).agency_id


async def test_upheld_objection_moves_to_the_next_candidate(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token, method="lowest")
    for i, price in enumerate(["60000.00", "61000.00", "62000.00"]):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    first = (await selection(sessionmaker, job_no)).winner_quote_id
    tok = await as_user(client, "ag1")
    assert (await post(client, f"/jobs/{job_no}/objection", tok, reason="报价低于成本")).status_code == 303
    tok = await as_user(client, "admin1")  # admins read, regulators decide
    page = await client.get("/regulator/objections?status=open")
    assert page.status_code == 200 and "报价低于成本" in page.text and "/decision" not in page.text
    async with sessionmaker() as s:
        obj = (await s.exec(select(Objection))).one()
    assert f'id="objection-{obj.id}"' in page.text
    assert (await post(client, f"/regulator/objections/{obj.id}/decision", tok, decision="uphold",
                       reason="x")).status_code == 403
    tok = await as_user(client, "reg1")
    r = await post(client, f"/regulator/objections/{obj.id}/decision", tok, decision="uphold", reason="成立")
    assert r.status_code == 303
    sel = await selection(sessionmaker, job_no)
    assert sel.winner_quote_id != first and sel.excluded == [{"quote_id": first, "reason": "objection_upheld"}]
    page = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="draw-excluded"' in page and f'id="draw-winner">{sel.winner_quote_id}<' in page
    # A decided objection cannot be decided again.
    r = await post(client, f"/regulator/objections/{obj.id}/decision", tok, decision="dismiss", reason="再议")
    assert r.status_code == 409


async def test_ineligible_agency_sees_its_reasons(client, sessionmaker, world):
    await make_agency(sessionmaker, "surveyor", quals=(("SURVEY", 1),))
    token = await as_user(client, "own1")
    job_no = await published_job(client, token, exclusions=world[1].credit_code)
    from marketplace.services.eligibility import reason_text

    tok = await as_user(client, "surveyor")
    page = await client.get("/agency/jobs")  # by default only the calls it may quote on
    assert page.status_code == 200 and job_no not in page.text and "show=all" in page.text
    page = await client.get("/agency/jobs?show=all")
    assert page.status_code == 200 and job_no in page.text and reason_text("not_qualified") in page.text
    assert (await client.get("/agency/jobs?show=mine")).status_code == 400
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="not-eligible"' in page.text and reason_text("not_qualified") in page.text
    assert 'id="quote-form"' not in page.text
    r = await post(client, f"/jobs/{job_no}/quote", tok, price="1000.00", service_days="10")
    assert r.status_code == 403 and reason_text("not_qualified") in r.text

    tok = await as_user(client, "ag1")  # declared conflicted by the owner (回避)
    page = await client.get(f"/jobs/{job_no}")
    assert reason_text("excluded_by_owner") in page.text and 'id="quote-form"' not in page.text
    assert reason_text("excluded_by_owner") in (await client.get("/agency/jobs?show=all")).text
    await as_user(client, "ag0")
    assert job_no in (await client.get("/agency/jobs")).text  # eligible: listed by default
    page = await client.get(f"/jobs/{job_no}")
    assert 'id="quote-form"' in page.text and 'id="not-eligible"' not in page.text
    assert await count_rows(sessionmaker, Quote) == 0


async def test_bad_inputs_are_400_and_write_nothing(client, sessionmaker, world):
    token = await as_user(client, "own1")
    before = await count_rows(sessionmaker, AuditEvent)
    cases = {
        "quote_deadline": dict(quote_deadline=local(utcnow() - timedelta(hours=1))),
        "method": dict(method="direct", budget_cap="200000.00"),
        "price_weight": dict(method="best_value", price_weight="70", credit_weight="40"),
        "budget_cap": dict(budget_cap="1000.123"),
        "exclusions": dict(exclusions="91330100ABCDEFGHIJ"),
        "category_code": dict(category_code="NOPE"),
    }
    for name, over in cases.items():
        r = await post(client, "/owner/jobs/new", token, **job_form(**over))
        assert r.status_code == 400, (name, r.status_code)
        assert 'id="form-error"' in r.text and 'class="err"' in r.text, name
        assert 'name="title" type="text" value="环境影响评价服务"' in r.text  # the form keeps what was typed
    assert await count_rows(sessionmaker, Job) == 0
    assert await count_rows(sessionmaker, AuditEvent) == before

    job_no = await published_job(client, token, budget_cap="50000.00")
    before = await count_rows(sessionmaker, AuditEvent)
    for price in ("50000.01", "1000.123", "0", "-5", "abc"):
        r = await quote(client, "ag0", job_no, price)
        assert r.status_code == 400, price
        assert 'id="page-error"' in r.text and 'id="e-price"' in r.text
    r = await quote(client, "ag0", job_no, "1000.00", days="0")
    assert r.status_code == 400 and 'id="e-service_days"' in r.text
    assert await count_rows(sessionmaker, Quote) == 0
    assert await count_rows(sessionmaker, AuditEvent) == before

    tok = await as_user(client, "own1")
    r = await post(client, f"/owner/jobs/{job_no}/cancel", tok, reason="  ")
    assert r.status_code == 400 and (await get_job(sessionmaker, job_no)).status == "published"
    for url in ("/jobs?status=bogus", "/jobs?method=lottery", "/jobs?category=NOPE", "/jobs?status=draft",
                "/jobs?page=0", "/owner/jobs?status=zzz", f"/jobs?q={'x' * 101}"):
        r = await client.get(url)
        assert r.status_code == 400, url
        assert "flash error" in r.text
    await as_user(client, "reg1")
    for url in ("/regulator/selections?method=zz", "/regulator/objections?status=zz"):
        assert (await client.get(url)).status_code == 400
    await as_user(client, "ag0")
    assert (await client.get("/agency/jobs?category=NOPE")).status_code == 400
    assert (await client.get("/jobs?status=published&method=random&category=EIA")).status_code == 200


async def test_roles_are_enforced(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    await quote(client, "ag0", job_no, "1000.00")
    async with sessionmaker() as s:
        q = (await s.exec(select(Quote))).one()
    reads = {"/owner/jobs": {"owner"}, "/owner/jobs/new": {"owner"}, f"/owner/jobs/{job_no}": {"owner"},
             "/agency/jobs": {"agency"}, "/agency/quotes": {"agency"},
             f"/agency/quotes/{q.id}/receipt.json": {"agency"},
             "/regulator/selections": {"regulator", "admin"}, "/regulator/objections": {"regulator", "admin"},
             "/jobs": None, f"/jobs/{job_no}": None}
    writes = {f"/jobs/{job_no}/quote": "agency", f"/jobs/{job_no}/quote/withdraw": "agency",
              f"/jobs/{job_no}/objection": "agency", f"/jobs/{job_no}/justification": "agency",
              "/owner/jobs/new": "owner", f"/owner/jobs/{job_no}/cancel": "owner",
              f"/owner/jobs/{job_no}/contract": "owner", f"/regulator/jobs/{job_no}/select": "regulator",
              f"/regulator/jobs/{job_no}/beacon": "regulator", "/regulator/objections/1/decision": "regulator"}
    await make_user(sessionmaker, "rev1", "reviewer")
    users = {None: None, "own1": "owner", "ag0": "agency", "reg1": "regulator", "rev1": "reviewer", "admin1": "admin"}
    for username, role in users.items():
        tok = await as_user(client, username)
        for url, allowed in reads.items():
            r = await client.get(url)
            ok = allowed is None or role in allowed
            if ok:
                assert r.status_code == 200, (username, url, r.status_code)
            else:
                assert r.status_code == (303 if role is None else 403), (username, url, r.status_code)
        for url, allowed in writes.items():
            if role == allowed:
                continue
            r = await post(client, url, tok, price="1.00", service_days="1", reason="x", value="x",
                           decision="dismiss")
            assert r.status_code == (303 if role is None else 403), (username, url, r.status_code)
            if role is None:
                assert r.headers["location"].startswith("/login")
    assert (await get_job(sessionmaker, job_no)).status == "published"
    assert await count_rows(sessionmaker, Quote) == 1
    # Forms without the CSRF token are refused.
    await as_user(client, "ag1")
    r = await client.post(f"/jobs/{job_no}/quote", data={"price": "1.00", "service_days": "1"})
    assert r.status_code == 403 and await count_rows(sessionmaker, Quote) == 1


async def test_failed_job_shows_liubiao_and_is_copied(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    assert (await quote(client, "ag0", job_no, "1000.00")).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    assert (await get_job(sessionmaker, job_no)).status == "failed"
    await as_user(client, None)
    page = (await client.get(f"/jobs/{job_no}")).text
    assert 'id="failed"' in page and "流标" in page.split('id="failed"')[1]
    assert 'id="opened-quotes"' in page and "1,000.00" in page
    assert "流标" in (await client.get("/jobs?status=failed")).text
    tok = await as_user(client, "own1")
    r = await post(client, f"/owner/jobs/{job_no}/copy", tok)
    assert r.status_code == 303 and r.headers["location"].endswith("/edit")
    new_no = r.headers["location"].split("/")[3]
    copy = await get_job(sessionmaker, new_no)
    assert copy.status == "draft" and copy.title == "环境影响评价服务"
    assert (await client.get(r.headers["location"])).status_code == 200
    # Only failed or cancelled jobs can be copied.
    assert (await post(client, f"/owner/jobs/{new_no}/copy", tok)).status_code == 409


async def test_cancel_needs_a_reason_and_happens_only_before_the_deadline(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    r = await post(client, f"/owner/jobs/{job_no}/cancel", token, reason="项目取消")
    assert r.status_code == 303
    job = await get_job(sessionmaker, job_no)
    assert job.status == "cancelled" and job.status_reason == "项目取消"
    assert "项目取消" in (await client.get(f"/jobs/{job_no}")).text
    job_no = await published_job(client, token)
    await pass_deadline(sessionmaker, job_no)
    assert (await post(client, f"/owner/jobs/{job_no}/cancel", token, reason="太晚")).status_code == 409
    assert (await get_job(sessionmaker, job_no)).status == "published"


async def test_direct_choice_by_the_owner(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token, method="direct", budget_cap="50000.00", state_funded="false")
    for i, price in enumerate(["45000.00", "42000.00"]):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    assert (await get_job(sessionmaker, job_no)).status == "closed"
    tok = await as_user(client, "own1")
    page = (await client.get(f"/owner/jobs/{job_no}")).text
    assert 'id="choose-form"' in page
    ids = re.findall(r'name="quote_id" value="(\d+)"', page)
    assert len(ids) == 2
    r = await post(client, f"/owner/jobs/{job_no}/choose", tok, quote_id=ids[0], reason="")
    assert r.status_code == 400 and (await get_job(sessionmaker, job_no)).status == "closed"
    r = await post(client, f"/owner/jobs/{job_no}/choose", tok, quote_id="999999", reason="熟悉项目")
    assert r.status_code == 400 and (await get_job(sessionmaker, job_no)).status == "closed"
    r = await post(client, f"/owner/jobs/{job_no}/choose", tok, quote_id=ids[1], reason="熟悉项目情况")
    assert r.status_code == 303
    sel = await selection(sessionmaker, job_no)
    assert sel.winner_quote_id == ids[1] and sel.params["reason"] == "熟悉项目情况"
    assert "熟悉项目情况" in (await client.get(f"/jobs/{job_no}")).text


async def test_manual_beacon_entered_by_the_regulator(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token, beacon_source="manual", beacon_label="drand 主网第一轮")
    for i, price in enumerate(["50000.00", "51000.00", "52000.00"]):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    assert (await get_job(sessionmaker, job_no)).status == "closed"
    tok = await as_user(client, "reg1")
    assert f"/regulator/jobs/{job_no}/beacon" in (await client.get("/regulator/selections")).text
    r = await post(client, f"/regulator/jobs/{job_no}/beacon", tok, value="", back=f"/jobs/{job_no}")
    assert r.status_code == 400 and (await get_job(sessionmaker, job_no)).beacon_value is None
    beacon = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    r = await post(client, f"/regulator/jobs/{job_no}/beacon", tok, value=beacon, back=f"/jobs/{job_no}")
    assert r.status_code == 303 and r.headers["location"] == f"/jobs/{job_no}"
    assert (await get_job(sessionmaker, job_no)).status == "awarded"
    page = (await client.get(f"/jobs/{job_no}")).text
    assert beacon in page and page.count('class="check-ok"') == 3
    r = await post(client, f"/regulator/jobs/{job_no}/beacon", tok, value="again")
    assert r.status_code == 409


async def test_abnormally_low_price_is_justified_and_decided(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token, method="lowest")
    for i, price in enumerate(["20000.00", "80000.00", "82000.00"]):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    sel = await selection(sessionmaker, job_no)
    assert sel.abnormal_status == "awaiting"
    assert 'id="abnormal"' in (await client.get(f"/jobs/{job_no}")).text
    tok = await as_user(client, "ag1")  # not the winner: no form, and refused
    assert 'id="justification-form"' not in (await client.get(f"/jobs/{job_no}")).text
    assert (await post(client, f"/jobs/{job_no}/justification", tok, reason="x")).status_code == 409
    tok = await as_user(client, "ag0")
    assert 'id="justification-form"' in (await client.get(f"/jobs/{job_no}")).text
    assert (await post(client, f"/jobs/{job_no}/justification", tok, reason="自有设备，成本较低")).status_code == 303
    tok = await as_user(client, "own1")
    page = (await client.get(f"/owner/jobs/{job_no}")).text
    assert "自有设备，成本较低" in page and 'id="justification-decision"' in page
    r = await post(client, f"/owner/jobs/{job_no}/justification", tok, decision="accept", reason="理由充分")
    assert r.status_code == 303
    assert (await selection(sessionmaker, job_no)).abnormal_status == "accepted"
    # The contract is not blocked any more once publicity ends.
    await set_job(sessionmaker, job_no, publicity_ends_at=utcnow() - timedelta(seconds=1))
    assert (await upload(client, f"/owner/jobs/{job_no}/contract", tok)).status_code == 303


async def test_refusal_to_sign_offers_the_next_candidate(client, sessionmaker, world):
    token = await as_user(client, "own1")
    job_no = await published_job(client, token, method="lowest")
    for i, price in enumerate(["70000.00", "71000.00", "72000.00"]):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    first = (await selection(sessionmaker, job_no)).winner_quote_id
    tok = await as_user(client, "own1")
    assert (await post(client, f"/owner/jobs/{job_no}/refusal", tok, reason="拒绝签约")).status_code == 409
    await set_job(sessionmaker, job_no, publicity_ends_at=utcnow() - timedelta(seconds=1))
    assert (await post(client, f"/owner/jobs/{job_no}/refusal", tok, reason="")).status_code == 400
    assert (await selection(sessionmaker, job_no)).winner_quote_id == first
    assert (await post(client, f"/owner/jobs/{job_no}/refusal", tok, reason="拒绝签约")).status_code == 303
    sel = await selection(sessionmaker, job_no)
    assert sel.winner_quote_id != first and sel.excluded[0]["reason"] == "refused_to_sign"
    page = (await client.get(f"/jobs/{job_no}")).text
    assert f'id="draw-winner">{sel.winner_quote_id}<' in page and "71,000.00" in page


async def test_best_value_and_optimal_show_their_arithmetic(client, sessionmaker, world):
    token = await as_user(client, "own1")
    bv = await published_job(client, token, method="best_value", price_weight="60", credit_weight="40")
    opt = await published_job(client, token, method="optimal")
    for job_no in (bv, opt):
        for i, price in enumerate(["50000.00", "55000.00", "60000.00"]):
            assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
        await pass_deadline(sessionmaker, job_no)
        await select_now(client, job_no)
    await as_user(client, None)
    page = (await client.get(f"/jobs/{bv}")).text
    # lowest 50000: price scores 100.00, 90.91, 83.33; credit 80 for all → 92.00, 86.55, 82.00
    for score in ("100.00", "90.91", "83.33", "92.00", "86.55", "82.00"):
        assert score in page.split('id="draw-ranking"')[1], score
    sel = await selection(sessionmaker, opt)
    page = (await client.get(f"/jobs/{opt}")).text
    assert f'id="optimal-p">{sel.params["p"]}<' in page
    assert f'id="reference-price">¥{grouped(sel.params["reference_price"])}<' in page
    reference = Decimal("55000.00") * sel.params["p"] / 100
    assert Decimal(sel.params["reference_price"]) == reference.quantize(Decimal("0.01"))
