"""The regulator's audit page filters by kind, subject and Beijing dates, keeps the filters across pages, refuses
bad values with a 400 in the reader's language, and never lets a filter count a sealed job's quote events."""

from __future__ import annotations

import re
from datetime import timedelta

from app.audit_labels import audit_kind_name
from app.clock import utcnow
from app.i18n import local_time, set_locale
from tests.helpers import make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user, pass_deadline, published_job

ROW = re.compile(r"<tr><td>(\d+)</td>")
TOTAL = re.compile(r'data-total="(\d+)"')


def zh(label, code: str) -> str:
    """A label as a zh-CN page shows it (English until the catalogue translates it)."""
    set_locale("zh_CN")
    return label(code)


async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    for i in range(4):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")


async def quote(client, job_no, agency, price="90000.00"):
    h = await as_user(client, agency)
    r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 30}, headers=h)
    assert r.status_code == 201, r.text


async def view(client, **params):
    """(the seqs listed, the total shown, the kinds offered) of one filtered view."""
    r = await client.get("/regulator/audit", params=params)
    assert r.status_code == 200, r.text
    total = TOTAL.search(r.text)
    offered = re.findall(r'<option value="([^"]+)"', r.text)
    return [int(s) for s in ROW.findall(r.text)], int(total.group(1)) if total else None, offered


async def test_a_filter_never_counts_a_sealed_jobs_quote_events(client, sessionmaker):
    await world(sessionmaker)
    opened = await published_job(client)
    for i in range(3):
        await quote(client, opened, f"ag{i}", f"{90000 + i}.00")
    await pass_deadline(sessionmaker, opened)
    h = await as_user(client, "reg1")
    assert (await client.post(f"/api/regulator/jobs/{opened}/select", headers=h)).status_code == 200
    sealed = await published_job(client)
    await quote(client, sealed, "ag0")  # one sealed quote already there

    today = local_time(utcnow(), "Asia/Shanghai", "%Y-%m-%d")
    views = [{"kind": "quote.submitted"}, {"subject": f"job:{sealed}"}, {"subject": sealed},
             {"kind": "quote.submitted", "subject": f"job:{sealed}"}, {"kind": "quote.withdrawn"},
             {"kind": "quote.submitted", "date_from": today, "date_to": today}, {"subject": f"job:{opened}"}]
    for viewer in ("reg1", "admin1"):
        await as_user(client, viewer)
        before = [await view(client, **v) for v in views]
        assert before[0][1] == 3 and len(before[0][0]) == 3  # the opened job's three quotes, nothing else
        assert before[3][0] == [] and before[3][1] == 0
        assert before[1][1] >= 1 and before[1][1] == len(before[1][0])  # the sealed job's own events (published…)
        assert before[2][:2] == before[1][:2]  # a bare job number matches job:<number>
        for i in (1, 2):
            await quote(client, sealed, f"ag{i}")
            h = await as_user(client, f"ag{i}")
            assert (await client.delete(f"/api/jobs/{sealed}/quote", headers=h)).status_code == 200
            await quote(client, sealed, f"ag{i}")
        await as_user(client, viewer)
        after = [await view(client, **v) for v in views]
        assert after == before, viewer
        # and the masked rows of the whole chain stay masked
        page = (await client.get("/regulator/audit")).text
        assert f"job:{sealed}" in page  # its publication…
        rows = [row for row in page.split("<tr>") if "sealed-bidder" in row and f"job:{sealed}" in row]
        assert rows == []

    # once opened, the same filters count them
    await pass_deadline(sessionmaker, sealed)
    h = await as_user(client, "reg1")
    assert (await client.post(f"/api/regulator/jobs/{sealed}/select", headers=h)).status_code == 200
    seqs, total, _ = await view(client, kind="quote.submitted", subject=f"job:{sealed}")
    assert total == len(seqs) >= 3


async def test_filters_dates_pages_and_bad_values(client, sessionmaker):
    await world(sessionmaker)
    for i in range(3):
        await published_job(client)
    await as_user(client, "reg1")
    seqs, total, offered = await view(client, kind="job.published")
    assert total == 3 == len(seqs) and "job.published" in offered and "quote.submitted" not in offered
    page = (await client.get("/regulator/audit", params={"kind": "job.published"})).text
    assert zh(audit_kind_name, "job.published") in page and "<code class=\"hint\">job.published</code>" in page and 'href="/jobs/J' in page
    today = utcnow()
    tomorrow = local_time(today + timedelta(days=1), "Asia/Shanghai", "%Y-%m-%d")
    yesterday = local_time(today - timedelta(days=1), "Asia/Shanghai", "%Y-%m-%d")
    assert (await view(client, kind="job.published", date_from=yesterday, date_to=tomorrow))[1] == 3
    assert (await view(client, kind="job.published", date_from=tomorrow))[1] == 0
    assert (await view(client, kind="job.published", date_to=yesterday))[1] == 0
    # an agency's subject links to its profile
    page = (await client.get("/regulator/audit", params={"kind": "agency.registered"})).text
    assert 'href="/agencies/' in page and "/profile" in page
    # pagination keeps the filters (50 a page)
    for i in range(51):
        await published_job(client)
    await as_user(client, "reg1")
    page = (await client.get("/regulator/audit", params={"kind": "job.published", "date_from": yesterday})).text
    assert f"?kind=job.published&amp;date_from={yesterday}&amp;page=2" in page
    r = await client.get("/regulator/audit", params={"kind": "job.published", "date_from": yesterday, "page": 2})
    assert len(ROW.findall(r.text)) == 4

    for params, field in (({"kind": "no.such"}, "kind"), ({"date_from": "2026-13-01"}, "date_from"),
                          ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
                          ({"subject": "x" * 201}, "subject")):
        r = await client.get("/regulator/audit", params=params)
        assert r.status_code == 400 and "未知的筛选条件。" in r.text and f'id="e-{field}"' in r.text, params
    client.cookies.set("lang", "en")
    r = await client.get("/regulator/audit", params={"date_from": "soon"})
    assert r.status_code == 400 and "Enter a date as YYYY-MM-DD." in r.text
    r = await client.get("/regulator/audit", params={"kind": "job.published"})
    assert "Job published" in r.text and "54 events match these filters." in r.text
    r = await client.get("/regulator/audit", params={"kind": "owner.registered"})
    assert "1 event matches these filters." in r.text
