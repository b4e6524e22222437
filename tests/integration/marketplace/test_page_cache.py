"""The cached public job pages (app/page_cache.py) are never stale: a publication, an amendment, a
cancellation, the opening and the draw show on the very next request; a notice read before the deadline
is not served after it, and before the opening no cached page holds a price. On SQLite the cache is
off; on PostgreSQL these tests also check that the pages were served from it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import SHANGHAI, set_clock_offset, utcnow
from marketplace.domain.money import grouped
from tests.conftest import ON_POSTGRES
from tests.integration.marketplace.test_jobs_pages import (
    PRICES,
    as_user,
    assert_no_prices,
    local,
    pass_deadline,
    post,
    published_job,
    quote,
    select_now,
    world,  # noqa: F401 (the fixture)
)


@pytest.fixture
async def live(app, client):
    """The app with its page versions listening (PostgreSQL): the cache is in use."""
    if ON_POSTGRES:
        assert await app.state.page_versions.wait_live()
    return app


def served_from_cache(app, path: str) -> bool:
    return any(key[0] == path for key in app.state.page_cache.entries)


async def anonymous_get(client, path: str) -> str:
    await as_user(client, None)
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return r.text


async def test_job_list_shows_a_publication_an_amendment_and_a_cancellation_at_once(client, live, world):  # noqa: F811
    token = await as_user(client, "own1")
    first = await published_job(client, token, title="第一个公告")
    assert "第一个公告" in await anonymous_get(client, "/jobs")
    assert "第一个公告" in await anonymous_get(client, "/jobs")  # the second read: from the cache on PostgreSQL
    if ON_POSTGRES:
        assert served_from_cache(live, "/jobs")
    token = await as_user(client, "own1")
    second = await published_job(client, token, title="第二个公告")
    listing = await anonymous_get(client, "/jobs")
    assert "第二个公告" in listing and "第一个公告" in listing

    token = await as_user(client, "own1")
    r = await post(client, f"/owner/jobs/{second}/cancel", token, reason="项目调整")
    assert r.status_code == 303, r.text
    cancelled = await anonymous_get(client, "/jobs?status=cancelled")
    assert second in cancelled and first not in cancelled
    api = await client.get("/api/jobs?status=cancelled")
    assert [j["job_id"] for j in api.json()["items"]] == [second]

    await anonymous_get(client, f"/jobs/{first}")
    token = await as_user(client, "own1")
    later = (utcnow() + timedelta(days=9)).replace(second=0, microsecond=0)
    r = await post(client, f"/owner/jobs/{first}/amendments", token, text="更正：服务期限调整为九十天",
                   quote_deadline=local(later))
    assert r.status_code == 303, r.text
    assert "更正：服务期限调整为九十天" in await anonymous_get(client, f"/jobs/{first}")
    assert later.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in await anonymous_get(client, "/jobs")


async def test_notice_seals_until_the_opening_and_shows_the_draw_at_once(client, sessionmaker, live, world):  # noqa: F811
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    before = await anonymous_get(client, f"/jobs/{job_no}")
    assert "data-deadline=" in before  # the countdown: open for quotes
    for i, price in enumerate(PRICES):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    sealed = await anonymous_get(client, f"/jobs/{job_no}")
    sealed_again = await anonymous_get(client, f"/jobs/{job_no}")
    if ON_POSTGRES:
        assert served_from_cache(live, f"/jobs/{job_no}")
    for html in (sealed, sealed_again):
        assert_no_prices(html, PRICES)
        assert 'id="live-count"' not in html

    await pass_deadline(sessionmaker, job_no)  # the deadline passes; the quotes are not opened yet
    due = await anonymous_get(client, f"/jobs/{job_no}")
    assert "data-deadline=" not in due
    assert_no_prices(due, PRICES)
    assert_no_prices((await client.get(f"/api/jobs/{job_no}")).text, PRICES)
    assert_no_prices((await client.get("/api/jobs")).text, PRICES)
    assert_no_prices(await anonymous_get(client, "/jobs"), PRICES)

    await select_now(client, job_no)  # the opening and the draw
    opened = await anonymous_get(client, f"/jobs/{job_no}")
    for price in PRICES:
        assert grouped(price) in opened
    assert 'id="server-seed"' in opened
    assert job_no in await anonymous_get(client, "/jobs?status=awarded")


async def test_a_notice_read_before_the_deadline_is_not_served_after_it(client, live, world):  # noqa: F811
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    assert "data-deadline=" in await anonymous_get(client, f"/jobs/{job_no}")
    assert "data-deadline=" in await anonymous_get(client, f"/jobs/{job_no}")
    set_clock_offset(timedelta(hours=3))  # past the deadline by the clock alone: nothing was written
    try:
        assert "data-deadline=" not in await anonymous_get(client, f"/jobs/{job_no}")
    finally:
        set_clock_offset(timedelta(0))


async def test_signed_in_visitors_get_their_own_header_and_boxes_around_a_shared_list(client, live, world):  # noqa: F811
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    await anonymous_get(client, "/jobs")
    await as_user(client, "ag0")
    page = (await client.get("/jobs")).text
    assert "/agency/quotes" in page and "/login" not in page.split("<main>")[0]
    assert job_no in page
    notice = (await client.get(f"/jobs/{job_no}")).text
    assert 'name="price"' in notice or "quote" in notice  # the agency's own box is rendered for it
    await as_user(client, "own1")
    page = (await client.get("/jobs")).text
    assert "/owner/jobs" in page and "/agency/quotes" not in page
    anonymous = await anonymous_get(client, "/jobs")
    assert "/login" in anonymous and "/owner/jobs" not in anonymous and "/agency/quotes" not in anonymous


async def test_a_badge_moves_from_publicity_to_contract_pending_by_the_clock_alone(client, sessionmaker, live,
                                                                                   world):  # noqa: F811
    token = await as_user(client, "own1")
    job_no = await published_job(client, token)
    for i, price in enumerate(PRICES):
        assert (await quote(client, f"ag{i}", job_no, price)).status_code == 303
    await pass_deadline(sessionmaker, job_no)
    await select_now(client, job_no)
    for path in ("/jobs", f"/jobs/{job_no}"):
        for _read in range(2):  # the second read from the cache on PostgreSQL
            page = await anonymous_get(client, path)
            assert "中选公示中" in page and "已中选，待签合同" not in page
        if ON_POSTGRES:
            assert served_from_cache(live, path)
    set_clock_offset(timedelta(days=4))  # the 3 days' publicity ends: nothing was written
    try:
        for path in ("/jobs", f"/jobs/{job_no}", "/jobs?status=awarded"):
            page = await anonymous_get(client, path)
            assert "已中选，待签合同" in page and "中选公示中" not in page, path
        # The status filter names the whole awarded state, before the contract.
        assert "已中选（未签合同）" in await anonymous_get(client, "/jobs")
    finally:
        set_clock_offset(timedelta(0))
