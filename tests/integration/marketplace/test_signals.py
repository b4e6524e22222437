"""Collusion signals (围标串标) for regulators through the page and the API.

Quotes are sent over HTTP from chosen client addresses and browsers, so the signals
rest on what the platform itself recorded.
"""

import html
import re
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import update
from sqlmodel import col, func, select

from app.auth import CurrentUser
from app.clock import SHANGHAI, utcnow
from app.i18n import catalog
from marketplace.models import Agency, Job
from marketplace.schemas import JobIn, QuoteIn
from marketplace.services.jobs import create_job, publish_job
from marketplace.services.quotes import submit_quote
from marketplace.services.selection import close_and_select
from ratings.models import Violation
from tests.helpers import login, make_agency, make_owner, make_user

SHARED_UA = "Shared/1.0 <b>office</b>"
SEALED_PRICES = ("33333.33", "22222.22")
PAIR_JOBS = 4        # k: jobs ag6 and ag7 quote on, always together
QUIET_MAY = 8        # single-quote filler jobs with their deadline on 2025-05-15 (Beijing)
QUIET_JANUARY = 5    # ... and on 2025-01-15
MAY_15 = datetime(2025, 5, 15, 10, 0, tzinfo=SHANGHAI)
JANUARY_15 = datetime(2025, 1, 15, 10, 0, tzinfo=SHANGHAI)


def zh(msgid: str) -> str:
    """A message as the (default, Chinese) pages show it."""
    return catalog("zh_CN").get(msgid, msgid)


def job_body(**over):
    body = {"title": "环境影响评价服务", "project_name": "城东道路改造", "project_code": "XM-2026-001",
            "category_code": "EIA", "min_level": 3, "budget_cap": "100000.00", "method": "random",
            "item_code": "EIA-01",
            "state_funded": False, "quote_deadline": (utcnow() + timedelta(hours=1)).isoformat(),
            "service_days": 60, "description": "说明"}
    body.update(over)
    return body


class Actors:
    """One logged-in HTTP client per (user, client address, user agent)."""

    def __init__(self, app, stack: AsyncExitStack):
        self.app, self.stack, self.clients = app, stack, {}

    async def __call__(self, username: str | None, ip: str = "10.0.0.1", ua: str = "pytest-client"):
        key = (username, ip, ua)
        if key not in self.clients:
            transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
            c = await self.stack.enter_async_context(httpx.AsyncClient(
                transport=transport, base_url="http://testserver.local", headers={"user-agent": ua}))
            if username is not None:
                c.headers["x-csrf-token"] = await login(c, username)
            self.clients[key] = c
        return self.clients[key]


class World:
    def __init__(self, sessionmaker, actors: Actors, codes: dict[str, str], owner_id: int,
                 agency_ids: dict[str, int]):
        self.sessionmaker, self.actors, self.codes = sessionmaker, actors, codes
        self.owner_id, self.agency_ids = owner_id, agency_ids
        self.jobs: dict[str, str] = {}

    def own_address(self, username: str) -> tuple[str, str]:
        i = int(username[2:])
        return f"10.0.0.{10 + i}", f"Agent-{i}"

    async def publish(self, name: str) -> str:
        owner = await self.actors("own1")
        r = await owner.post("/api/owner/jobs", json=job_body(title=f"任务 {name}"))
        assert r.status_code == 201, r.text
        job_no = r.json()["job_id"]
        assert (await owner.post(f"/api/owner/jobs/{job_no}/publish")).status_code == 200
        self.jobs[name] = job_no
        return job_no

    async def quote(self, job_no: str, username: str, price: str, ip: str | None = None, ua: str | None = None):
        own_ip, own_ua = self.own_address(username)
        c = await self.actors(username, ip or own_ip, ua or own_ua)
        r = await c.post(f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 40})
        assert r.status_code == 201, r.text
        return c

    async def set_deadline(self, job_no: str, when: datetime) -> None:
        async with self.sessionmaker() as s:
            await s.exec(update(Job).where(Job.job_no == job_no).values(quote_deadline=when))
            await s.commit()

    async def open(self, job_no: str) -> None:
        """Deadline passed and quotes opened by the regulator's "select now"."""
        await self.set_deadline(job_no, utcnow() - timedelta(seconds=1))
        reg = await self.actors("reg1")
        r = await reg.post(f"/api/regulator/jobs/{job_no}/select")
        assert r.status_code == 200 and r.json()["status"] != "published", r.text

    async def quiet_jobs(self, names: list[str], when: datetime | None = None) -> None:
        """Opened jobs with one quote each (ag0–ag4 in turn), the deadline then moved to `when` if given.

        Made through the services, not over HTTP, to keep the fixture fast: they carry no signal.
        """
        owner = CurrentUser(id=0, username="own1", role="owner", display_name="own1", agency_id=None,
                            owner_id=self.owner_id, locale=None)
        ids: list[int] = []
        async with self.sessionmaker() as s:
            for n, name in enumerate(names):
                job = await create_job(s, owner, JobIn.model_validate(job_body(title=f"任务 {name}")))
                job = await publish_job(s, owner, job.job_no)
                username = f"ag{n % 5}"
                agency = CurrentUser(id=0, username=username, role="agency", display_name=username,
                                     agency_id=self.agency_ids[username], owner_id=None, locale=None)
                ip, ua = self.own_address(username)
                await submit_quote(s, agency, job.job_no, QuoteIn(price=Decimal(f"8{n:03d}0.00"),
                                          service_days=40), client_ip=ip, user_agent=ua)
                self.jobs[name] = job.job_no
                ids.append(job.id)
        await self.set_deadlines(ids, utcnow() - timedelta(seconds=1))
        for job_id in ids:
            assert await close_and_select(self.sessionmaker, job_id) == "selected"
        if when is not None:
            await self.set_deadlines(ids, when)

    async def set_deadlines(self, job_ids: list[int], when: datetime) -> None:
        async with self.sessionmaker() as s:
            await s.exec(update(Job).where(col(Job.id).in_(job_ids)).values(quote_deadline=when))
            await s.commit()


@pytest.fixture
async def world(app, client, sessionmaker):
    """Opened jobs with each signal, a frequently co-bidding pair, and two sealed jobs.

    JA: ag0, ag1 and ag2 quote from 10.1.1.1 (ag0 and ag1 with the same browser), ag0 and ag2 at
        45678.90; ag5 quotes from the same device at the same price and withdraws.
    JB: ag3 and ag4 share a phone (written differently) and a legal representative (case, spaces).
    P0–P3: ag6 and ag7 together, and nowhere else. F0–F4 (deadline just passed), Q0–Q7 (deadline
        2025-05-15) and R0–R4 (deadline 2025-01-15): one quote each, by ag0–ag4.
    24 opened jobs in one category, so the pair's expected joint quotes = 4·4/24 = 0.667; 4 observed
    is 6 times that, with P(X ≥ 4), X ~ Poisson(2/3) = 0.00486. The pairs that quoted together are
    ag0+ag1, ag0+ag2, ag1+ag2 (JA), ag3+ag4 (JB) and ag6+ag7: m = 5, limit 0.05 / 5 = 0.01.
    S1 (before its deadline) and S2 (deadline passed, not opened): ag5 with ag6 / ag7 from one device
        at identical prices.
    """
    owner = await make_owner(sessionmaker, "own1")
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    codes, ids = {}, {}
    for i in range(8):
        agency = await make_agency(sessionmaker, f"ag{i}")
        codes[f"ag{i}"], ids[f"ag{i}"] = agency.credit_code, agency.id
    async with sessionmaker() as s:
        for i in range(8):  # the helper gives every agency the same phone and legal representative
            await s.exec(update(Agency).where(Agency.credit_code == codes[f"ag{i}"])
                         .values(phone=f"0571-8000000{i}", legal_rep=f"法人{i}号"))
        await s.exec(update(Agency).where(Agency.credit_code == codes["ag3"]).values(legal_rep="Li  Ming"))
        await s.exec(update(Agency).where(Agency.credit_code == codes["ag4"])
                     .values(phone="+86 571 8000 0003", legal_rep="li ming"))
        await s.commit()
    async with AsyncExitStack() as stack:
        w = World(sessionmaker, Actors(app, stack), codes, owner.id, ids)
        ja = await w.publish("JA")
        await w.quote(ja, "ag0", "45678.90", "10.1.1.1", SHARED_UA)
        await w.quote(ja, "ag1", "41111.11", "10.1.1.1", SHARED_UA)
        await w.quote(ja, "ag2", "45678.90", "10.1.1.1", "Other/2.0")
        quitter = await w.quote(ja, "ag5", "45678.90", "10.1.1.1", SHARED_UA)
        assert (await quitter.delete(f"/api/jobs/{ja}/quote")).status_code == 200
        jb = await w.publish("JB")
        await w.quote(jb, "ag3", "30000.00")
        await w.quote(jb, "ag4", "30500.00")
        for n in range(PAIR_JOBS):
            job_no = await w.publish(f"P{n}")
            await w.quote(job_no, "ag6", f"5000{n}.00")
            await w.quote(job_no, "ag7", f"6000{n}.00")
        for name in ("JA", "JB", *(f"P{n}" for n in range(PAIR_JOBS))):
            await w.open(w.jobs[name])
        await w.quiet_jobs([f"F{n}" for n in range(5)])
        await w.quiet_jobs([f"Q{n}" for n in range(QUIET_MAY)], MAY_15)
        await w.quiet_jobs([f"R{n}" for n in range(QUIET_JANUARY)], JANUARY_15)
        s1, s2 = await w.publish("S1"), await w.publish("S2")
        for job_no, other, price in ((s1, "ag6", SEALED_PRICES[0]), (s2, "ag7", SEALED_PRICES[1])):
            await w.quote(job_no, "ag5", price, "10.7.7.7", "Sealed/1.0")
            await w.quote(job_no, other, price, "10.7.7.7", "Sealed/1.0")
        await w.set_deadline(s2, utcnow() - timedelta(seconds=1))
        yield w


async def api(w: World, query: str = "", who: str = "reg1"):
    r = await (await w.actors(who)).get(f"/api/regulator/signals{query}")
    assert r.status_code == 200, r.text
    return r.json()


def by_kind(items) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        out.setdefault(item["kind"], []).append(item)
    return out


def agency_codes(item) -> list[str]:
    return sorted(a["code"] for a in item["agencies"])


async def test_api_shows_each_signal_with_its_evidence(world):
    w, c = world, world.codes
    body = await api(w)
    assert (body["total"], body["page"], body["per_page"]) == (6, 1, 20)
    assert (body["jobs_analysed"], body["quotes_analysed"]) == (24, 3 + 2 + 2 * 4 + 5 + 8 + 5)
    kinds = by_kind(body["items"])
    assert {k: len(v) for k, v in kinds.items()} == {
        "frequent_pair": 1, "same_ip": 1, "same_device": 1, "identical_price": 1, "same_phone": 1,
        "same_legal_rep": 1}
    assert body["items"][0]["kind"] == "frequent_pair"  # pairs first

    [pair] = kinds["frequent_pair"]
    assert agency_codes(pair) == sorted([c["ag6"], c["ag7"]])
    assert sorted(j["job_id"] for j in pair["jobs"]) == sorted(w.jobs[f"P{n}"] for n in range(PAIR_JOBS))
    # expected = 4·4/24 = 2/3; P(X ≥ 4), X ~ Poisson(2/3) = 1 − e^−2/3 (1 + 2/3 + 2/9 + 4/81) ≈ 0.00486
    assert pair["evidence"] == {"observed": 4, "expected": 0.6667, "ratio": 6.0, "tail_probability": 0.00486}
    model = body["model"]
    assert (model["pair_min_jobs"], model["pair_min_ratio"], model["pair_family_chance"]) == (3, 3, 0.05)
    # m = 5: ag0+ag1, ag0+ag2, ag1+ag2 (JA), ag3+ag4 (JB), ag6+ag7; the withdrawn ag5 and the sealed jobs add none.
    assert model["pairs_tested"] == 5 and model["pair_max_tail_probability"] == 0.01
    assert "tail_probability <= pair_family_chance / pairs_tested" in model["pair_flagged_when"]

    [ip] = kinds["same_ip"]
    assert [j["job_id"] for j in ip["jobs"]] == [w.jobs["JA"]] and ip["jobs"][0]["url"] == f"/jobs/{w.jobs['JA']}"
    assert agency_codes(ip) == sorted([c["ag0"], c["ag1"], c["ag2"]]) and ip["evidence"] == {"ip": "10.1.1.1"}
    [device] = kinds["same_device"]
    assert agency_codes(device) == sorted([c["ag0"], c["ag1"]])
    assert device["evidence"] == {"ip": "10.1.1.1", "user_agent": SHARED_UA}
    [price] = kinds["identical_price"]
    assert agency_codes(price) == sorted([c["ag0"], c["ag2"]]) and price["evidence"] == {"price": "45678.90"}
    [phone] = kinds["same_phone"]
    assert [j["job_id"] for j in phone["jobs"]] == [w.jobs["JB"]]
    assert agency_codes(phone) == sorted([c["ag3"], c["ag4"]])
    assert phone["evidence"]["phone"] in ("0571-80000003", "+86 571 8000 0003")
    [rep] = kinds["same_legal_rep"]
    assert agency_codes(rep) == sorted([c["ag3"], c["ag4"]]) and rep["evidence"]["legal_rep"] in ("Li  Ming", "li ming")
    for item in body["items"]:
        assert item["summary"] and all(a["url"] == f"/agencies/{a['code']}" for a in item["agencies"])
    # The quote withdrawn from the same device at the same price counts nowhere.
    assert all(c["ag5"] not in agency_codes(item) for item in body["items"])
    assert body == await api(w, who="admin1")


async def test_page_shows_each_signal_with_evidence_links_and_the_formula(world):
    w, c = world, world.codes
    reg = await w.actors("reg1")
    r = await reg.get("/regulator/signals?view=findings")  # one by one (the default groups them by pair)
    assert r.status_code == 200
    page = r.text
    assert page.count('class="signal"') == 6
    for kind in ("frequent_pair", "same_ip", "same_device", "same_phone", "same_legal_rep", "identical_price"):
        assert page.count(f'data-kind="{kind}"') == 1, kind
        assert zh({"frequent_pair": "Frequent pair", "same_ip": "Same IP address", "same_device": "Same device",
                   "same_phone": "Same contact phone", "same_legal_rep": "Same legal representative",
                   "identical_price": "Identical prices"}[kind]) in page
    for code in c.values():
        if code != c["ag5"]:
            assert f'href="/agencies/{code}"' in page
    assert f'href="/agencies/{c["ag5"]}"' not in page
    for name in ("JA", "JB", "P0", "P1", "P2", "P3"):
        assert f'href="/jobs/{w.jobs[name]}"' in page
    assert "10.1.1.1" in page and "45678.90" in page
    assert escape(zh("Quoted together on {observed} jobs where {expected} were expected if they chose jobs "
                     "independently ({ratio}× as often); chance of at least {observed}: {chance}.").format(
        observed=4, expected="0.67", ratio="6.0", chance="0.0049")) in page
    # The browser identification is the agency's input: shown, escaped.
    assert "Shared/1.0 &lt;b&gt;office&lt;/b&gt;" in page and "<b>office</b>" not in page
    assert 'id="flags-not-blocks"' in page and 'id="pair-formula"' in page
    assert "Σ_c k_a,c × k_b,c ÷ N_c" in page
    assert escape(zh("For the jobs analysed here m = {m}, so a pair's chance must be at most {limit}.").format(
        m=5, limit="0.01")) in page
    assert escape(zh("These are flags for a regulator's review, never findings and never automatic blocks: no quote, "
              "agency or selection is refused or changed because of them. Only jobs whose quotes have been opened "
              "are analysed, and only live quotes count.")) in page

    reg.cookies.set("lang", "en")
    en = (await reg.get("/regulator/signals?kind=same_device&view=findings")).text
    assert "Same IP address 10.1.1.1 and same browser identification (user agent)" in en
    assert "most likely the same device" in en and en.count('class="signal"') == 1
    assert "at least 3 jobs; at least 3 times as often as expected" in en
    assert "is at most 0.05 ÷ m, where m is the number of agency pairs that quoted together" in en
    # The kind filter only chooses what is shown: m is still counted over all 24 jobs.
    assert escape("For the jobs analysed here m = 5, so a pair's chance must be at most 0.01.") in en
    assert (await (await w.actors("admin1")).get("/regulator/signals")).status_code == 200


async def test_sealed_and_withdrawn_quotes_are_never_analysed(world):
    w = world
    reg = await w.actors("reg1")
    page = (await reg.get("/regulator/signals")).text
    body = await api(w)
    raw = (await reg.get("/api/regulator/signals")).text
    for job in ("S1", "S2"):
        assert w.jobs[job] not in page and w.jobs[job] not in raw
        assert (await api(w, f"?q={w.jobs[job]}"))["total"] == 0
    for text in (page, raw):
        assert "10.7.7.7" not in text and "Sealed/1.0" not in text
        assert all(p not in text for p in SEALED_PRICES)
    assert body["jobs_analysed"] == 24
    assert body["model"]["pairs_tested"] == 5  # ag5+ag6 (S1) and ag5+ag7 (S2) are not counted either

    # Once S2's quotes are opened, the very same quotes are flagged: the seal is what hid them.
    reg_api = await w.actors("reg1")
    assert (await reg_api.post(f"/api/regulator/jobs/{w.jobs['S2']}/select")).status_code == 200
    opened = await api(w, f"?q={w.jobs['S2']}")
    assert sorted(i["kind"] for i in opened["items"]) == ["identical_price", "same_device", "same_ip"]
    assert opened["jobs_analysed"] == 25 and opened["model"]["pairs_tested"] == 6  # + ag5+ag7
    assert by_kind(opened["items"])["identical_price"][0]["evidence"]["price"] == SEALED_PRICES[1]
    assert SEALED_PRICES[0] not in (await reg.get("/regulator/signals")).text  # S1 is still sealed


async def test_filters_by_kind_text_period_and_pages(world):
    w, c = world, world.codes
    assert [i["kind"] for i in (await api(w, "?kind=same_phone"))["items"]] == ["same_phone"]
    assert [i["kind"] for i in (await api(w, f"?q={c['ag6']}"))["items"]] == ["frequent_pair"]
    assert (await api(w, f"?q={w.jobs['JA'].lower()}"))["total"] == 3
    assert sorted(i["kind"] for i in (await api(w, "?q=AG3 咨询"))["items"]) == ["same_legal_rep", "same_phone"]
    assert (await api(w, f"?q={w.jobs['P1']}&kind=frequent_pair"))["total"] == 1
    assert (await api(w, f"?q={w.jobs['F1']}"))["total"] == 0

    # Period by quote deadline, in Beijing dates, both ends included.
    await w.set_deadline(w.jobs["JA"], datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    await w.set_deadline(w.jobs["JB"], datetime(2025, 4, 21, 0, 30, tzinfo=SHANGHAI))  # 2025-04-20 16:30 UTC
    march = await api(w, "?date_from=2025-03-10&date_to=2025-03-10")
    assert march["jobs_analysed"] == 1 and sorted(i["kind"] for i in march["items"]) == [
        "identical_price", "same_device", "same_ip"]
    assert (await api(w, "?date_from=2025-04-01&date_to=2025-04-20"))["total"] == 0
    april = await api(w, "?date_from=2025-04-21&date_to=2025-04-21")
    assert sorted(i["kind"] for i in april["items"]) == ["same_legal_rep", "same_phone"]
    # The period is the pair model's population (jobs N, and pairs tested m).
    # From 2025-03-01: JA, JB, Q0–Q7, P0–P3 and F0–F4, 19 jobs, m = 5. The pair's 4 joint quotes against
    # 4·4/19 = 0.842 expected pass the first two thresholds (4.75 times), but P(X ≥ 4) = 0.0108 > 0.05/5.
    march_on = await api(w, "?date_from=2025-03-01")
    assert (march_on["jobs_analysed"], march_on["model"]["pairs_tested"]) == (19, 5)
    assert march_on["model"]["pair_max_tail_probability"] == 0.01
    assert march_on["total"] == 5 and "frequent_pair" not in by_kind(march_on["items"])
    # From 2025-04-22: without JA and JB, 17 jobs and m = 1: 16/17 = 0.941 expected (4.25 times),
    # P(X ≥ 4) = 0.0156 ≤ 0.05/1, so the pair is flagged on fewer jobs because fewer pairs were tested.
    april_on = await api(w, "?date_from=2025-04-22")
    assert (april_on["jobs_analysed"], april_on["model"]["pairs_tested"]) == (17, 1)
    assert april_on["model"]["pair_max_tail_probability"] == 0.05
    [pair] = april_on["items"]
    assert pair["kind"] == "frequent_pair" and april_on["total"] == 1
    assert pair["evidence"] == {"observed": 4, "expected": 0.9412, "ratio": 4.25, "tail_probability": 0.0156}
    # The last two days: P0–P3 and F0–F4, 9 jobs; 4 joint quotes against 4·4/9 = 1.78 expected are
    # 2.25 times chance, under the ratio threshold (and P(X ≥ 4) = 0.105 > 0.05/1).
    recent = await api(w, f"?date_from={(utcnow() - timedelta(days=2)).date().isoformat()}")
    assert (recent["jobs_analysed"], recent["model"]["pairs_tested"], recent["total"]) == (9, 1, 0)
    # The search only chooses what is shown: the pair is still weighed against all 24 jobs and m = 5.
    found = await api(w, f"?q={w.jobs['P0']}")
    assert found["total"] == 1 and found["items"][0]["evidence"]["expected"] == 0.6667
    assert found["model"]["pairs_tested"] == 5
    assert (await api(w, "?date_from=2000-01-01&date_to=2000-01-01"))["jobs_analysed"] == 0
    for extreme in ("?date_from=0001-01-01", "?date_to=9999-12-31", "?date_from=0001-01-01&date_to=9999-12-31"):
        assert (await api(w, extreme))["total"] == 6, extreme

    pages = [await api(w, f"?per_page=4&page={n}") for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [4, 2, 0] and all(p["total"] == 6 for p in pages)
    everything = (await api(w))["items"]
    assert pages[0]["items"] + pages[1]["items"] == everything

    reg = await w.actors("reg1")
    page = (await reg.get(f"/regulator/signals?kind=same_ip&q={w.jobs['JA']}&view=findings")).text
    assert page.count('class="signal"') == 1 and 'value="same_ip" selected' in page and w.jobs["JA"] in page


@pytest.mark.parametrize("query, field", [
    ("?kind=everything", "kind"), ("?date_from=2025-13-01", "date_from"), ("?date_to=yesterday", "date_to"),
    ("?date_from=2025-05-01&date_to=2025-04-30", "date_to"), ("?q=" + "x" * 101, "q"),
])
async def test_bad_filters_are_400_with_a_translated_message(world, query, field):
    reg = await world.actors("reg1")
    r = await reg.get(f"/api/regulator/signals{query}")
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == zh("Unknown filter value.") != "Unknown filter value." and field in body["fields"]
    page = await reg.get(f"/regulator/signals{query}")
    assert page.status_code == 400
    assert 'id="page-error"' in page.text and f'id="e-{field}"' in page.text and zh("Unknown filter value.") in page.text
    assert 'class="signal"' not in page.text
    expected = {"kind": "Choose one of the offered values.", "date_from": "Enter a date as YYYY-MM-DD.",
                "date_to": "Enter a date as YYYY-MM-DD." if "yesterday" in query else
                "The end date is before the start date.", "q": "Must be at most {n} characters."}[field]
    assert body["fields"][field] == zh(expected).format(n=100)


async def test_bad_page_numbers_are_400(world):
    reg = await world.actors("reg1")
    for url in ("/api/regulator/signals?page=0", "/api/regulator/signals?per_page=101",
                "/api/regulator/signals?page=x", "/regulator/signals?page=0"):
        assert (await reg.get(url)).status_code == 400, url


@pytest.mark.parametrize("who, page_status, api_status", [
    (None, 303, 401), ("own1", 403, 403), ("ag0", 403, 403), ("reg1", 200, 200), ("admin1", 200, 200)])
async def test_only_regulators_and_admins_see_signals(app, client, sessionmaker, who, page_status, api_status):
    await make_owner(sessionmaker, "own1")
    await make_agency(sessionmaker, "ag0")
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    async with AsyncExitStack() as stack:
        c = await Actors(app, stack)(who)
        page = await c.get("/regulator/signals")
        assert page.status_code == page_status
        if who is None:
            assert page.headers["location"].startswith("/login")
        r = await c.get("/api/regulator/signals")
        assert r.status_code == api_status
        if api_status != 200:
            assert "items" not in r.json()
        else:
            assert r.json()["total"] == 0


async def test_a_regulator_goes_from_a_signal_to_a_prefilled_violation_form(world):
    w, c = world, world.codes
    reg = await w.actors("reg1")
    page = (await reg.get(f"/regulator/signals?kind=same_phone&q={w.jobs['JB']}&view=findings")).text
    links = [html.unescape(x) for x in re.findall(r'class="hint record-violation" href="([^"]+)"', page)]
    assert len(links) == 2  # one per agency of the signal
    queries = {parse_qs(urlsplit(link).query)["agency_code"][0]: (link, parse_qs(urlsplit(link).query))
               for link in links}
    assert set(queries) == {c["ag3"], c["ag4"]}
    link, query = queries[c["ag3"]]
    assert query["kind"] == ["collusion"] and w.jobs["JB"] in query["evidence"][0]
    form = (await reg.get(link.split("#")[0])).text
    assert f'id="f-agency_code" name="agency_code" maxlength="18" required value="{c["ag3"]}"' in form
    assert 'name="kind" maxlength="40" required list="violation-kinds" value="collusion"' in form
    assert w.jobs["JB"] in form.split('id="f-evidence"', 1)[1].split("</textarea>", 1)[0]
    # Prefilling records nothing, and an admin (who cannot record violations) is offered no link.
    async with w.sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Violation))).one() == 0
    admin_page = (await (await w.actors("admin1")).get(f"/regulator/signals?q={w.jobs['JB']}")).text
    assert "record-violation" not in admin_page


async def test_api_response_conforms_to_its_openapi_document(world):
    """`pair_min_ratio` was `int | float`, documented as oneOf [integer, number], which 3 satisfies twice."""
    import schemathesis

    client = await world.actors("reg1")
    doc = (await client.get("/schema/openapi.json")).json()
    assert doc["components"]["schemas"]["PairModelOut"]["properties"]["pair_min_ratio"] == {"type": "number"}
    operation = schemathesis.openapi.from_dict(doc)["/api/regulator/signals"]["GET"]
    r = await client.get("/api/regulator/signals")
    assert r.status_code == 200 and r.json()["model"]["pair_min_ratio"] == 3
    operation.Case().validate_response(r)  # raises on any violation of the document
