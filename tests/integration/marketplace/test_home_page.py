"""The public home page: the latest notices and results and the headline figures, never a draft and nothing
sealed (no quote count, no price of a job whose quotes are not opened)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from app.auth import CurrentUser
from app.clock import SHANGHAI, utcnow
from app.i18n import catalog
from marketplace.models import Job
from marketplace.schemas import JobIn, QuoteIn
from marketplace.services.jobs import create_job, publish_job
from marketplace.services.quotes import submit_quote
from marketplace.services.selection import close_and_select
from tests.helpers import make_agency, make_owner

OPEN_PRICES = ("77777.77", "66666.66")   # quotes of the job still open for quotes
SEALED_PRICE = "55555.55"                # a quote of a job past its deadline, not yet opened


def zh(msgid: str) -> str:
    return catalog("zh_CN").get(msgid, msgid)


def user_of(username, role, *, owner_id=None, agency_id=None):
    return CurrentUser(id=0, username=username, role=role, display_name=username, agency_id=agency_id,
                       owner_id=owner_id, locale=None)


def job_in(title: str, **over):
    data = {"title": title, "project_name": "城东道路改造", "project_code": "XM-2026-001", "category_code": "EIA",
            "item_code": "EIA-01", "min_level": 3, "budget_cap": "100000.00", "method": "lowest",
            "state_funded": False, "quote_deadline": (utcnow() + timedelta(hours=2)).isoformat(), "service_days": 60}
    data.update(over)
    return JobIn.model_validate(data)


def section(page: str, ident: str) -> str:
    return page.split(f'id="{ident}"', 1)[1].split("</div>\n<div", 1)[0]


def grouped(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"


class Market:
    def __init__(self, sessionmaker, owner, agencies):
        self.sessionmaker, self.agencies = sessionmaker, agencies
        self.owner = user_of("own1", "owner", owner_id=owner.id)
        self.jobs: dict[str, str] = {}

    async def job(self, name: str, *, publish: bool = True, **over) -> str:
        async with self.sessionmaker() as s:
            job = await create_job(s, self.owner, job_in(f"任务{name}号", **over))
            if publish:
                job = await publish_job(s, self.owner, job.job_no)
        self.jobs[name] = job.job_no
        return job.job_no

    async def quote(self, job_no: str, n: int, price: str) -> None:
        agency = self.agencies[n]
        async with self.sessionmaker() as s:
            await submit_quote(s, user_of(f"ag{n}", "agency", agency_id=agency.id), job_no,
                               QuoteIn(price=Decimal(price), service_days=40))

    async def pass_deadline(self, job_no: str) -> int:
        async with self.sessionmaker() as s:
            await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
            await s.commit()
            return (await s.exec(Job.__table__.select().where(Job.job_no == job_no))).first().id

    async def award(self, name: str, cap: str, prices: list[str]) -> str:
        job_no = await self.job(name, budget_cap=cap)
        for n, price in enumerate(prices):
            await self.quote(job_no, n, price)
        job_id = await self.pass_deadline(job_no)
        assert await close_and_select(self.sessionmaker, job_id) == "selected"
        return job_no


@pytest.fixture
async def market(sessionmaker):
    owner = await make_owner(sessionmaker, "own1")
    agencies = [await make_agency(sessionmaker, f"ag{i}") for i in range(3)]
    m = Market(sessionmaker, owner, agencies)
    await m.job("D", publish=False)                                   # a draft: never shown
    await m.award("A", "100000.00", ["81000.00", "79000.50", "90000.00"])  # saved 20999.50
    await m.award("B", "50000.00", ["40000.00", "45000.00"])             # saved 10000.00, the latest award
    o = await m.job("O")                                              # open, with two quotes
    for n, price in enumerate(OPEN_PRICES):
        await m.quote(o, n, price)
    s = await m.job("S")                                              # deadline passed, quotes still sealed
    await m.quote(s, 0, SEALED_PRICE)
    await m.pass_deadline(s)
    await m.job("N", budget_cap="30000.00")                           # just published, no quote yet
    return m


async def test_home_page_shows_the_latest_notices_results_and_figures(client, market):
    m = market
    r = await client.get("/")
    assert r.status_code == 200
    page = r.text

    notices = section(page, "latest-notices")
    rows = re.findall(r'<tr class="notice">.*?</tr>', notices, flags=re.DOTALL)
    # Open for quotes now, latest published first: the one just published, then O; not S (deadline passed).
    assert [re.search(r'href="/jobs/([^"]+)"', row).group(1) for row in rows] == [m.jobs["N"], m.jobs["O"]]
    assert "任务N号" in rows[0] and "¥30,000.00" in rows[0] and rows[0].count("<td") == 4
    assert "¥100,000.00" in rows[1]
    for job in ("A", "B", "S", "D"):
        assert m.jobs[job] not in notices

    results = section(page, "latest-results")
    rows = re.findall(r'<tr class="result">.*?</tr>', results, flags=re.DOTALL)
    assert [re.search(r'href="/jobs/([^"]+)"', row).group(1) for row in rows] == [m.jobs["B"], m.jobs["A"]]
    b, a = rows
    assert f'href="/agencies/{m.agencies[0].credit_code}"' in b and "¥40,000.00" in b
    assert f'href="/agencies/{m.agencies[1].credit_code}"' in a and "¥79,000.50" in a  # the lowest price won
    assert zh("Lowest price") in a and utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d") in a
    for job in ("A", "B"):
        assert f'href="/jobs/{m.jobs[job]}#draw"' in results and f'href="/api/jobs/{m.jobs[job]}/draw"' in results
        assert (await client.get(f"/api/jobs/{m.jobs[job]}/draw")).status_code == 200
    for job in ("O", "S", "N", "D"):
        assert m.jobs[job] not in results

    # Headline: 5 jobs published (the draft is not), 2 awarded, 30999.50 saved of 150000 = 0.20666 → 20.67 %.
    head = section(page, "headline")
    assert re.search(r'id="stat-published">5<', head) and re.search(r'id="stat-awarded">2<', head)
    assert 'id="stat-saved">¥30,999.50<' in head and 'id="stat-rate">20.67 %<' in head
    assert 'href="/reports/savings"' in head
    # ... the very figures of the savings report.
    report = (await client.get("/api/reports/savings")).json()
    overall = report.get("overall", report)
    assert Decimal(str(overall["total_saved"])) == Decimal("30999.50") and overall["count"] == 2
    assert Decimal(str(overall["savings_rate"])) == Decimal("0.2067")

    # Never a draft; nothing sealed: no price of the open or the sealed job, and no count of their quotes.
    assert m.jobs["D"] not in page and "任务D号" not in page
    for price in (*OPEN_PRICES, SEALED_PRICE):
        assert price not in page and grouped(price) not in page
    assert m.jobs["S"] not in page
    assert zh("Live quotes received: {n}").split("{n}")[0] not in page
    # A notice shows its title, number, method, category, cap and deadline: nothing of its quotes.
    [open_row] = [row for row in re.findall(r'<tr class="notice">.*?</tr>', notices, flags=re.DOTALL)
                  if m.jobs["O"] in row]
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td>(.*?)</td>", open_row, flags=re.DOTALL)]
    assert cells[0][0] == "任务O号" and cells[0][1] == m.jobs["O"] and cells[2] == ["¥100,000.00"] and len(cells) == 4

    client.cookies.set("lang", "en")
    en = (await client.get("/")).text
    for text in ("Latest notices", "Latest results", "jobs published", "jobs awarded", "savings rate", "Lowest price",
                 "Draw explained"):
        assert text in en, text


async def test_an_empty_market_says_so(client):
    page = (await client.get("/")).text
    assert 'id="stat-published">0<' in page and 'id="stat-awarded">0<' in page
    assert 'id="stat-saved">¥0.00<' in page and 'id="stat-rate">—<' in page
    assert zh("No job is open for quotes just now.") in page and zh("No job has been awarded yet.") in page
    assert "<table" not in section(page, "latest-notices") and "<table" not in section(page, "latest-results")


async def test_the_home_page_costs_a_fixed_number_of_queries(client, market, app):
    from sqlalchemy import event

    engine = app.state.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        assert (await client.get("/")).status_code == 200
        few = len(statements)
        assert few >= 7  # the counts, the audit head, the notices, the results and the two aggregates
        for n in range(3):
            await market.award(f"X{n}", "20000.00", ["10000.00"])
            await market.job(f"Y{n}")
        statements.clear()
        assert (await client.get("/")).status_code == 200
        assert len(statements) == few
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
