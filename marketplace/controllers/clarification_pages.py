"""Clarifications on the notice (pages): an agency asks or re-confirms its quote; the owner answers and
publishes amendments. Each form re-shows the notice with its errors when refused."""

from __future__ import annotations

from litestar import Request, Response, post
from litestar.params import FromPath
from litestar.response import Template

from app.auth import roles
from app.clock import ensure_aware
from app.db import DB
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from marketplace.controllers.job_pages import render_job_page
from marketplace.controllers.page_helpers import user_of
from marketplace.controllers.performance_api import uploaded_files
from marketplace.schemas.clarifications import AnswerIn, QuestionIn
from marketplace.services.clarifications import (
    amend_job,
    amendment_input,
    answer_question,
    ask_question,
    reconfirm_quote,
)
from marketplace.services.jobs import schedule_close


@post("/jobs/{job_no:str}/questions", opt=roles("agency"))
async def question_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: ask_question(db, user_of(request), job_no, parse(QuestionIn, data)),
        done(request, _("Your question was sent to the owner. The answer will be published on the notice."),
             f"/jobs/{job_no}#clarifications"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, question_form=data,
                                    question_errors=exc.fields, error=exc.message))


@post("/jobs/{job_no:str}/quote/reconfirm", opt=roles("agency"))
async def quote_reconfirm(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    return await form_action(
        db, lambda: reconfirm_quote(db, user_of(request), job_no),
        done(request, _("Your quote was re-confirmed: it counts at the deadline."), f"/jobs/{job_no}#clarifications"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, error=exc.message))


@post("/owner/jobs/{job_no:str}/questions/{question_id:int}/answer", opt=roles("owner"))
async def answer_submit(request: Request, db: DB, job_no: FromPath[str], question_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: answer_question(db, user_of(request), job_no, question_id, parse(AnswerIn, data)),
        done(request, _("Your answer was published on the notice."), f"/jobs/{job_no}#question-{question_id}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, answer_form=data,
                                    answer_for=question_id, answer_errors=exc.fields, error=exc.message))


@post("/owner/jobs/{job_no:str}/amendments", opt=roles("owner"))
async def amendment_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    files, data = await amendment_body(request)

    async def act():
        amendment = await amend_job(db, user_of(request), job_no, amendment_input(data), files=files,
                                    settings=request.app.state.settings)
        if ensure_aware(amendment.deadline_after) != ensure_aware(amendment.deadline_before):
            await schedule_moved_close(request, db, job_no)
        return amendment
    return await form_action(
        db, act,
        done(request, lambda a: _("Amendment {n} was published; every bidder was notified.", n=a.seq),
             f"/jobs/{job_no}#clarifications"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, amend_form=data,
                                    amend_errors=exc.fields, error=exc.message))


async def amendment_body(request: Request) -> tuple[list[tuple[str, bytes]], dict]:
    """The amendment's files (a multipart form's `file` fields; none in JSON) and its other fields (a form's
    `withdraw` checkboxes as a list of attachment ids)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        files, fields = await uploaded_files(request)
        fields.pop("csrf_token", None)
        fields["withdraw"] = [v for v in (await request.form()).getall("withdraw", []) if isinstance(v, str)]
        return [(n, b) for n, b in files if n or b], fields
    return [], await read_input(request)


async def schedule_moved_close(request: Request, db: DB, job_no: str) -> None:
    """Queue the deadline task at the moved deadline (the old one finds the job not yet due: a no-op)."""
    from marketplace.services.jobs import get_job

    job = await get_job(db, job_no)
    await schedule_close(request.app.state.queue, job, moved=True)


route_handlers = [question_submit, quote_reconfirm, answer_submit, amendment_submit]
