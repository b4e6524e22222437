"""The complaints' pages (投诉举报): the form (anyone), the anonymous follow-up, the user's own complaints, the
public list of concluded complaints (never the complainant), the evidence files, and the regulators' list,
detail and steps (received → investigating → concluded)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import ANY_USER, PUBLIC, roles
from app.db import DB
from app.errors import DomainError
from app.forms import FilterCheck, parse
from app.i18n import gettext as _
from app.web import done, form_action, keep_once, read_input, redirect, take_once
from marketplace.controllers.complaint_api import file_from_request, follow_up_from, status_filter
from marketplace.controllers.page_helpers import (
    PER_PAGE,
    Page,
    pager_base,
    recompute_later,
    render_page,
    user_of,
)
from marketplace.schemas.complaints import ComplaintConclusionIn
from marketplace.services import complaint_investigation as investigation
from marketplace.services import complaints


def complaint_status_name(status: str) -> str:
    return {"received": _("Received"), "investigating": _("Under investigation"),
            "concluded": _("Concluded")}.get(status, status)


def complaint_outcome_name(outcome: str) -> str:
    return {"upheld": _("Upheld"), "not_upheld": _("Not upheld")}.get(outcome, outcome)


async def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    return await render_page(request, f"marketplace/complaints/{template}", status_code=status_code,
                             complaint_status_name=complaint_status_name, complaint_outcome_name=complaint_outcome_name,
                             statuses=complaints.STATUSES, **context)


FILED = "complaint-filed"  # what the filing keeps for the page that shows its number once


# ---- filing -------------------------------------------------------------------------------------

@get("/complaints/new", opt=roles(PUBLIC))
async def complaint_form(request: Request, job: FromQuery[str | None] = None,
                         agency: FromQuery[str | None] = None) -> Template:
    """The form; `?job=` or `?agency=` (from a job's notice or an agency's profile) fills in what it is about."""
    form = {"job_no": (job or "")[:20], "agency_code": (agency or "")[:18]}
    return await _render(request, "new.html", form=form, max_files=complaints.MAX_FILES)


@post("/complaints/new", opt=roles(PUBLIC))
async def complaint_submit(request: Request, db: DB) -> Response | Template:
    """On success the complaint number, and for an anonymous complainant its follow-up code, shown this once."""

    async def filed(result: tuple[Any, str | None]) -> Response:
        c, code = result
        # Post/redirect/get: reloading the page that shows the number (and the code, once) files nothing again.
        if await keep_once(request, FILED, {"no": c.complaint_no, "code": code}, expires_in=600):
            return redirect("/complaints/filed")
        return await _render(request, "filed.html", complaint=c, code=code)  # the store is down: shown at once

    async def again(exc: DomainError) -> Template:
        try:
            form = await read_input(request)
        except DomainError:
            form = {}
        return await _render(request, "new.html", status_code=exc.status_code, error=exc.message, errors=exc.fields,
                             form={k: v for k, v in form.items() if isinstance(v, str)},
                             max_files=complaints.MAX_FILES)

    return await form_action(db, lambda: file_from_request(request, db), filed, again)


@get("/complaints/filed", opt=roles(PUBLIC))
async def complaint_filed_page(request: Request, db: DB) -> Response | Template:
    """The number (and for an anonymous complainant the follow-up code) of the complaint just filed, this once;
    afterwards the complaint's own page (signed in) or the follow-up form."""
    kept = await take_once(request, FILED)
    if not kept:
        return redirect("/complaints/mine" if user_of(request) else "/complaints/follow-up")
    page = await _render(request, "filed.html", complaint=await complaints.by_number(db, kept["no"]),
                         code=kept["code"])
    page.headers["cache-control"] = "no-store"
    return page


# ---- following it -------------------------------------------------------------------------------

@get("/complaints/follow-up", opt=roles(PUBLIC))
async def follow_up_form(request: Request, no: FromQuery[str | None] = None) -> Template:
    return await _render(request, "follow_up.html", form={"complaint_no": (no or "")[:20]})


@post("/complaints/follow-up", opt=roles(PUBLIC))
async def follow_up_submit(request: Request, db: DB) -> Template:
    """Number and code in the body (a POST: the code never appears in an address or a log)."""
    data = await read_input(request)
    try:
        view = await follow_up_from(request, db, data)
    except DomainError as exc:
        return await _render(request, "follow_up.html", status_code=exc.status_code, error=exc.message,
                             errors=exc.fields, form={"complaint_no": str(data.get("complaint_no", ""))[:20]})
    # The code is kept in the page's download forms only (never in an address); the page is not stored.
    page = await _render(request, "state.html", view=view, mine=False,
                         follow_up={"complaint_no": view.complaint.complaint_no, "code": str(data.get("code", ""))})
    page.headers["cache-control"] = "no-store"
    return page


@post("/complaints/follow-up/files/{file_id:int}", opt=roles(PUBLIC), status_code=200)
async def follow_up_file_download(request: Request, db: DB, file_id: FromPath[int]) -> Response:
    """An evidence file for the anonymous complainant: number and code in the body, as for the state."""
    f, path = await follow_up_from(request, db, await read_input(request), file_id)
    return _file_response(f, path)


@get("/complaints/mine", opt=roles(*ANY_USER))
async def my_complaints_page(request: Request, db: DB, page: Page = 1) -> Template:
    listing = await complaints.my_complaints(db, user_of(request), page, PER_PAGE)
    return await _render(request, "mine.html", listing=listing, pager_base=pager_base("/complaints/mine", {}))


@get("/complaints/mine/{complaint_no:str}", opt=roles(*ANY_USER))
async def my_complaint_page(request: Request, db: DB, complaint_no: FromPath[str]) -> Template:
    view = await complaints.my_complaint(db, user_of(request), complaint_no)
    return await _render(request, "state.html", view=view, mine=True)


@get("/complaints/{complaint_no:str}/files/{file_id:int}", opt=roles(*ANY_USER))
async def complaint_file_download(request: Request, db: DB, complaint_no: FromPath[str],
                                  file_id: FromPath[int]) -> Response:
    """An evidence file, for regulators and the complainant (404 for anyone else)."""
    f, path = await complaints.complaint_file(db, user_of(request), complaint_no, file_id,
                                              request.app.state.settings.var_dir)
    return _file_response(f, path)


def _file_response(f: Any, path: Any) -> Response:
    return Response(path.read_bytes(), media_type=f.content_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{urlquote(f.filename)}",
        "x-content-type-options": "nosniff", "cache-control": "no-store"})


# ---- public -------------------------------------------------------------------------------------

@get("/complaints", opt=roles(PUBLIC))
async def public_complaints_page(request: Request, db: DB, page: Page = 1) -> Template:
    """Concluded complaints, newest first: what each was about, the outcome and reasons; never who complained."""
    listing = await complaints.public_complaints(db, page, PER_PAGE)
    return await _render(request, "public_list.html", listing=listing, pager_base=pager_base("/complaints", {}))


@get("/complaints/{complaint_no:str}", opt=roles(PUBLIC))
async def public_complaint_page(request: Request, db: DB, complaint_no: FromPath[str]) -> Template:
    view = await complaints.public_complaint(db, complaint_no)
    return await _render(request, "public_detail.html", view=view)


# ---- regulators ---------------------------------------------------------------------------------

@get("/regulator/complaints", opt=roles("regulator", "admin"))
async def regulator_complaints_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None,
                                    q: FromQuery[str | None] = None) -> Template:
    check = FilterCheck()
    try:
        status, q = status_filter(check, status, q)
    except DomainError as exc:
        return await _render(request, "regulator_list.html", status_code=exc.status_code, error=exc.message,
                             errors=exc.fields, listing=None, status="", q="", pager_base="")
    listing = await investigation.regulator_complaints(db, status, q, page, PER_PAGE)
    return await _render(request, "regulator_list.html", listing=listing, status=status or "", q=q or "",
                         pager_base=pager_base("/regulator/complaints", {"status": status, "q": q}))


async def _detail(request: Request, db: AsyncSession, complaint_no: str, status_code: int = 200,
                  **extra: Any) -> Template:
    view = await investigation.regulator_complaint(db, complaint_no)
    return await _render(request, "regulator_detail.html", status_code=status_code, view=view,
                         violations=await investigation.violations_to_link(db, view), **extra)


@get("/regulator/complaints/{complaint_no:str}", opt=roles("regulator", "admin"))
async def regulator_complaint_page(request: Request, db: DB, complaint_no: FromPath[str]) -> Template:
    """The complaint with its complainant's identity and files, and the next step's form."""
    return await _detail(request, db, complaint_no)


@post("/regulator/complaints/{complaint_no:str}/investigate", opt=roles("regulator"))
async def investigate_submit(request: Request, db: DB, complaint_no: FromPath[str]) -> Response | Template:
    return await form_action(
        db, lambda: investigation.start_investigation(db, user_of(request), complaint_no),
        done(request, lambda c: _("Complaint {no} is under investigation.", no=c.complaint_no),
             f"/regulator/complaints/{complaint_no}"),
        lambda exc: _detail(request, db, complaint_no, status_code=exc.status_code, error=exc.message))


@post("/regulator/complaints/{complaint_no:str}/conclude", opt=roles("regulator"))
async def conclude_submit(request: Request, db: DB, complaint_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)

    async def concluded(result: tuple[Any, int | None]) -> Response:
        c, recompute = result
        if recompute:
            await recompute_later(request, recompute)
        return await done(request, _("Complaint {no} was concluded.", no=c.complaint_no),
                          f"/regulator/complaints/{complaint_no}")(c)

    return await form_action(
        db, lambda: investigation.conclude(db, user_of(request), complaint_no, parse(ComplaintConclusionIn, data)),
        concluded,
        lambda exc: _detail(request, db, complaint_no, status_code=exc.status_code, error=exc.message,
                            errors=exc.fields, form={k: v for k, v in data.items() if isinstance(v, str)}))


route_handlers = [complaint_form, complaint_submit, complaint_filed_page, follow_up_form, follow_up_submit, follow_up_file_download,
                  my_complaints_page, my_complaint_page, complaint_file_download, public_complaints_page, public_complaint_page,
                  regulator_complaints_page, regulator_complaint_page, investigate_submit, conclude_submit]
