"""The complaints API (投诉举报): file one (anyone), follow it (the complainant), the public list of concluded
complaints (never the complainant), and the regulators' list, detail and steps."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery

from app.api_docs import FORM, JSON, MULTIPART, _operation, body, json_schema
from app.auth import ANY_USER, PUBLIC, roles
from app.db import DB
from app.errors import NotFound
from app.forms import FilterCheck, parse
from app.request_limits import check_submitted
from app.web import read_input
from marketplace.controllers.page_helpers import Page, PerPage, recompute_later, user_of
from marketplace.schemas.complaints import (
    ComplaintConclusionIn,
    ComplaintFiledOut,
    ComplaintIn,
    ComplaintStateOut,
    FollowUpIn,
    PublicComplaintListOut,
    PublicComplaintOut,
    RegulatorComplaintListOut,
    RegulatorComplaintOut,
)
from marketplace.services import complaint_investigation as investigation
from marketplace.services import complaints
from marketplace.services.complaints import Throttles


def limits(request: Request) -> Throttles:
    """The app's complaint throttles (made on first use; in Redis when it is configured)."""
    state = request.app.state
    found = getattr(state, "complaint_throttles", None)
    if found is None:
        redis = state.store._redis if state.settings.redis_url else None
        found = state.complaint_throttles = complaints.throttles(redis)
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def complaint_input(request: Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The body's fields and its evidence files: a multipart form (files under `file`), a plain form or JSON
    (no files)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await read_input(request), []
    form = await request.form()
    files = [(f.filename or "", await f.read()) for f in form.getall("file", []) if hasattr(f, "read")]
    fields = {k: v for k, v in form.items() if not hasattr(v, "read") and k != "csrf_token"}
    check_submitted(fields)
    return fields, files


async def file_from_request(request: Request, db: DB) -> tuple[Any, str | None]:
    """Count the filing against the caller's address, then file it (the page and the API)."""
    await complaints.count_filing(limits(request), client_address(request))
    data, files = await complaint_input(request)
    return await complaints.file_complaint(db, request.scope.get("user"), parse(ComplaintIn, data), files,
                                           request.app.state.settings.var_dir)


async def follow_up_from(request: Request, db: DB, data: dict[str, Any],
                         file_id: int | None = None) -> Any:
    """The anonymous follow-up (the state, or with `file_id` one of its evidence files as (file, path)): wrong
    numbers or codes are counted per address (429 past the limit)."""
    throttles = limits(request)
    address = client_address(request)
    await complaints.check_follow_ups(throttles, address)
    form = parse(FollowUpIn, data)
    try:
        if file_id is not None:
            return await complaints.follow_up_file(db, form.complaint_no, form.code, file_id,
                                                   request.app.state.settings.var_dir)
        return await complaints.follow_up(db, form.complaint_no, form.code)
    except NotFound:
        await throttles.follow_ups.hit(address)
        raise


def status_filter(check: FilterCheck, status: str | None, q: str | None) -> tuple[str | None, str | None]:
    status = check.choice("status", status, complaints.STATUSES)
    q = check.text("q", q)
    check.done()
    return status, q


_FILING = json_schema(ComplaintIn)
_FILING_MULTIPART = {**_FILING, "properties": {**_FILING["properties"], "file": {
    "type": "array", "items": {"type": "string", "format": "binary"},
    "description": "evidence files (PDF, Word, Excel, ZIP, PNG or JPEG; 10 MB each; at most 10)"}}}


# Multipart with the files; JSON or a plain form carry the same fields without them.
FILING_BODY = _operation("ComplaintIn", _FILING_MULTIPART, (MULTIPART, JSON, FORM))


@post("/api/complaints", opt=roles(PUBLIC), status_code=201, operation_class=FILING_BODY)
async def api_file_complaint(request: Request, db: DB) -> ComplaintFiledOut:
    """File a complaint about a job (`job_no`) or an agency (`agency_code`), or both, with a `description`.
    Signed in: any role. Anonymous: `contact_name` and `contact` (a phone number or e-mail address) are required,
    and the answer carries the `follow_up_code`, shown this once (only its hash is kept). Evidence files: send a
    multipart form with one or more `file` fields. Limited per address (429)."""
    c, code = await file_from_request(request, db)
    return ComplaintFiledOut(complaint_no=c.complaint_no, status=c.status, follow_up_code=code)


@get("/api/complaints", opt=roles(PUBLIC))
async def api_public_complaints(db: DB, page: Page = 1, per_page: PerPage = 20) -> PublicComplaintListOut:
    """Concluded complaints, newest conclusion first: what it was about, the outcome and the reasons, never who
    complained."""
    listing = await complaints.public_complaints(db, page, per_page)
    return PublicComplaintListOut(items=[complaints.public_out(c, j, a) for c, j, a in listing.items],
                                  total=listing.total, page=page, per_page=per_page)


@get("/api/complaints/mine", opt=roles(*ANY_USER))
async def api_my_complaints(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20) -> list[ComplaintStateOut]:
    """The signed-in user's complaints, newest first, each with its state (and, once concluded, the outcome)."""
    listing = await complaints.my_complaints(db, user_of(request), page, per_page)
    files = await complaints.files_of(db, [c.id for c, _j, _a in listing.items])
    return [complaints.state_out(complaints.ComplaintView(c, j, a, files[c.id])) for c, j, a in listing.items]


@get("/api/complaints/{complaint_no:str}", opt=roles(PUBLIC))
async def api_public_complaint(db: DB, complaint_no: FromPath[str]) -> PublicComplaintOut:
    """One concluded complaint (404 until it is concluded)."""
    view = await complaints.public_complaint(db, complaint_no)
    return complaints.public_out(view.complaint, view.job, view.agency)


@post("/api/complaints/follow-up", opt=roles(PUBLIC), status_code=200, operation_class=body(FollowUpIn))
async def api_follow_up(request: Request, db: DB) -> ComplaintStateOut:
    """Body: `{"complaint_no", "code"}`: the anonymous complainant's complaint, its state and, once concluded,
    the outcome and reasons. A wrong number or code is a 404 (the same for both), counted per address (429)."""
    return complaints.state_out(await follow_up_from(request, db, await read_input(request)))


# ---- regulators ---------------------------------------------------------------------------------

@get("/api/regulator/complaints", opt=roles("regulator", "admin"))
async def api_regulator_complaints(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20,
                                   status: FromQuery[str | None] = None,
                                   q: FromQuery[str | None] = None) -> RegulatorComplaintListOut:
    """Every complaint with its complainant (`status`: received, investigating or concluded; `q` searches the
    number, description, job, agency and contact), received first."""
    status, q = status_filter(FilterCheck(), status, q)
    listing = await investigation.regulator_complaints(db, status, q, page, per_page)
    return RegulatorComplaintListOut(items=await investigation.regulator_outs(db, listing), total=listing.total,
                                     page=page, per_page=per_page)


@get("/api/regulator/complaints/{complaint_no:str}", opt=roles("regulator", "admin"))
async def api_regulator_complaint(db: DB, complaint_no: FromPath[str]) -> RegulatorComplaintOut:
    return investigation.regulator_out(await investigation.regulator_complaint(db, complaint_no))


@post("/api/regulator/complaints/{complaint_no:str}/investigate", opt=roles("regulator"), status_code=200)
async def api_investigate(request: Request, db: DB, complaint_no: FromPath[str]) -> RegulatorComplaintOut:
    """received → investigating (409 from any other state). The complainant and the party concerned are told."""
    await investigation.start_investigation(db, user_of(request), complaint_no)
    return investigation.regulator_out(await investigation.regulator_complaint(db, complaint_no))


@post("/api/regulator/complaints/{complaint_no:str}/conclude", opt=roles("regulator"), status_code=200,
      operation_class=body(ComplaintConclusionIn))
async def api_conclude(request: Request, db: DB, complaint_no: FromPath[str]) -> RegulatorComplaintOut:
    """investigating → concluded: `outcome` upheld or not_upheld and the `conclusion` (the reasons, published).
    An upheld complaint may link a violation of the agency: `violation: existing` with `violation_id`, or
    `violation: new` with `severity`, `kind` and `violation_description` (recorded now; the credit is
    recomputed). From `received`, a second time or without reasons: refused, nothing written."""
    data = parse(ComplaintConclusionIn, await read_input(request))
    _c, recompute = await investigation.conclude(db, user_of(request), complaint_no, data)
    if recompute:
        await recompute_later(request, recompute)
    return investigation.regulator_out(await investigation.regulator_complaint(db, complaint_no))


route_handlers = [api_file_complaint, api_public_complaints, api_my_complaints, api_public_complaint, api_follow_up,
                  api_regulator_complaints, api_regulator_complaint, api_investigate, api_conclude]
