"""Open data API: OCDS 1.1 release packages per job and the bulk feed."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from app.auth import PUBLIC, roles
from app.clock import SHANGHAI, utcnow
from app.db import DB
from app.errors import InputError, NotFound
from app.i18n import get_locale
from app.i18n import gettext as _
from marketplace.domain import ocds
from marketplace.services.bulk_feeds import FeedLines, release_feed
from marketplace.services.jobs import public_job
from marketplace.services.open_data import job_facts

JSON = "application/json"
BATCH = 200  # jobs per query of the bulk feed


def publication(request: Request) -> ocds.Publication:
    """Links on the request's host, texts in the request's language."""
    return ocds.Publication(base_url=str(request.base_url).rstrip("/"),
                            publisher_name=_("Intermediary Service Supermarket"),
                            language="zh" if get_locale() == "zh_CN" else "en", translate=_)


def _json(obj: Any) -> Response:
    return Response(ocds.dumps(obj).encode(), media_type=JSON)


def parse_since(value: str | None) -> datetime | None:
    """`?since=`: an ISO 8601 date or date-time; without a zone it is Beijing time, like every deadline."""
    if value is None or not value.strip():
        return None
    try:
        since = datetime.fromisoformat(value.strip())
    except ValueError:
        msg = _("Give since as an ISO 8601 date or date-time, for example 2026-01-31 or 2026-01-31T08:00:00+08:00.")
        raise InputError(msg, fields={"since": msg}) from None
    since = since.replace(tzinfo=SHANGHAI) if since.tzinfo is None else since
    try:
        return since.astimezone(timezone.utc)
    except OverflowError:  # within a day of year 1 or 9999: before everything, or after everything
        return None if since.year == 1 else datetime.max.replace(tzinfo=timezone.utc)


@get("/api/jobs/{job_no:str}/ocds", opt=roles(PUBLIC), media_type=JSON)
async def api_job_ocds(request: Request, db: DB, job_no: FromPath[str]) -> Response:
    """The job's OCDS 1.1 release package: one release per stage reached (tender, opening, award, contract,
    completion). Nothing about quotes before they are opened; amounts are exact JSON numbers."""
    job = await public_job(db, job_no)
    if job.published_at is None:  # a draft cancelled before it was ever published
        raise NotFound(_("No such job."))
    pub, now = publication(request), utcnow()
    facts = (await job_facts(db, [job]))[0]
    return _json(ocds.release_package(ocds.releases(facts, pub, now), pub, uri=str(request.url), published_date=now))


@get("/api/ocds/releases.jsonl", opt=roles(PUBLIC), media_type="application/x-ndjson")
async def api_ocds_releases(request: Request, since: FromQuery[str | None] = None) -> Stream:
    """The latest OCDS release of every published job, one JSON object per line, oldest job first.
    `?since=2026-01-31` (ISO 8601; Beijing time without a zone) keeps the jobs whose latest release is
    dated at or after it."""
    after = parse_since(since)
    lines = release_feed(request.app.state.sessionmaker, FeedLines.of(request.app.state), publication(request),
                         after, BATCH)
    return Stream(lines, media_type="application/x-ndjson")


route_handlers = [api_job_ocds, api_ocds_releases]
