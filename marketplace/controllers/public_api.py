"""The public half of the jobs API: calls and results, a notice, its draw record, and every draw
record in bulk."""

from __future__ import annotations

from dataclasses import astuple

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import NotFound
from app.i18n import gettext as _
from marketplace.controllers.filters import api_job_filters
from marketplace.controllers.page_helpers import Page, PerPage
from marketplace.schemas import DrawRecordOut, JobListOut, JobOut
from marketplace.services.bulk_feeds import FeedLines, draw_feed
from marketplace.services.draw_records import draw_record
from marketplace.services.job_notices import JOB_PAGES, job_notice, notice_listing
from marketplace.services.jobs import JobFilters, public_job

BATCH = 200  # draw records per query of the bulk feed


@get("/api/jobs", opt=roles(PUBLIC))
async def api_jobs(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20, q: FromQuery[str | None] = None,
                   category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                   district: FromQuery[str | None] = None, status: FromQuery[str | None] = None) -> JobListOut:
    """Open calls and results (search, filters, pagination)."""
    f = api_job_filters(JobFilters(q=q, category=category, method=method, district=district, status=status))
    # The same for every caller: kept while no job changes (app/page_cache.py).
    version = request.app.state.page_versions.current(JOB_PAGES)
    key = ("api_jobs", astuple(f), page, per_page, version)
    cache = request.app.state.page_cache
    hit = cache.get(key) if version is not None else None
    if hit is None:
        hit = await notice_listing(db, f, page, per_page)
        if version is not None:
            cache.put(key, hit)
    return hit


@get("/api/jobs/{job_no:str}", opt=roles(PUBLIC))
async def api_job(db: DB, job_no: FromPath[str]) -> JobOut:
    """A job notice: before the deadline only the number of quotes, never prices."""
    return await job_notice(db, await public_job(db, job_no))


@get("/api/jobs/{job_no:str}/draw", opt=roles(PUBLIC))
async def api_draw(db: DB, job_no: FromPath[str]) -> DrawRecordOut:
    """The draw record (DESIGN 'Draw protocol') plus the opened quotes with their nonces."""
    job = await public_job(db, job_no)
    record = await draw_record(db, job)
    if record is None:
        raise NotFound(_("This job has not been drawn yet."))
    return DrawRecordOut.model_validate(record)


@get("/api/draws.jsonl", opt=roles(PUBLIC), media_type="application/x-ndjson")
async def api_draws(request: Request) -> Stream:
    """Every draw record, one JSON object per line, oldest first."""
    lines = draw_feed(request.app.state.sessionmaker, FeedLines.of(request.app.state), BATCH)
    return Stream(lines, media_type="application/x-ndjson")


route_handlers = [api_jobs, api_job, api_draw, api_draws]
