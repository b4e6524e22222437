"""The savings dashboard (/reports/savings): every chart has a table, and each table's figures equal the JSON API's
for the same filters; bad filters are a 400; the exports name categories, methods and owners."""

import csv
import html
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import select

from marketplace.models import Job, Owner
from tests.integration.marketplace.test_jobs_api import as_user, pass_deadline, published_job, quote_all
from tests.integration.ratings.test_ratings_pages import world, zh  # noqa: F401  (the fixture)

SECTIONS = ("month", "method", "category", "district", "selection", "agencies")
BREAKDOWNS = {"month": "by_month", "method": "by_method", "category": "by_category", "district": "by_district"}

# (method, cap, prices quoted by ag0, ag1, ag2, published, awarded, district)
JOBS = [
    ("lowest", "100000.00", ["70000.00", "80000.00", "90000.00"], datetime(2026, 9, 10, 2, tzinfo=UTC),
     datetime(2026, 9, 15, 2, tzinfo=UTC), "城东区"),
    ("lowest", "200000.00", ["190000.00", "150000.00", "170000.00"], datetime(2026, 10, 1, 0, tzinfo=UTC),
     datetime(2026, 10, 4, 12, tzinfo=UTC), "城东区"),
    ("random", "50000.00", ["45000.00", "46000.00", "47000.00"], datetime(2026, 10, 2, 0, tzinfo=UTC),
     datetime(2026, 10, 12, 0, tzinfo=UTC), ""),
    ("lowest", "80000.00", ["79000.00", "78000.00", "60000.00"], datetime(2026, 10, 20, 0, tzinfo=UTC),
     datetime(2026, 10, 21, 0, tzinfo=UTC), "西湖区"),
]


async def awarded_job(client, sessionmaker, method, cap, prices, published, awarded, district) -> str:
    job_no = await published_job(client, method=method, budget_cap=cap)
    await quote_all(client, job_no, prices)
    await pass_deadline(sessionmaker, job_no)
    r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_user(client, "reg1"))
    assert r.status_code == 200, r.text
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no)
                     .values(published_at=published, awarded_at=awarded, district=district))
        await s.commit()
    return job_no


@pytest.fixture
async def awarded(client, sessionmaker, world):  # noqa: F811
    jobs = [await awarded_job(client, sessionmaker, *j) for j in JOBS]
    client.cookies.clear()  # the public
    return jobs


def yuan(value: str) -> str:
    return f"¥{Decimal(value):,.2f}"


def pct(rate: str | None) -> str:
    return "—" if rate is None else f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"


def table(page: str, key: str) -> dict[str, dict[str, str]]:
    """The rows of the dashboard table `key`: row key -> {"label", column -> text}."""
    m = re.search(rf'<table id="table-{key}" data-table="{key}">(.*?)</table>', page, re.DOTALL)
    assert m, key
    rows = {}
    for row_key, body in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', m.group(1), re.DOTALL):
        cells = {c: html.unescape(v) for c, v in re.findall(r'<td class="num" data-col="(\w+)">(.*?)</td>', body)}
        cells["label"] = html.unescape(re.search(r'<th scope="row">(.*?)</th>', body).group(1))
        rows[html.unescape(row_key)] = cells
    return rows


def as_shown(summary: dict) -> dict[str, str]:
    return {"count": str(summary["count"]), "total_cap": yuan(summary["total_cap"]),
            "total_awarded": yuan(summary["total_awarded"]), "total_saved": yuan(summary["total_saved"]),
            "savings_rate": pct(summary["savings_rate"])}


def days(value: str | None) -> str:
    return "—" if value is None else value


async def check_page_against_api(client, query: str) -> dict:
    page = await client.get(f"/reports/savings?{query}")
    assert page.status_code == 200, page.text
    dash = (await client.get(f"/api/reports/savings/dashboard?{query}")).json()
    for key in SECTIONS:
        assert f'id="chart-{key}" data-chart="{key}" role="img" aria-label="' in page.text, key
        assert f'<table id="table-{key}"' in page.text, key
    for key, field in BREAKDOWNS.items():
        api = (await client.get(f"/api/reports/savings?{query}&group_by={key}")).json()
        # The dashboard's breakdown is the report's grouping, figure for figure.
        assert {k: v for k, v in dash[field].items()} == api["groups"], key
        rows = table(page.text, key)
        assert list(rows) == list(api["groups"]), key
        for group, summary in api["groups"].items():
            assert {k: v for k, v in rows[group].items() if k != "label"} == as_shown(summary), (key, group)
    rows = table(page.text, "selection")
    assert list(rows) == list(dash["selection_time"]["by_month"])
    for month, t in dash["selection_time"]["by_month"].items():
        assert rows[month] == {"label": month, "count": str(t["count"]), "median_days": days(t["median_days"]),
                               "mean_days": days(t["mean_days"]), "shortest_days": days(t["shortest_days"]),
                               "longest_days": days(t["longest_days"])}
    rows = table(page.text, "agencies")
    assert list(rows) == [a["credit_code"] for a in dash["top_agencies"]]
    for i, a in enumerate(dash["top_agencies"], 1):
        assert rows[a["credit_code"]] == {"label": f'{a["name"]} ({a["credit_code"]})', "rank": str(i), **as_shown(a)}
    return dash


async def test_dashboard_tables_equal_the_api(client, sessionmaker, awarded):
    dash = await check_page_against_api(client, "")
    assert dash["overall"]["count"] == 4 and dash["baseline"] == "cap"
    assert list(dash["by_month"]) == ["2026-09", "2026-10"] and dash["by_month"]["2026-09"]["total_saved"] == "30000.00"
    assert set(dash["by_district"]) == {"-", "城东区", "西湖区"} and dash["by_method"]["random"]["count"] == 1
    # Days from publication to award: September 5; October 3.5, 10 and 1 -> median 3.5, mean 14.5 / 3.
    times = dash["selection_time"]["by_month"]
    assert times["2026-09"] == {"count": 1, "median_days": "5.00", "mean_days": "5.00", "shortest_days": "5.00",
                                "longest_days": "5.00"}
    assert times["2026-10"] == {"count": 3, "median_days": "3.50", "mean_days": "4.83", "shortest_days": "1.00",
                                "longest_days": "10.00"}
    assert dash["selection_time"]["overall"]["median_days"] == "4.25"  # 1, 3.5, 5, 10
    awarded_amounts = [Decimal(a["total_awarded"]) for a in dash["top_agencies"]]
    assert awarded_amounts == sorted(awarded_amounts, reverse=True) and sum(awarded_amounts) == Decimal(
        dash["overall"]["total_awarded"])
    page = (await client.get("/reports/savings")).text
    assert "¥" + f'{Decimal(dash["overall"]["total_saved"]):,.2f}' in page
    assert zh("No district given") in table(page, "district")["-"]["label"]
    assert table(page, "method")["lowest"]["label"] == zh("Lowest price")
    assert table(page, "category")["EIA"]["label"] == "环境影响评价"
    assert zh("Selection time is counted for each job in days from its publication to its award. Per month "
              "of award, the median is the middle job's time (or the mean of the two middle ones) and the "
              "mean is the average; both are rounded to 0.01 day.") in html.unescape(page)
    # Scripts are files of this site: ECharts vendored, the data as a JSON block (not executed).
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer></script>' in page
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page) == []
    assert 'id="dashboard-json"' in page


async def test_every_filter_applies_to_every_table(client, sessionmaker, awarded):
    async with sessionmaker() as s:
        owner_code = (await s.exec(select(Owner.credit_code).where(Owner.name.like("own1 %")))).one()
    for query in ("date_from=2026-10-01", "date_to=2026-09-30", "method=lowest", "category=EIA",
                  "district=%E5%9F%8E%E4%B8%9C%E5%8C%BA", f"owner={owner_code}", "group_by=method",
                  "date_from=2026-10-01&date_to=2026-10-31&method=lowest"):
        await check_page_against_api(client, query)
    dash = await check_page_against_api(client, "date_from=2026-10-01&method=lowest")
    assert dash["overall"]["count"] == 2 and list(dash["by_month"]) == ["2026-10"]
    assert dash["selection_time"]["by_month"]["2026-10"]["median_days"] == "2.25"  # 3.5 and 1
    # No job matches: every table says so, every chart is empty.
    page = await client.get("/reports/savings?date_to=2000-01-01")
    assert page.status_code == 200 and page.text.count(zh("No awarded jobs match these filters.")) >= 6
    assert (await client.get("/api/reports/savings/dashboard?date_to=2000-01-01")).json()["top_agencies"] == []


async def test_bad_filters_are_a_400_with_the_message(client, awarded):
    r = await client.get("/reports/savings?date_from=2026-12-01&date_to=2026-11-01")
    assert r.status_code == 400 and zh("The end date is before the start date.") in r.text
    assert 'id="page-error"' in r.text and 'id="dashboard"' not in r.text
    for bad in ("method=bogus", "category=NOPE", "group_by=bogus", "district=Atlantis", "date_from=2026-13-01"):
        r = await client.get(f"/reports/savings?{bad}")
        assert r.status_code == 400 and 'id="page-error"' in r.text, bad
    for bad in ("method=bogus", "category=NOPE", "district=Atlantis", "owner=91330000MA00000000",
                "date_from=2026-12-01&date_to=2026-11-01"):
        r = await client.get(f"/api/reports/savings/dashboard?{bad}")
        assert r.status_code == 400 and r.json()["error"], bad
    r = await client.get("/api/reports/savings/dashboard?date_from=2026-13-01")
    assert r.status_code == 400


async def test_exports_name_categories_methods_and_owners(client, sessionmaker, awarded):
    async with sessionmaker() as s:
        owner = (await s.exec(select(Owner).where(Owner.name.like("own1 %")))).one()
    expected = {"category": ("EIA", "环境影响评价"), "method": ("lowest", zh("Lowest price")),
                "owner": (owner.credit_code, owner.name)}
    for group_by, (code, name) in expected.items():
        r = await client.get(f"/api/reports/savings.csv?group_by={group_by}")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:6] == [zh("Group"), zh("Awarded jobs"), zh("Total budget cap (baseline)"), zh("Total awarded"),
                               zh("Total saved"), zh("Savings rate")]
        assert rows[0][-1] == zh("Code") and rows[1][0] == zh("All")
        by_code = {row[-1]: row for row in rows[2:]}
        assert by_code[code][0] == name, group_by
        api = (await client.get(f"/api/reports/savings?group_by={group_by}")).json()
        assert by_code[code][5] == pct(api["groups"][code]["savings_rate"]) and by_code[code][5].endswith("%")
        assert by_code[code][4] == api["groups"][code]["total_saved"]
    from openpyxl import load_workbook

    x = await client.get("/api/reports/savings.xlsx?group_by=method")
    ws = load_workbook(io.BytesIO(x.content)).active
    api = (await client.get("/api/reports/savings?group_by=method")).json()
    names = {ws.cell(r, 8).value: r for r in range(3, ws.max_row + 1)}
    row = names["lowest"]
    assert ws.cell(row, 1).value == zh("Lowest price") and ws.cell(1, 1).value == zh("Group")
    for column, field in ((3, "total_cap"), (4, "total_awarded"), (5, "total_saved")):
        cell = ws.cell(row, column)
        assert isinstance(cell.value, (int, float)) and cell.number_format == "#,##0.00"
        assert Decimal(str(cell.value)).quantize(Decimal("0.01")) == Decimal(api["groups"]["lowest"][field])
    assert ws.cell(row, 6).number_format == "0.00%"
    assert Decimal(str(ws.cell(row, 6).value)) == Decimal(api["groups"]["lowest"]["savings_rate"])
    # In English the names are English.
    client.cookies.set("lang", "en")
    r = await client.get("/api/reports/savings.csv?group_by=category")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Group" and {row[-1]: row[0] for row in rows[2:]}["EIA"] == "Environmental impact assessment"


async def test_dashboard_api_is_documented(client):
    doc = (await client.get("/schema/openapi.json")).json()
    op = doc["paths"]["/api/reports/savings/dashboard"]["get"]
    assert {"200", "400"} <= set(op["responses"])
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    props = doc["components"]["schemas"][name]["properties"]
    assert {"by_month", "by_method", "by_category", "by_district", "selection_time", "top_agencies"} <= set(props)
    assert {p["name"] for p in op.get("parameters", [])} >= {"date_from", "date_to", "category", "method", "owner",
                                                             "district"}
