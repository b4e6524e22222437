"""The cached credit pages (app/page_cache.py) are never stale: a new name, a violation, a rating and an
award show on the very next request to an agency's profile, the rankings (signed in) and the savings
report; a signed-in visitor gets its own header and unread badge around the shared body. On SQLite the
cache is off; on PostgreSQL these tests also check that the pages were served from it."""

from __future__ import annotations

import re

from sqlmodel import select

from app.models import Notification, User
from ratings.services.recompute import nightly_recompute
from tests.conftest import ON_POSTGRES
from tests.integration.marketplace.test_jobs_pages import as_user, post
from tests.integration.marketplace.test_page_cache import live, served_from_cache  # noqa: F401 (live: the fixture)
from tests.integration.ratings.test_ratings_api import completed_job, settle
from tests.integration.ratings.test_ratings_pages import STARS, code_of, report_data, world, zh  # noqa: F401

PROFILE = {"legal_rep": "甲", "contact_name": "乙", "phone": "12345678", "address": "丙"}


async def page(client, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return r.text


async def test_profile_shows_a_new_name_and_a_violation_at_once(client, app, sessionmaker, live, world):  # noqa: F811
    code = await code_of(sessionmaker, "ag1")
    path = f"/agencies/{code}/profile"
    await as_user(client, None)
    first = await page(client, path)
    assert "ag1 " in first and zh("Late delivery") not in first
    await page(client, path)
    if ON_POSTGRES:
        assert served_from_cache(app, path)
    token = await as_user(client, "ag1")
    r = await post(client, "/agency/profile", token, name="更名后的咨询有限公司", **PROFILE)
    assert r.status_code == 303, r.text
    await as_user(client, None)
    assert "更名后的咨询有限公司" in await page(client, path)

    token = await as_user(client, "reg1")
    r = await post(client, "/regulator/violations", token, agency_code=code, severity="minor", kind="late_delivery",
                   description="逾期提交成果", evidence="监管记录 2026-12")
    assert r.status_code == 303, r.text
    await as_user(client, None)
    assert zh("Late delivery") in await page(client, path)


async def test_signed_in_rankings_show_a_rename_at_once_with_the_users_own_header(client, app, sessionmaker,
                                                                                  live, world):  # noqa: F811
    async with sessionmaker() as s:
        await nightly_recompute(s)  # every agency is ranked
    await as_user(client, "ag2")
    first = await page(client, "/rankings")
    assert "/agency/quotes" in first.split("<main>")[0]
    await page(client, "/rankings")
    token = await as_user(client, "ag1")
    r = await post(client, "/agency/profile", token, name="排名里的新名称有限公司", **PROFILE)
    assert r.status_code == 303, r.text
    mine = await page(client, "/rankings")
    assert "排名里的新名称有限公司" in mine and "/agency/quotes" in mine.split("<main>")[0]
    await as_user(client, "own1")
    owner = await page(client, "/rankings")
    assert "排名里的新名称有限公司" in owner and "/owner/jobs" in owner and "/agency/quotes" not in owner
    await settle(app)
    await as_user(client, None)
    anonymous = await page(client, "/rankings")  # the visitors' cache follows the recompute
    assert "排名里的新名称有限公司" in anonymous and "/login" in anonymous


def unread(html: str) -> int:
    """The header's unread badge (0 when there is none)."""
    m = re.search(r'id="unread-badge"[^>]*>(\d+)</a>', html)
    return int(m.group(1)) if m else 0


async def test_the_unread_badge_follows_new_notifications(client, sessionmaker, live, world):  # noqa: F811
    await as_user(client, "ag1")
    other = unread(await page(client, "/rankings"))
    await as_user(client, "ag0")
    before = unread(await page(client, "/rankings"))
    assert unread(await page(client, "/rankings")) == before
    async with sessionmaker() as s:
        user = (await s.exec(select(User).where(User.username == "ag0"))).one()
        s.add(Notification(user_id=user.id, kind="question_answered", data={}))
        await s.commit()
    assert unread(await page(client, "/rankings")) == before + 1
    assert unread(await page(client, "/jobs")) == before + 1
    await as_user(client, "ag1")
    assert unread(await page(client, "/rankings")) == other


async def test_savings_report_and_profile_show_an_award_and_a_rating_at_once(client, app, sessionmaker, live,  # noqa: F811
                                                                             world):  # noqa: F811
    await as_user(client, None)
    assert report_data(await page(client, "/reports/savings"))["report"]["overall"]["count"] == 0
    await page(client, "/reports/savings")
    if ON_POSTGRES:
        assert served_from_cache(app, "/reports/savings")
    code = await code_of(sessionmaker, "ag0")
    before = await page(client, f"/agencies/{code}/profile")
    job_no, _h = await completed_job(client, sessionmaker)  # ag0 won at 70,000 of a 100,000 cap
    await as_user(client, None)
    data = report_data(await page(client, "/reports/savings"))["report"]["overall"]
    assert data["count"] == 1 and data["total_saved"] == "30000.00"
    won = await page(client, f"/agencies/{code}/profile")
    assert job_no not in before and job_no in won
    assert 'data-criterion="quality"' not in won  # no rating yet
    token = await as_user(client, "own1")
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **STARS)
    assert r.status_code == 303, r.text
    await as_user(client, None)
    rated = await page(client, f"/agencies/{code}/profile")
    assert '<td class="num" data-criterion="quality">5.00</td>' in rated
