"""The audit chain: its head for outsiders to pin, the verifier's verdict and the regulator's page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from app.audit import AuditFilters, chain_head, count_events, latest_events, present_kinds, verify_stored_chain
from app.audit_chain import ChainReport
from app.audit_labels import KIND_LABELS
from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import InputError
from app.forms import FilterCheck
from app.schemas import AuditHeadOut
from app.web import pager_base, render

PER_PAGE = 50
SUBJECT_MAX = 200  # as long as a stored subject may be
_EARLIEST_DAY, _LATEST_DAY = date(1970, 1, 1), date(9999, 12, 30)


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def audit_filters(kinds: list[str], tz: str, kind: str | None, subject: str | None, date_from: str | None,
                  date_to: str | None) -> AuditFilters:
    """The page's filters, checked: a kind the chain does not offer, a malformed date or a reversed period is a
    400 (InputError, per field). Dates are days in the display time zone (Beijing), both ends included."""
    check = FilterCheck()
    kind = check.choice("kind", (kind or "").strip(), kinds)
    subject = check.text("subject", subject, limit=SUBJECT_MAX)
    d_from, d_to = check.date("date_from", date_from), check.date("date_to", date_to)
    check.period(d_from, d_to)
    check.done()
    zone = ZoneInfo(tz)
    start = _day_start(max(d_from, _EARLIEST_DAY), zone) if d_from else None
    end = _day_start(d_to + timedelta(days=1), zone) if d_to and d_to < _LATEST_DAY else None
    return AuditFilters(kind=kind, subject=subject, start=start, end=end)


@get("/api/audit/head", opt=roles(PUBLIC))
async def api_audit_head(db: DB) -> AuditHeadOut:
    """The chain head, for outsiders to pin."""
    seq, head = await chain_head(db)
    return AuditHeadOut(seq=seq, hash=head)


@get("/api/audit/verify", opt=roles("regulator", "admin"))
async def api_audit_verify(db: DB) -> ChainReport:
    """Walk the whole stored chain and report the first broken link (`broken_seq`, `problem`), if any."""
    return await verify_stored_chain(db)


@get("/regulator/audit", opt=roles("regulator", "admin"))
async def audit_page(request: Request, db: DB, page: Annotated[int, QueryParameter(name="page", ge=1, le=10**9)] = 1,
                     kind: FromQuery[str | None] = None, subject: FromQuery[str | None] = None,
                     date_from: FromQuery[str | None] = None, date_to: FromQuery[str | None] = None) -> Template:
    """The chain, newest first, narrowed by kind, subject and period (Beijing days)."""
    report = await verify_stored_chain(db)
    # Quote events of jobs still sealed show neither their job nor their kind (the rule is the
    # marketplace's, wired by the composition root); a view naming a kind or a subject leaves them out entirely.
    hidden = request.app.state.sealed_audit_clause()
    kinds = await present_kinds(db, hidden)
    form = {"kind": (kind or "").strip(), "subject": (subject or "").strip(), "date_from": (date_from or "").strip(),
            "date_to": (date_to or "").strip()}
    ctx = {"report": report, "kinds": kinds, "filters": form}
    try:
        # Any kind the code appends is a filter (an empty page where none is stored yet), and any kind stored.
        filters = audit_filters([*kinds, *KIND_LABELS], request.app.state.settings.display_timezone, **form)
    except InputError as exc:
        # The page shows the filter form again with its errors, answering 400.
        return await render(request, "app/audit.html", status_code=exc.status_code, error=exc.message,
                            errors=exc.fields, events=[], sealed=set(), page=1, pages=1, total=0,
                            pager_base=pager_base("/regulator/audit", form), **ctx)
    page = max(1, page)
    events = await latest_events(db, page, PER_PAGE, filters, hidden)
    sealed = await request.app.state.sealed_audit_events(db, events)
    unfiltered = filters == AuditFilters()
    total = report.head_seq if unfiltered else await count_events(db, filters, hidden)
    return await render(request, "app/audit.html", events=events, page=page, sealed=sealed, total=total,
                        pages=max(1, -(-total // PER_PAGE)), filtered=not unfiltered, errors={},
                        pager_base=pager_base("/regulator/audit", form), **ctx)


route_handlers = [api_audit_head, api_audit_verify, audit_page]
